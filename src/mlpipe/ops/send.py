"""`mlpipe send`: put inputs on the trigger queue and, with --wait, fetch what became of them.

Everything is checked before the first message leaves: the deployment exists and is ours, every
row has the model's feature count, every body fits in an SQS message. Results are found in the
function's log group by correlation id (`<run>-<n>`, docs/CONTRACTS.md), so nothing another
client waits for is consumed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import DeliveryError, UsageError
from mlpipe.names import Names
from mlpipe.ops import model_store
from mlpipe.ops.logevents import LogPoller, next_delay
from mlpipe.ops.queues import owned_queue
from mlpipe.ops.rows import Message, check_sizes, describe_lines, json_message, pack_rows, read_rows, validate_rows
from mlpipe.ops.sqs_batch import BatchSender
from mlpipe.reporter import Reporter


@dataclass(frozen=True)
class SendInput:
    """Exactly one of payload, json_body, text (a file's or stdin's content)."""

    payload: str | None = None
    json_body: str | None = None
    text: str | None = None
    source: str = "--payload"  # how errors name the input: "--payload", "rows.csv", "stdin"
    rows_per_message: int = 1
    validate: bool = True


@dataclass
class Outcome:
    """What became of one message, from the function's log lines."""

    correlation_id: str
    lines: tuple[int, ...]
    status: str = "pending"  # prediction | poison | pending (no final line before the timeout)
    message_id: str | None = None
    predictions: list[Any] = field(default_factory=list)
    latency_ms: float | None = None
    reason: str | None = None  # poison reason, or the last retry/error line of a pending message

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, lines=list(self.lines))


