"""The one reading of rows: message bodies and CSV cells -> rows of numbers (None = missing).

Standard library only. The Lambda handler runs this file from its zip, and mlpipe itself loads the
same file (`mlpipe.contract`) so `train`, `send` and the handler read a cell, a row and a body the
same way (docs/CONTRACTS.md, "Message bodies"):

- missing = an empty cell, JSON null, NaN, or a missing-value token (`NA`, `NaN`, `?`, `null`...,
  case-insensitive, configurable); it goes to the endpoint as an empty CSV cell, which the
  SageMaker XGBoost container reads as missing;
- numbers may be quoted, padded with spaces, or in scientific notation; infinity is refused (XGBoost
  rejects it), and so are integers too large for a float;
- rows are positional lists, CSV lines, or objects keyed by the model's feature names.

Whatever cannot become rows is `Poison`: a reason in words, never retried.
"""

import csv
import json
import math

DEFAULT_MISSING = ("NA", "N/A", "NaN", "null", "None", "?")
MAX_ENDPOINT_BYTES = 6 * 1024 * 1024 - 64 * 1024  # InvokeEndpoint's 6 MB, with room for headers
MAX_LOG_EVENT_BYTES = 256 * 1024 - 26  # CloudWatch Logs' limit for one event (the prediction line)
WORST_VALUE_BYTES = 25  # repr() of a float is at most 24 characters, plus the separator
MAX_ROWS_CEILING = 10_000
EXCERPT = 40
BODY_KEYS = "'payload', 'instances' or 'features'"
# An SQS message is at most 1 MiB, and one row of it may be one field (the default limit is 128 KiB).
csv.field_size_limit(max(csv.field_size_limit(), 2 * 1024 * 1024))


class Poison(ValueError):
    """The message can never succeed: its reason goes to the dead-letter queue."""


class Rules:
    """What the deployed model expects; the handler builds it from its environment and model.json,
    `send` from the model's metadata and mlpipe.yaml."""

    def __init__(self, feature_names=(), feature_count=0, missing=DEFAULT_MISSING, allow_missing=False, max_rows=0):
        self.feature_names = tuple(feature_names)
        self.index = {name: i for i, name in enumerate(self.feature_names)}
        self.feature_count = len(self.feature_names) or int(feature_count or 0)
        self.missing = frozenset(token.strip().lower() for token in missing) | {""}
        self.allow_missing = bool(allow_missing)
        self.max_rows = int(max_rows or 0) or default_max_rows(self.feature_count)


def default_max_rows(feature_count):
    """Rows one message may hold: its CSV must fit one InvokeEndpoint body (6 MB) and its
    prediction log line one CloudWatch event (256 KB), even with the longest float texts."""
    by_body = MAX_ENDPOINT_BYTES // (WORST_VALUE_BYTES * max(int(feature_count or 0), 1))
    by_log = MAX_LOG_EVENT_BYTES // WORST_VALUE_BYTES
    return max(1, min(by_body, by_log, MAX_ROWS_CEILING))


def excerpt(raw):
    if isinstance(raw, dict | list):
        return "a JSON object" if isinstance(raw, dict) else "a JSON list"
    return repr(str(raw)[:EXCERPT])


