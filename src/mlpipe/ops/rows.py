"""Input rows for `mlpipe send`: parse, validate, and pack into SQS message bodies.

Pure functions, no AWS: everything here runs before the first message is sent, so bad input
never leaves half a file on the queue. Body formats are the ones in docs/CONTRACTS.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mlpipe.errors import UsageError
from mlpipe.tabular import cell_text, read_table

MAX_MESSAGE_BYTES = 1_048_576  # SQS message (and SendMessageBatch request) limit since 2025


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line number in the input, for error messages and delivery reports
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    body: str
    correlation_id: str | None
    lines: tuple[int, ...]  # input lines carried by this message

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8"))


def _default_rules(feature_count: int | None = None) -> Any:
    from mlpipe.contract import rules_module

    return rules_module().Rules(feature_count=feature_count or 0)


def read_rows(
    text: str,
    source: str,
    header_allowed: bool = True,
    *,
    rules: Any = None,
    target: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    header: bool | None = None,
) -> tuple[list[Row], int | None]:
    """Data rows of a CSV text, and the line number of the header that was skipped (if any).

    The dialect and the header are found as `train` finds them (mlpipe.tabular). With a header and
    the model's feature names, columns are matched by name: another column order still predicts
    right; the model's target column and an unnamed index column are left out.
    """
    rules = rules if rules is not None else _default_rules()
    table = read_table(
        text,
        source,
        rules,
        delimiter=delimiter,
        decimal=decimal,
        header=header if header_allowed else False,
        ragged_ok=True,
    )
    if not table.rows:
        what = "only a header line" if table.names else "nothing"
        raise UsageError(f"{source}: no rows to send (it holds {what})", hint="give a CSV file with one row per line")
    rows = [Row(line, tuple(cell_text(c, table.dialect).strip() for c in cells)) for line, cells in table.rows]
    if table.names and rules.feature_names:
        rows = _by_name(rows, table.names, rules, target, source, table.header_line or 1)
    return rows, table.header_line


def _by_name(
    rows: list[Row], names: tuple[str, ...], rules: Any, target: str | None, source: str, line: int
) -> list[Row]:
    """Rows reordered to the model's feature order by the header's names."""
    skipped = {n for n in names if n == target} | ({""} if names[0] == "" else set())
    unknown = [n for n in names if n not in rules.index and n not in skipped]
    if unknown:
        raise UsageError(
            f"{source}:{line}: column '{unknown[0]}' is not a feature of the deployed model "
            f"(its features: {', '.join(rules.feature_names[:8])}{', ...' if len(rules.feature_names) > 8 else ''})",
            hint=f"rename or drop the column; --no-header if line {line} is data",
        )
    absent = [n for n in rules.feature_names if n not in names]
    if absent and not rules.allow_missing:
        raise UsageError(
            f"{source}:{line}: no column for the model's feature '{absent[0]}'"
            + (f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""),
            hint="add the column, or set function.allow_missing_features: true to send it as missing",
        )
    where = {n: i for i, n in enumerate(names) if n in rules.index}
    return [
        Row(row.line, tuple(row.fields[where[n]] if n in where else "" for n in rules.feature_names)) for row in rows
    ]


def validate_rows(rows: Iterable[Row], feature_count: int | None, source: str, rules: Any = None) -> list[Row]:
    """Every value a number or missing (the function's own rules) and, when known, the model's
    feature count; returns the rows with missing values as empty cells, the endpoint's missing."""
    from mlpipe.contract import rules_module

    rules = rules if rules is not None else _default_rules(feature_count)
    count = feature_count or rules.feature_count
    checked = []
    for row in rows:
        if count and len(row.fields) != count:
            extra = " (is the target column included?)" if len(row.fields) == count + 1 else ""
            raise UsageError(
                f"{source}:{row.line}: {len(row.fields)} values, the deployed model expects {count} features" + extra,
                hint="send feature columns only, in training order; --no-validate skips this check",
            )
        fields = []
        for column, value in enumerate(row.fields, start=1):
            try:
                number = rules_module().number(value, rules)
            except ValueError as exc:
                kind = str(exc).split(":")[0]  # "is not a number", "is not finite", "overflows a float"
                raise UsageError(
                    f"{source}:{row.line}: column {column} value '{value[:40]}' {kind}",
                    hint="every feature must be numeric (empty for missing); --no-validate skips this check",
                ) from None
            fields.append("" if number is None else value)
        checked.append(Row(row.line, tuple(fields)))
    return checked


def _number_or_text(value: str) -> float | str | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def correlation_id(run_id: str, index: int) -> str:
    """`<run>-<n>`: one run's ids share a prefix, so one log filter finds all of them."""
    return f"{run_id}-{index}"


def pack_rows(rows: Sequence[Row], rows_per_message: int, run_id: str) -> list[Message]:
    """One `payload` message per row, or `instances` messages of up to N rows each."""
    if rows_per_message < 1:
        raise UsageError(f"--rows-per-message {rows_per_message}: must be at least 1")
    messages = []
    for index, start in enumerate(range(0, len(rows), rows_per_message), start=1):
        chunk = rows[start : start + rows_per_message]
        cid = correlation_id(run_id, index)
        if rows_per_message == 1:
            body = json.dumps({"payload": ",".join(chunk[0].fields), "id": cid})
        else:
            instances = [[_number_or_text(v) for v in row.fields] for row in chunk]
            body = json.dumps({"instances": instances, "id": cid}, separators=(",", ":"))
        messages.append(Message(body, cid, tuple(row.line for row in chunk)))
    return messages


def json_message(text: str, run_id: str, need_id: bool) -> Message:
    """A body given as JSON, sent as is; an id is added to an object only when --wait needs one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--json: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            hint='e.g. --json \'{"payload": "14.05,0,18.1"}\' (quote it for your shell)',
        ) from None
    except (ValueError, RecursionError):  # too deep, or a number too long: the function's reason
        check_body(text, None, "--json")
        raise
    if isinstance(value, dict):
        cid = value.get("id")
        if cid is None and need_id:
            cid = correlation_id(run_id, 1)
            return Message(json.dumps({**value, "id": cid}), cid, (1,))
        return Message(text, str(cid) if cid is not None else None, (1,))
    if need_id:
        raise UsageError(
            "--json: --wait needs a JSON object body, to carry the correlation id",
            hint='wrap the rows: {"instances": [[...]]}',
        )
    return Message(text, None, (1,))


def check_sizes(messages: Iterable[Message], source: str) -> None:
    for message in messages:
        if message.size > MAX_MESSAGE_BYTES:
            first = message.lines[0]
            raise UsageError(
                f"{source}:{first}: message body is {message.size:,} bytes, over the SQS limit of "
                f"{MAX_MESSAGE_BYTES:,} (1 MiB)",
                hint="lower --rows-per-message, or split the input",
            )


def describe_lines(lines: Iterable[int]) -> str:
    """'3, 7-9, 12' for a report that names every line without being 10,000 numbers long."""
    ordered = sorted(set(lines))
    spans: list[str] = []
    start = prev = None
    for n in [*ordered, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            spans.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(spans)


def check_body(body: str, rules: Any, source: str) -> None:
    """A body given as is must pass the function's own reading (else it would be dead-lettered)."""
    from mlpipe.contract import rules_module

    try:
        rules_module().message_rows(body, rules if rules is not None else _default_rules())
    except rules_module().Poison as exc:
        raise UsageError(
            f"{source}: the function would dead-letter this body: {exc}",
            hint="fix the body (docs/CONTRACTS.md, message bodies); --no-validate sends it anyway",
        ) from None


def check_rows_per_message(rows_per_message: int, rules: Any) -> None:
    limit = rules.max_rows if rules is not None else 0
    if limit and rows_per_message > limit:
        raise UsageError(
            f"--rows-per-message {rows_per_message}: over the function's limit of {limit} rows per message",
            hint=f"use at most {limit} (function.max_rows_per_message)",
        )


def describe_predictions(predictions: Sequence[Any], classes: Sequence[Any] = ()) -> str:
    """'setosa (p=0.97), virginica (p=0.88)' for a classifier, '24.1, 31.5' for a regression."""
    if classes:
        return ", ".join(f"{c.get('label')} (p={float(c.get('probability', 0)):.3g})" for c in classes)
    return ", ".join(f"{p:.6g}" if isinstance(p, float | int) else str(p) for p in predictions)
