"""The loader for large CSV files: pyarrow's streaming CSV reader straight into one float32 matrix.

Pure-Python parsing peaks at ~13x the file. Here the file is read in blocks; each block's columns
are written into a matrix allocated once (rows counted first, a fast pass over the bytes), so the
peak is the float32 matrix, the target, one block and the interpreter: under 2x the matrix for a
large file. The dialect, header and missing tokens are the ones mlpipe.tabular and the function's
rules detect on the file's first lines; a block pyarrow cannot convert is read again by the
pure-Python path for its exact error (file, line, column, value, delimiter).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipe.errors import ModelError, UsageError

if TYPE_CHECKING:
    from mlpipe.model.data import CsvOptions, Dataset

SAMPLE_BYTES = 256 * 1024
BLOCK_BYTES = 1024 * 1024  # pyarrow's parse block: threads parse a piece's blocks in parallel
CHUNK_BYTES = 4 * 1024 * 1024  # the file is parsed one piece of this size at a time
COUNT_CHUNK = 8 * 1024 * 1024


def _scan(path: Path) -> tuple[int, str]:
    """Newlines in the file (an upper bound of its rows, less one) and its sha256, in one pass."""
    lines, digest = 0, hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(COUNT_CHUNK):
            lines += chunk.count(b"\n")
            digest.update(chunk)
    return lines + 1, digest.hexdigest()


def _sample_table(path: Path, options: CsvOptions, rules: Any) -> Any:
    """Dialect and header from the first lines, as the pure-Python path reads them."""
    from mlpipe.model.data import _decode, _table

    with path.open("rb") as file:
        sample = file.read(SAMPLE_BYTES)
    cut = sample.rfind(b"\n") if len(sample) == SAMPLE_BYTES else len(sample)
    return _table(path, _decode(path, sample[: max(cut, 0)]), options, rules)


def table_width(path: Path, table: Any) -> int:
    """Fields of the first line as written (a trailing delimiter adds an empty one)."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as file:
        for row in csv.reader(file, delimiter=table.dialect.delimiter):
            if any(c.strip() for c in row):
                return len(row)
    return 0


def _chunks(path: Path, skip_lines: int) -> Iterator[bytes]:
    """The file after its first `skip_lines` lines, in pieces of about CHUNK_BYTES that end at a
    line end. pyarrow's own streaming reader decodes blocks ahead of its consumer (hundreds of MB on
    a large file); parsing one piece at a time keeps one piece and its columns in memory."""
    with path.open("rb") as file:
        head = file.read(CHUNK_BYTES)
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        for _ in range(skip_lines):
            head = head[head.find(b"\n") + 1 :] if b"\n" in head else b""
        leftover = head
        while True:
            more = file.read(CHUNK_BYTES)
            if not more:
                if leftover.strip():
                    yield leftover
                return
            data = leftover + more
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                leftover = data
                continue
            leftover = data[cut:]
            yield data[:cut]


def _null_values(rules: Any) -> list[str]:
    """pyarrow matches null tokens exactly: every case of each token, padded or not."""
    tokens: set[str] = set()
    for token in rules.missing:
        for variant in (token, token.upper(), token.lower(), token.capitalize()):
            tokens.update((variant, f" {variant}", f"{variant} ", f'"{variant}"'))
    tokens.update({"NaN", "nan", "-nan", "NAN"})
    return sorted(tokens)


def load_columnar(path: Path, target: str | None, options: CsvOptions) -> Dataset:
    from mlpipe.model.data import (
        Dataset,
        _is_index_column,
        _target_column,
        check_names,
        check_target,
        column_names,
        finish,
        rules_for,
    )

    if not path.is_file():
        raise UsageError(f"{path}: no such file", hint="check --data (or model.data in mlpipe.yaml)")
    rules = rules_for(options)
    table = _sample_table(path, options, rules)
    header, notes = column_names(table)
    all_columns = list(header)
    if header[0] in ("", "Unnamed: 0") and _is_index_column([row[0] for _, row in table.rows]):
        all_columns[0] = "_mlpipe_index"
        header = header[1:]
        notes.append("dropped the unnamed first column: it is a row index, not a feature")
    check_names(path, header, table.header_line or 1)
    target_name = check_target(path, header, target, table.dialect)
    max_rows, digest = _scan(path)
    t = all_columns.index(target_name)
    sample_target = [(line, row[t]) for line, row in table.rows if len(row) > t]
    words = bool(_target_column(path, target_name, sample_target, rules)[1])
    columns = (all_columns, header)
    features, labels, rows, classes = _read_blocks(path, columns, target_name, table, rules, max_rows, words)
    names = tuple(n for n in header if n != target_name)
    dataset = Dataset(features[:rows], labels[:rows], names, target_name, str(path), digest, (), classes)
    return finish(path, dataset, notes)