def number(raw, rules):
    """The value of one cell: a float, or None when missing. Raises ValueError with the reason."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(f"is not a number: {excerpt(raw)}")
    if isinstance(raw, str):
        text = raw.strip()
        if text.lower() in rules.missing:
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"is not a number: {excerpt(raw)}") from None
        if math.isinf(value) and "inf" not in text.lower():
            raise ValueError(f"overflows a float: {excerpt(raw)}")
    else:
        try:
            value = float(raw)
        except OverflowError:
            raise ValueError(f"overflows a float: a {len(str(raw))}-digit integer") from None
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise ValueError(f"is not finite: {excerpt(raw)} (XGBoost refuses infinity; leave it empty for missing)")
    return value


def csv_lines(text, delimiter=","):
    """Rows of cells from CSV text: quoted cells, CRLF and blank lines as the csv module reads them."""
    try:
        return [row for row in csv.reader(text.splitlines(), delimiter=delimiter) if any(c.strip() for c in row)]
    except csv.Error as exc:  # e.g. a field over the limit below
        raise Poison(f"malformed CSV: {exc}") from None


def row_values(row, number_in_message, rules):
    """One row (a list of cells, or an object keyed by feature name) -> a list of float|None."""
    where = f"row {number_in_message}"
    if isinstance(row, dict):
        row = _by_name(row, where, rules)
    if not isinstance(row, list) or not row:
        raise Poison(f"{where} is not a non-empty list of numbers")
    if rules.feature_count and len(row) != rules.feature_count:
        raise Poison(f"{where} has {len(row)} value(s), expected {rules.feature_count} features")
    values = []
    for position, raw in enumerate(row, start=1):
        try:
            values.append(number(raw, rules))
        except ValueError as exc:
            name = f" ({rules.feature_names[position - 1]})" if len(rules.feature_names) >= position else ""
            raise Poison(f"{where} feature {position}{name} {exc}") from None
    return values


def _by_name(row, where, rules):
    if not rules.feature_names:
        raise Poison(f"{where} names its features, but the function does not know the model's feature names")
    unknown = [str(name) for name in row if name not in rules.index]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise Poison(f"{where}: unknown feature name {unknown[0][:EXCERPT]!r}{more}; the model has no such feature")
    absent = [name for name in rules.feature_names if name not in row]
    if absent and not rules.allow_missing:
        more = f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""
        raise Poison(
            f"{where}: feature {absent[0]!r} is missing{more} "
            "(function.allow_missing_features: true makes a missing name a missing value)"
        )
    return [row.get(name) for name in rules.feature_names]


def _load_json(text):
    try:
        return json.loads(text)
    except RecursionError:
        raise Poison("JSON nested too deeply") from None
    except ValueError as exc:
        if "digits" in str(exc):  # Python's limit on integer string conversion
            raise Poison(f"a number in the JSON is too long: {exc}") from None
        raise Poison(f"malformed JSON: {exc}") from None


def _correlation_id(data):
    value = data.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Poison("'id' must be a string or a number")
    return str(value)[:200]


def _cells(item):
    """A row given as CSV text is split; any other row is returned as is."""
    if isinstance(item, str):
        lines = csv_lines(item)
        return lines[0] if len(lines) == 1 else item
    return item


def _json_rows(data):
    """(rows, correlation id) of a decoded JSON body."""
    if isinstance(data, list):
        if data and all(isinstance(r, list | dict) for r in data):
            return data, None
        return [data], None
    if not isinstance(data, dict):
        raise Poison(f"unsupported JSON body of type {type(data).__name__}")
    cid = _correlation_id(data)
    if "instances" in data:
        rows = data["instances"]
        if not isinstance(rows, list) or not rows:
            raise Poison("'instances' must be a non-empty list of rows")
        return [_cells(r) for r in rows], cid
    for key in ("features", "payload"):
        if key in data:
            value = data[key]
            if isinstance(value, str) and len(csv_lines(value)) > 1:
                return csv_lines(value), cid
            return [_cells(value)], cid
    raise Poison(f"JSON object without {BODY_KEYS}")


def message_rows(body, rules):
    """(rows, correlation id) of one message body; raises Poison with the reason."""
    text = (body or "").lstrip("\ufeff").strip()
    if not text:
        raise Poison("empty message body")
    if text[0] in "{[":
        rows, cid = _json_rows(_load_json(text))
    else:
        rows, cid = csv_lines(text), None
    if len(rows) > rules.max_rows:
        raise Poison(
            f"{len(rows)} rows in one message, over the limit of {rules.max_rows} "
            "(function.max_rows_per_message; send fewer rows per message)"
        )
    try:
        return [row_values(row, i + 1, rules) for i, row in enumerate(rows)], cid
    except RecursionError:
        raise Poison("JSON nested too deeply") from None


def body_correlation_id(body):
    """The `id` of a JSON object body, or None; never raises."""
    try:
        data = json.loads(body or "")
        return _correlation_id(data) if isinstance(data, dict) else None
    except (ValueError, RecursionError):
        return None


def csv_body(rows):
    """The endpoint's text/csv body: one line per row, an empty cell for a missing value."""
    return "".join(",".join("" if v is None else repr(v) for v in row) + "\n" for row in rows).encode()
