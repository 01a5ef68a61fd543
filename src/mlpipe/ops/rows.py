"""Input rows for `mlpipe send`: parse, validate, and pack into SQS message bodies.

Pure functions, no AWS: everything here runs before the first message is sent, so bad input
never leaves half a file on the queue. Body formats are the ones in docs/CONTRACTS.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlpipe.errors import UsageError

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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(line: str) -> tuple[str, ...]:
    return tuple(field.strip() for field in line.split(","))


def read_rows(text: str, source: str, header_allowed: bool = True) -> tuple[list[Row], int | None]:
    """Data rows of a CSV text, and the line number of the header that was skipped (if any).

    The first non-blank line is a header when none of its non-empty fields is a number; a line
    mixing numbers and words is data (and fails validation, naming the line).
    """
    rows: list[Row] = []
    header: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        fields = _split(line)
        if header_allowed and not rows and header is None:
            non_empty = [f for f in fields if f]
            if non_empty and not any(_is_number(f) for f in non_empty):
                header = number
                continue
        rows.append(Row(number, fields))
    if not rows:
        what = "only a header line" if header else "nothing"
        raise UsageError(f"{source}: no rows to send (it holds {what})", hint="give a CSV file with one row per line")
    return rows, header


def validate_rows(rows: Iterable[Row], feature_count: int | None, source: str) -> None:
    """Every value a number (or empty: a missing value) and, when known, the model's feature count."""
    for row in rows:
        if feature_count and len(row.fields) != feature_count:
            extra = " (is the target column included?)" if len(row.fields) == feature_count + 1 else ""
            raise UsageError(
                f"{source}:{row.line}: {len(row.fields)} values, the deployed model expects {feature_count} features"
                + extra,
                hint="send feature columns only, in training order; --no-validate skips this check",
            )
        for column, value in enumerate(row.fields, start=1):
            if value and not _is_number(value):
                raise UsageError(
                    f"{source}:{row.line}: column {column} value '{value[:40]}' is not a number",
                    hint="every feature must be numeric (empty for missing); --no-validate skips this check",
                )


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
