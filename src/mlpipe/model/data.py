"""Training data: a CSV file or the bundled offline dataset.

Real CSVs are messy. The dialect (comma, semicolon with decimal comma, tab, pipe) and the header row
are detected as `send` detects them (mlpipe.tabular), and cells are read by the function's own rules
(missing values, quoted numbers, spaces: mlpipe.contract). We drop an unnamed integer index column
(what `DataFrame.to_csv` writes), accept any column name as the target (the tutorial's target is
named `0`), encode a target of class names (the mapping goes into the model's metadata), and name
the file, line, column, value and delimiter in every error so the user can fix the file.
Large files go through pyarrow's CSV reader (mlpipe.model.columnar) into float32.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlpipe.errors import ModelError, UsageError

MIN_ROWS = 10  # fewer cannot give both a training and a validation set
BUNDLED_NAME = "bundled:diabetes"
COLUMNAR_FROM_BYTES = 32 * 1024 * 1024  # above this, the columnar reader (pure Python costs ~13x the file)


@dataclass(frozen=True)
class CsvOptions:
    """How to read the file: the function's missing tokens; dialect and header detected unless given."""

    missing: tuple[str, ...] | None = None  # None: payload_rules.DEFAULT_MISSING
    delimiter: str | None = None
    decimal: str | None = None
    header: bool | None = None
    columnar: bool | None = None  # None: by file size (COLUMNAR_FROM_BYTES)


@dataclass(frozen=True)
class Dataset:
    features: Any  # numpy float array (float32 from the columnar reader), rows x features (NaN = missing)
    target: Any  # numpy float64 array (class index for class names)
    feature_names: tuple[str, ...]
    target_name: str
    source: str
    sha256: str
    warnings: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # class names when the target column holds words, index = encoded value

    @property
    def rows(self) -> int:
        return int(self.features.shape[0])


def load(path: str | Path | None, target: str | None, options: CsvOptions | None = None) -> Dataset:
    """The CSV at `path`, or the bundled dataset when `path` is None (or "bundled:diabetes")."""
    if path is None or str(path) == BUNDLED_NAME:
        return load_bundled(target)
    return load_csv(Path(path), target, options)


def load_bundled(target: str | None = None) -> Dataset:
    """scikit-learn's diabetes regression data (442 rows, 10 features); shipped with the wheel."""
    import numpy as np
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    if target not in (None, "progression"):
        raise UsageError(
            f"target '{target}' is not a column of the bundled dataset (its target is 'progression')",
            hint="drop --target, or pass --data PATH.csv",
        )
    features = np.asarray(bunch.data, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.float64)
    digest = hashlib.sha256(features.tobytes() + labels.tobytes()).hexdigest()
    return Dataset(features, labels, tuple(bunch.feature_names), "progression", BUNDLED_NAME, digest)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file", hint="check --data (or model.data in mlpipe.yaml)") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a CSV file", hint="pass the CSV file itself") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8 CSV") from None


def rules_for(options: CsvOptions) -> Any:
    from mlpipe.contract import rules_module

    module = rules_module()
    return module.Rules(missing=options.missing if options.missing is not None else module.DEFAULT_MISSING)


def _table(path: Path, text: str, options: CsvOptions, rules: Any) -> Any:
    from mlpipe.tabular import read_table

    try:
        table = read_table(
            text, str(path), rules, delimiter=options.delimiter, decimal=options.decimal, header=options.header
        )
    except UsageError as exc:
        raise ModelError(exc.message, hint=exc.hint) from None
    if not table.rows and not table.names:
        raise ModelError(
            f"{path}: the file is empty", hint=f"a header row and at least {MIN_ROWS} data rows are needed"
        )
    if not table.rows:
        raise ModelError(f"{path}: only a header row, no data", hint=f"at least {MIN_ROWS} data rows are needed")
    return table


def _is_index_column(values: list[str]) -> bool:
    """An unnamed column of distinct integers is a saved DataFrame index, not a feature."""
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        return False
    return len(set(numbers)) == len(numbers)


def column_names(table: Any) -> tuple[list[str], list[str]]:
    """Column names (0..n-1 by position, as pandas names them, when the file has no header row) and notes."""
    if table.names is not None:
        return list(table.names), []
    header = [str(i) for i in range(len(table.rows[0][1]))]
    note = (
        f"no header row (line {table.rows[0][0]} is data): columns named 0..{len(header) - 1} by position "
        "(--header if the first line names them)"
    )
    return header, [note]


def check_names(path: Path, header: list[str], line: int) -> None:
    for i, name in enumerate(header):
        if not name:
            raise ModelError(f"{path}:{line}: column {i + 1} has no name", hint="name every column in the header row")
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise ModelError(f"{path}:{line}: duplicate column name(s): {', '.join(duplicates)}", hint="rename them")


def check_target(path: Path, header: list[str], target: str | None, dialect: Any) -> str:
    target_name = header[-1] if target is None else target
    if target_name not in header:
        shown = ", ".join(repr(n) for n in header[:20]) + (", ..." if len(header) > 20 else "")
        raise ModelError(
            f"{path}: target column '{target_name}' is not in the header ({shown}; read as {dialect.describe()})",
            hint="pass --target with one of these names (or set model.target in mlpipe.yaml); "
            "--delimiter if the columns are not split right",
        )
    if len(header) < 2:
        raise ModelError(
            f"{path}: only the target column '{target_name}', no features (read as {dialect.describe()})",
            hint="--delimiter ';' (or tab, |) if the file uses another delimiter",
        )
    return target_name


