"""Training data: a CSV file (header row, numeric values) or the bundled offline dataset.

Real CSVs are messy. We drop an unnamed integer index column (what `DataFrame.to_csv` writes),
accept any column name as the target (the tutorial's target is named `0`), and name the column,
row and value in every error so the user can fix the file.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.errors import ModelError, UsageError

MIN_ROWS = 10  # fewer cannot give both a training and a validation set
MISSING = frozenset({"", "na", "nan", "null", "none", "n/a", "?"})
BUNDLED_NAME = "bundled:diabetes"


@dataclass(frozen=True)
class Dataset:
    features: Any  # numpy float64 array, rows x features (NaN = missing)
    target: Any  # numpy float64 array
    feature_names: tuple[str, ...]
    target_name: str
    source: str
    sha256: str
    warnings: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return int(self.features.shape[0])


def load(path: str | Path | None, target: str | None) -> Dataset:
    """The CSV at `path`, or the bundled dataset when `path` is None."""
    if path is None:
        return load_bundled(target)
    return load_csv(Path(path), target)


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


def _read_rows(path: Path) -> tuple[list[list[str]], str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file", hint="check --data (or model.data in mlpipe.yaml)") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a CSV file", hint="pass the CSV file itself") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8 CSV") from None
    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if not rows:
        raise ModelError(
            f"{path}: the file is empty", hint=f"a header row and at least {MIN_ROWS} data rows are needed"
        )
    return rows, hashlib.sha256(raw).hexdigest()


def _number(cell: str) -> float | None:
    """The cell's value, NaN when missing, None when it is not a number."""
    text = cell.strip()
    if text.lower() in MISSING:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_index_column(values: list[str]) -> bool:
    """An unnamed column of distinct integers is a saved DataFrame index, not a feature."""
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        return False
    return len(set(numbers)) == len(numbers)


def _header(path: Path, rows: list[list[str]]) -> tuple[list[str], list[list[str]], list[str]]:
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    # Integer names (",0,1,2" from a saved numpy array) are names; a decimal among numbers is data.
    looks_numeric = all(_number(c) is not None for c in header)
    if len(header) > 1 and looks_numeric and any(c and not c.isdigit() for c in header):
        raise ModelError(
            f"{path}:1: the first row looks like data ({','.join(header[:3])},...), not column names",
            hint="add a header row naming the columns",
        )
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ModelError(
                f"{path}:{line}: {len(row)} fields, but the header has {len(header)}",
                hint="every row needs one value per column",
            )
    notes: list[str] = []
    if header[0] in ("", "Unnamed: 0") and _is_index_column([row[0] for row in body]):
        header, body = header[1:], [row[1:] for row in body]
        notes.append("dropped the unnamed first column: it is a row index, not a feature")
    for i, name in enumerate(header):
        if not name:
            raise ModelError(f"{path}:1: column {i + 1} has no name", hint="name every column in the header row")
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise ModelError(f"{path}:1: duplicate column name(s): {', '.join(duplicates)}", hint="rename them")
    return header, body, notes


def load_csv(path: Path, target: str | None) -> Dataset:
    import numpy as np

    rows, digest = _read_rows(path)
    header, body, notes = _header(path, rows)
    target_name = header[-1] if target is None else target
    if target_name not in header:
        shown = ", ".join(repr(n) for n in header[:20]) + (", ..." if len(header) > 20 else "")
        raise ModelError(
            f"{path}: target column '{target_name}' is not in the header ({shown})",
            hint="pass --target with one of these names (or set model.target in mlpipe.yaml)",
        )
    if len(header) < 2:
        raise ModelError(f"{path}: only the target column '{target_name}', no features")
    if len(body) < MIN_ROWS:
        raise ModelError(
            f"{path}: {len(body)} data row(s); at least {MIN_ROWS} are needed for training and validation",
            hint="add rows",
        )
    values = np.empty((len(body), len(header)), dtype=np.float64)
    for line, row in enumerate(body, start=2):
        for col, cell in enumerate(row):
            number = _number(cell)
            if number is None:
                raise ModelError(
                    f"{path}:{line}: column '{header[col]}' is not numeric (value {cell.strip()[:40]!r})",
                    hint="XGBoost needs numbers: encode categories as numbers, or drop the column",
                )
            values[line - 2, col] = number
    t = header.index(target_name)
    labels = values[:, t]
    features = np.delete(values, t, axis=1)
    names = tuple(n for i, n in enumerate(header) if i != t)
    notes += _quality_warnings(features, names)
    missing_target = np.isnan(labels)
    if missing_target.any():
        notes.append(f"dropped {int(missing_target.sum())} row(s) with no value in the target column '{target_name}'")
        features, labels = features[~missing_target], labels[~missing_target]
        if len(labels) < MIN_ROWS:
            raise ModelError(f"{path}: only {len(labels)} row(s) have a target value; at least {MIN_ROWS} needed")
    if np.unique(labels).size < 2:
        raise ModelError(f"{path}: the target column '{target_name}' has a single value: nothing to learn")
    return Dataset(features, labels, names, target_name, str(path), digest, tuple(notes))


def _quality_warnings(features: Any, names: tuple[str, ...]) -> list[str]:
    import numpy as np

    notes = []
    for col, name in enumerate(names):
        column = features[:, col]
        missing = int(np.isnan(column).sum())
        if missing:
            notes.append(f"column '{name}' has {missing} missing value(s): XGBoost treats them as missing")
        present = column[~np.isnan(column)]
        if present.size and np.all(present == present[0]):
            notes.append(f"column '{name}' is constant ({present[0]:g}): it cannot help the model")
    return notes