@dataclass
class SendResult:
    queue: str
    messages: int
    rows: int
    requests: int
    elapsed_s: float
    retried_entries: int = 0  # entries SQS failed transiently and mlpipe sent again
    header_line: int | None = None
    feature_count: int | None = None
    message_ids: dict[str, str] = field(default_factory=dict)  # correlation id -> SQS message id
    outcomes: list[Outcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "messages": self.messages,
            "rows": self.rows,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "retried_entries": self.retried_entries,
            "header_line": self.header_line,
            "feature_count": self.feature_count,
            "message_ids": self.message_ids,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    @property
    def unfinished(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "prediction"]


def _feature_count(clients: Clients, names: Names, reporter: Reporter) -> int | None:
    current = model_store.read_current(clients, names)
    if current is None:
        reporter.warn(f"no trained model found for {names.app}/{names.stage}: row lengths are not checked")
        return None
    count = current.get("feature_count")
    return int(count) if count else None


def prepare(
    request: SendInput, feature_count: int | None, run_id: str, need_ids: bool
) -> tuple[list[Message], int | None]:
    """The messages to send, all checked, and the skipped header line; raises before anything is sent."""
    given = [v for v in (request.payload, request.json_body, request.text) if v is not None]
    if len(given) != 1:
        raise UsageError(
            "give exactly one of --payload, --json, --file", hint="e.g. mlpipe send --payload '14.05,0,18.1'"
        )
    if request.json_body is not None:
        messages = [json_message(request.json_body, run_id, need_ids)]
        header = None
    else:
        text = request.payload if request.payload is not None else request.text
        rows, header = read_rows(text or "", request.source, header_allowed=request.payload is None)
        if request.payload is not None and len(rows) > 1:
            raise UsageError("--payload takes one row", hint="use --file for several rows")
        if request.validate:
            validate_rows(rows, feature_count, request.source)
        messages = pack_rows(rows, request.rows_per_message, run_id)
    check_sizes(messages, request.source)
    return messages, header


def send(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    request: SendInput,
    wait: bool = False,
    timeout_s: float = 60.0,
    workers: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    if timeout_s < 0:
        raise UsageError(f"--timeout {timeout_s:g}: must not be negative")
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:12]
    names = clients.names(config.app, config.stage)
    trigger = owned_queue(clients, names, names.trigger_queue)
    feature_count = _feature_count(clients, names, reporter) if request.validate and request.json_body is None else None
    messages, header = prepare(request, feature_count, run_id, need_ids=wait)
    if header:
        reporter.step(f"{request.source}: line {header} looks like a header: skipped")
    since_ms = int(time.time() * 1000) - 5_000  # a little slack for clock skew with CloudWatch
    delivery = BatchSender(clients, trigger.url, workers=workers, sleep=sleep).send(messages, reporter)
    if delivery.failed:
        lines = [line for i in delivery.failed for line in messages[i].lines]
        codes = sorted({code for code, _ in delivery.failed.values()})
        raise DeliveryError(
            f"{len(delivery.failed)} of {len(messages)} message(s) could not be sent ({', '.join(codes)}): "
            f"{request.source} line(s) {describe_lines(lines)}",
            hint=f"{len(delivery.message_ids)} other message(s) were sent; resend only those lines",
        )
    result = SendResult(
        queue=trigger.name,
        messages=len(messages),
        rows=sum(len(m.lines) for m in messages),
        requests=delivery.requests,
        elapsed_s=0.0,
        retried_entries=delivery.retried_entries,
        header_line=header,
        feature_count=feature_count,
        message_ids={m.correlation_id or str(i): delivery.message_ids[i] for i, m in enumerate(messages)},
    )
    reporter.done(f"sent {result.rows} row(s) in {result.messages} message(s) to {trigger.name}")
    if wait:
        result.outcomes = wait_for_outcomes(
            clients, names, messages, since_ms, run_id, timeout_s, reporter, sleep=sleep
        )
    result.elapsed_s = time.monotonic() - started
    return result


def wait_for_outcomes(
    clients: Clients,
    names: Names,
    messages: list[Message],
    since_ms: int,
    run_id: str,
    timeout_s: float,
    reporter: Reporter,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Outcome]:
    """Watch the function's log lines for our correlation ids until each has a prediction or a
    poison line, or the timeout passes."""
    outcomes = {m.correlation_id: Outcome(m.correlation_id, m.lines) for m in messages if m.correlation_id}
    if len(outcomes) == 1:
        only = next(iter(outcomes))
        pattern = f'{{ $.correlation_id = "{only}" }}'
    else:
        pattern = f'{{ $.correlation_id = "{run_id}-*" }}'
    poller = LogPoller(clients, names.log_group, since_ms, pattern)
    open_ids = set(outcomes)
    deadline = clock() + timeout_s
    delay = 0.25
    reporter.step(f"waiting up to {timeout_s:g}s for {len(open_ids)} result(s) in {names.log_group}")
    while open_ids:
        events = poller.poll()
        for event in events:
            record = event.record()
            cid = str(record.get("correlation_id")) if record else None
            if record is None or cid not in outcomes:
                continue  # the pattern only narrows the search: ids are matched exactly here
            outcome = outcomes[cid]
            kind = record.get("event")
            outcome.message_id = record.get("message_id") or outcome.message_id
            if kind == "prediction":
                outcome.status = "prediction"
                outcome.predictions = list(record.get("predictions") or [])
                outcome.latency_ms = record.get("latency_ms")
                open_ids.discard(cid)
            elif kind == "poison":
                outcome.status = "poison"
                outcome.reason = str(record.get("reason", ""))
                open_ids.discard(cid)
            elif outcome.status == "pending":
                outcome.reason = f"{kind}: {record.get('reason') or record.get('error') or ''}".rstrip(": ")
        if events:
            reporter.progress("results", len(outcomes) - len(open_ids), len(outcomes))
        if not open_ids or clock() >= deadline:
            break
        delay = next_delay(delay, bool(events), poller.throttled)
        sleep(max(0.0, min(delay, deadline - clock())))
    return list(outcomes.values())