def load_csv(path: Path, target: str | None, options: CsvOptions | None = None) -> Dataset:
    options = options or CsvOptions()
    size = path.stat().st_size if path.is_file() else 0
    if options.columnar or (options.columnar is None and size >= COLUMNAR_FROM_BYTES):
        from mlpipe.model.columnar import load_columnar

        return load_columnar(path, target, options)
    raw = _read_bytes(path)
    rules = rules_for(options)
    table = _table(path, _decode(path, raw), options, rules)
    header, notes = column_names(table)
    body = table.rows
    if header[0] in ("", "Unnamed: 0") and _is_index_column([row[0] for _, row in body]):
        header, body = header[1:], [(line, row[1:]) for line, row in body]
        notes.append("dropped the unnamed first column: it is a row index, not a feature")
    check_names(path, header, table.header_line or 1)
    target_name = check_target(path, header, target, table.dialect)
    if len(body) < MIN_ROWS:
        raise ModelError(
            f"{path}: {len(body)} data row(s); at least {MIN_ROWS} are needed for training and validation",
            hint="add rows",
        )
    t = header.index(target_name)
    labels, classes = _target_column(path, target_name, [(line, row[t]) for line, row in body], rules)
    features = _values(path, header, [(line, row[:t] + row[t + 1 :]) for line, row in body], t, table.dialect, rules)
    names = tuple(n for i, n in enumerate(header) if i != t)
    dataset = Dataset(features, labels, names, target_name, str(path), hashlib.sha256(raw).hexdigest(), (), classes)
    return finish(path, dataset, notes)


def finish(path: Path | str, dataset: Dataset, notes: list[str]) -> Dataset:
    """Quality notes, rows without a target dropped, a constant target refused."""
    import numpy as np

    notes = notes + _quality_warnings(dataset.features, dataset.feature_names)
    features, labels = dataset.features, dataset.target
    missing_target = np.isnan(labels)
    if missing_target.any():
        count = int(missing_target.sum())
        notes.append(f"dropped {count} row(s) with no value in the target column '{dataset.target_name}'")
        features, labels = features[~missing_target], labels[~missing_target]
        if len(labels) < MIN_ROWS:
            raise ModelError(f"{path}: only {len(labels)} row(s) have a target value; at least {MIN_ROWS} needed")
    if len(labels) and np.nanmin(labels) == np.nanmax(labels):  # no np.unique: it sorts a copy
        raise ModelError(f"{path}: the target column '{dataset.target_name}' has a single value: nothing to learn")
    return replace(dataset, features=features, target=labels, warnings=tuple(notes))


def _target_column(path: Path, name: str, cells: list[tuple[int, str]], rules: Any) -> tuple[Any, tuple[str, ...]]:
    """The target as numbers, or, when it holds words (class names), as class indices and the names."""
    import numpy as np

    from mlpipe.contract import rules_module

    number = rules_module().number
    values: list[float] = []
    for line, cell in cells:
        try:
            value = number(cell, rules)
        except ValueError as exc:
            if "not a number" in str(exc):
                return _encode_classes(cells, rules)
            raise ModelError(f"{path}:{line}: target column '{name}' {str(exc).split(':')[0]} ({cell!r})") from None
        values.append(math.nan if value is None else value)
    return np.asarray(values, dtype=np.float64), ()


def _encode_classes(cells: list[tuple[int, str]], rules: Any) -> tuple[Any, tuple[str, ...]]:
    import numpy as np

    texts = [cell.strip() for _, cell in cells]
    classes = tuple(sorted({t for t in texts if t.lower() not in rules.missing}))
    index = {c: float(i) for i, c in enumerate(classes)}
    return np.asarray([index.get(t, math.nan) for t in texts], dtype=np.float64), classes


def _values(path: Path, header: list[str], body: list[tuple[int, list[str]]], t: int, dialect: Any, rules: Any) -> Any:
    """The feature cells as float64 (NaN = missing), read by the function's own rules."""
    import numpy as np

    from mlpipe.contract import rules_module
    from mlpipe.tabular import cell_text

    number = rules_module().number
    names = [n for i, n in enumerate(header) if i != t]
    values = np.empty((len(body), len(names)), dtype=np.float64)
    for index, (line, row) in enumerate(body):
        for col, cell in enumerate(row):
            try:
                value = number(cell_text(cell, dialect), rules)
            except ValueError as exc:
                kind = str(exc).split(":")[0].replace("is not a number", "is not numeric")
                raise ModelError(
                    f"{path}:{line}: column '{names[col]}' {kind} (value {cell.strip()[:40]!r}; "
                    f"read as {dialect.describe()})",
                    hint="XGBoost needs numbers: encode categories as numbers, or drop the column; leave a cell "
                    "empty (or NA, NaN, ?, null: model.missing_values) for a missing value",
                ) from None
            values[index, col] = math.nan if value is None else value
    return values


def _quality_warnings(features: Any, names: tuple[str, ...]) -> list[str]:
    import numpy as np

    notes = []
    for col, name in enumerate(names):
        column = features[:, col]  # a view: no copy of a large matrix's column
        missing = int(np.count_nonzero(np.isnan(column)))
        if missing:
            notes.append(f"column '{name}' has {missing} missing value(s): XGBoost treats them as missing")
        if missing < len(column) and np.nanmin(column) == np.nanmax(column):
            notes.append(f"column '{name}' is constant ({np.nanmin(column):g}): it cannot help the model")
    return notes
