"""CSV files as data scientists have them: dialect, header and cells, read the same by train and send.

Standard library only (`send` must stay light). The delimiter (comma, semicolon, tab, pipe) and the
decimal mark are detected from the first lines unless given; a header is a first row with a cell
that is neither a number nor a missing value (or a 0..n-1 / 1..n run of integers, the names numpy
and pandas write), so a header-less file never loses its first row. Cell values are read by the
function's own rules (mlpipe.contract).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import Any

from mlpipe.errors import UsageError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
OPTION_NAMES = {",": ",", ";": ";", "\t": "tab", "|": "|"}
SAMPLE_LINES = 50
# A row of a 1 MiB message may be one field; the csv module's default limit is 128 KiB.
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*$")


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    decimal: str = "."

    def describe(self) -> str:
        name = f"{DELIMITERS.get(self.delimiter, repr(self.delimiter))}-delimited"
        return name + (" with decimal comma" if self.decimal == "," else "")


@dataclass(frozen=True)
class Table:
    dialect: Dialect
    names: tuple[str, ...] | None  # None: the file has no header row
    header_line: int | None
    rows: list[tuple[int, list[str]]]  # (line number, cells)


def delimiter_option(value: str | None) -> str | None:
    """--delimiter: one character, or the words comma/semicolon/tab/pipe."""
    if value is None:
        return None
    words = {name: char for char, name in DELIMITERS.items()} | {"\\t": "\t"}
    char = words.get(value.lower(), value)
    if len(char) != 1:
        raise UsageError(f"--delimiter {value!r}: give one character, or comma, semicolon, tab or pipe")
    return char


def decimal_option(value: str | None) -> str | None:
    if value is None or value in (".", ","):
        return value
    raise UsageError(f"--decimal {value!r}: give . or ,")


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:  # e.g. a field over the csv module's limit with this delimiter
        return [[line] for line in lines]


def detect(lines: list[str], delimiter: str | None = None, decimal: str | None = None) -> Dialect:
    """The dialect of the first lines: the delimiter giving the same field count (> 1) on every line,
    the most fields winning; a comma in numbers is a decimal mark when the delimiter is not a comma."""
    sample = [line for line in lines[:SAMPLE_LINES] if line.strip()]
    if delimiter is None:
        best, best_fields = ",", 0
        for candidate in DELIMITERS:
            counts = {len(row) for row in _split(sample, candidate)}
            if len(counts) == 1 and (fields := counts.pop()) > best_fields and fields > 1:
                best, best_fields = candidate, fields
        delimiter = best
    if decimal is None:
        cells = [c for row in _split(sample, delimiter) for c in row]
        comma = delimiter != "," and any(_DECIMAL_COMMA.match(c) for c in cells)
        decimal = "," if comma and not any(_DECIMAL_POINT.match(c) for c in cells) else "."
    return Dialect(delimiter, decimal)


def cell_text(cell: str, dialect: Dialect) -> str:
    """The cell as the rules read it: a decimal comma becomes a point."""
    return cell.replace(",", ".") if dialect.decimal == "," else cell


def _is_value(cell: str, rules: Any, dialect: Dialect) -> bool:
    from mlpipe.contract import rules_module

    try:
        rules_module().number(cell_text(cell, dialect), rules)
    except ValueError as exc:
        return "not a number" not in str(exc)
    return True


def looks_like_header(cells: list[str], rules: Any, dialect: Dialect, following: list[str] | None = None) -> bool:
    """Words (with integers at most: ",0,CRIM" from a saved DataFrame) make a header; numbers are
    data, except the run of integers 0..n-1 that numpy and pandas write as names of unnamed columns
    (when the next row has decimals, or after an empty first cell)."""
    stripped = [c.strip() for c in cells]
    if any(c and not _is_value(c, rules, dialect) for c in stripped):
        # Names may be integers (",0,CRIM" from a saved DataFrame) but not decimals: "0.1,abc" is data.
        return not any(c and not c.isdigit() and _is_value(c, rules, dialect) and c.lower() not in rules.missing
                       for c in stripped)  # fmt: skip
    named = [c for c in stripped if c]
    if named and all(c.isdigit() for c in named) and [int(c) for c in named] == list(range(len(named))):
        # ...when the next row has decimals, or the run follows an empty cell (pandas' ",0,1,2"):
        # "0,1,2" then "1,1,2" is data.
        decimals = any(c.strip() and not c.strip().isdigit() for c in following or [])
        return decimals or (not stripped[0] and len(named) == len(stripped) - 1)
    return False


def read_table(
    text: str,
    source: str,
    rules: Any,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    header: bool | None = None,
    ragged_ok: bool = False,
) -> Table:
    """The file's rows, each with its line number; every row the header's width (else one error
    naming the line, the delimiter seen and the option that changes it). `ragged_ok`: rows of a
    header-less file may differ in width (send checks them against the model's feature count)."""
    lines = text.lstrip("\ufeff").splitlines()
    dialect = detect(lines, delimiter, decimal)
    reader = csv.reader(lines, delimiter=dialect.delimiter)
    try:
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise UsageError(
            f"{source}:{reader.line_num}: cannot read the line as {dialect.describe()} CSV: {exc}",
            hint=_dialect_hint(dialect),
        ) from None
    if not rows:
        return Table(dialect, None, None, [])
    first_line, first = rows[0]
    following = rows[1][1] if len(rows) > 1 else None
    has_header = looks_like_header(first, rules, dialect, following) if header is None else header
    rows = _drop_trailing_empty_column(rows)
    first = rows[0][1]
    body = rows[1:] if has_header else rows
    width = len(first)
    for line, row in body:
        if len(row) != width and not (ragged_ok and not has_header):
            seen = "the header" if has_header else f"line {first_line}"
            raise UsageError(
                f"{source}:{line}: {len(row)} fields, but {seen} has {width} (read as {dialect.describe()})",
                hint=_dialect_hint(dialect),
            )
    names = tuple(c.strip() for c in first) if has_header else None
    return Table(dialect, names, first_line if has_header else None, body)


def _drop_trailing_empty_column(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """A delimiter at the end of every line (as spreadsheets write) is an empty last column: dropped."""
    if all(len(row) > 1 and not row[-1].strip() for _, row in rows[1:]) and len(rows) > 1:
        return [(line, row[:-1] if row and not row[-1].strip() else row) for line, row in rows]
    return rows


def _dialect_hint(dialect: Dialect) -> str:
    others = ", ".join(f"--delimiter '{OPTION_NAMES[d]}'" for d in DELIMITERS if d != dialect.delimiter)
    return f"every row needs one value per column; if the file is not {dialect.describe()}, give {others}"