def _read_blocks(
    path: Path,
    columns: tuple[list[str], list[str]],
    target_name: str,
    table: Any,
    rules: Any,
    max_rows: int,
    words: bool,
) -> tuple[Any, Any, int, tuple[str, ...]]:
    """The features into one float32 matrix, block by block; the target as numbers, or as class
    indices with the class names when it holds words."""
    import numpy as np
    import pyarrow as pa
    from pyarrow import csv as pacsv

    all_columns, header = columns  # every column of the file; the ones read
    names = [n for n in header if n != target_name]
    features = np.empty((max_rows, len(names)), dtype=np.float32)
    labels = np.empty(max_rows, dtype=np.float64)
    types = {n: pa.float32() for n in names} | {target_name: pa.string() if words else pa.float64()}
    texts = []  # the target's Arrow string blocks, encoded at the end (class names are known then)
    extra = [f"_mlpipe_extra_{i}" for i in range(table_width(path, table) - len(all_columns))]  # trailing delimiters
    options = dict(
        read_options=pacsv.ReadOptions(column_names=all_columns + extra, use_threads=True, block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter=table.dialect.delimiter, ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=header,
            null_values=_null_values(rules),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            decimal_point=table.dialect.decimal,
        ),
    )
    rows = 0
    try:
        for chunk in _chunks(path, table.header_line or 0):
            batch = pacsv.read_csv(io.BytesIO(chunk), **options)
            del chunk
            count = batch.num_rows
            block = features[rows : rows + count]
            for col, name in enumerate(names):
                block[:, col] = batch.column(name).to_numpy()
            if np.isinf(block).any():
                col = int(np.argwhere(np.isinf(block))[0][1])
                raise _located(path, table, all_columns, all_columns.index(names[col]), "is not finite", "inf")
            if words:
                texts.append(batch.column(target_name))
            else:
                labels[rows : rows + count] = batch.column(target_name).to_numpy()
            rows += count
            del batch
            pa.default_memory_pool().release_unused()  # mimalloc keeps freed pages otherwise
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _conversion_error(path, table, all_columns, str(exc)) from None
    classes: tuple[str, ...] = ()
    if words:
        labels, classes = _encode(texts, labels, rows)
    return features, labels, rows, classes


def _encode(texts: list[Any], labels: Any, rows: int) -> tuple[Any, tuple[str, ...]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = pa.chunked_array(texts, type=pa.string())
    trimmed = pc.utf8_trim_whitespace(column)
    classes = tuple(sorted(v for v in pc.unique(trimmed).to_pylist() if v is not None))
    index = pc.index_in(trimmed, value_set=pa.array(classes, type=pa.string()))
    labels[:rows] = pc.cast(index, pa.float64()).to_numpy(zero_copy_only=False)
    return labels, classes


def _conversion_error(path: Path, table: Any, header: list[str], message: str) -> ModelError:
    """pyarrow names the column and the value, not the line: find the line by reading up to it."""
    import re

    found = re.search(r"column #(\d+): CSV conversion error to \w+: invalid value '(.*)'", message)
    if not found:
        return ModelError(
            f"{path}: cannot read as {table.dialect.describe()} CSV: {message.splitlines()[0][:300]}",
            hint="--delimiter / --decimal if the file uses another dialect",
        )
    return _located(path, table, header, int(found.group(1)), "is not numeric", found.group(2))


def _located(path: Path, table: Any, header: list[str], col: int, kind: str, value: str) -> ModelError:
    import csv

    from mlpipe.tabular import cell_text

    line = "?"
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file, delimiter=table.dialect.delimiter)
        for row in reader:
            if len(row) > col and cell_text(row[col], table.dialect).strip().lower().lstrip("+-") == value.lower():
                line = str(reader.line_num)
                break
    return ModelError(
        f"{path}:{line}: column '{header[col]}' {kind} (value {value[:40]!r}; read as {table.dialect.describe()})",
        hint="XGBoost needs numbers: encode categories as numbers, or drop the column; leave a cell empty "
        "(or NA, NaN, ?, null: model.missing_values) for a missing value",
    )
