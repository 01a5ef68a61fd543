"""`mlpipe send`: put inputs on the trigger queue and, with --wait, fetch what became of them.

Everything is checked before the first message leaves: the deployment exists and is ours, every
row has the model's feature count, every body fits in an SQS message. Results are found in the
function's log group by correlation id (`<run>-<n>`, docs/CONTRACTS.md), so nothing another
client waits for is consumed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlpipe import contract
from mlpipe.aws.calls import read
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import Interrupted, MlpipeError, NotDeployedError, UsageError
from mlpipe.names import Names
from mlpipe.ops import model_store
from mlpipe.ops.function_contract import deployed_feature_count, stale_function
from mlpipe.ops.logevents import LogPoller, next_delay
from mlpipe.ops.queues import owned_queue
from mlpipe.ops.rows import (
    Message,
    check_body,
    check_rows_per_message,
    check_sizes,
    json_message,
    pack_rows,
    read_rows,
    validate_rows,
)
from mlpipe.ops.sqs_batch import BatchSender, interrupted, undelivered
from mlpipe.ops.tail import REDRIVE_REASON, DlqMessage, peek_dlq
from mlpipe.reporter import Reporter
from mlpipe.waiting import Poll

DLQ_PEEK_EVERY_S = 5.0  # while --wait sees no new log lines, look in the DLQ this often
DLQ_PEEK_LIMIT = 1000  # DLQ messages read per look


@dataclass(frozen=True)
class SendInput:
    """Exactly one of payload, json_body, text (a file's or stdin's content)."""

    payload: str | None = None
    json_body: str | None = None
    text: str | None = None
    source: str = "--payload"  # how errors name the input: "--payload", "rows.csv", "stdin"
    rows_per_message: int = 1
    validate: bool = True
    delimiter: str | None = None  # files: detected unless given
    decimal: str | None = None
    header: bool | None = None  # None: detected; False: --no-header


@dataclass
class Outcome:
    """What became of one message, from the function's log lines."""

    correlation_id: str
    lines: tuple[int, ...]
    # prediction | poison (the handler moved it to the DLQ) | dead-lettered (SQS moved it there after
    # maxReceiveCount failed receives) | pending (neither before the timeout)
    status: str = "pending"
    message_id: str | None = None
    predictions: list[Any] = field(default_factory=list)
    classes: list[Any] = field(default_factory=list)  # a classifier's {"label", "probability"} per row
    latency_ms: float | None = None
    reason: str | None = None  # why it is in the DLQ, or the last retry/error line of a pending message

    @property
    def in_dlq(self) -> bool:
        return self.status in ("poison", "dead-lettered")

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


def prepare(
    request: SendInput,
    feature_count: int | None,
    run_id: str,
    need_ids: bool,
    rules: Any = None,
    target: str | None = None,
) -> tuple[list[Message], int | None]:
    """The messages to send, all checked, and the skipped header line; raises before anything is sent.

    Checks are the function's own (templates/handler/payload_rules.py), so what passes here is not
    dead-lettered there for its shape or values."""
    given = [v for v in (request.payload, request.json_body, request.text) if v is not None]
    if len(given) != 1:
        raise UsageError(
            "give exactly one of --payload, --json, --file", hint="e.g. mlpipe send --payload '14.05,0,18.1'"
        )
    if request.json_body is not None:
        messages = [json_message(request.json_body, run_id, need_ids)]
        if request.validate:
            check_body(messages[0].body, rules, "--json")
        header = None
    else:
        text = request.payload if request.payload is not None else request.text
        rows, header = read_rows(
            text or "",
            request.source,
            header_allowed=request.payload is None,
            rules=rules,
            target=target,
            delimiter=request.delimiter if request.payload is None else ",",
            decimal=request.decimal,
            header=request.header,
        )
        if request.payload is not None and len(rows) > 1:
            raise UsageError("--payload takes one row", hint="use --file for several rows")
        if request.validate:
            rows = validate_rows(rows, feature_count, request.source, rules)
            check_rows_per_message(request.rows_per_message, rules)
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
    clock: Callable[[], float] = time.monotonic,
) -> SendResult:
    """Check, send and (with `wait`) watch for outcomes. Every pause and deadline (retry backoff, the
    --wait timeout, when to look in the DLQ) is on `clock` and `sleep`, so a test can drive time."""
    if timeout_s < 0:
        raise UsageError(f"--timeout {timeout_s:g}: must not be negative")
    started = clock()
    run_id = uuid.uuid4().hex[:12]
    names = clients.names(config.app, config.stage)
    trigger = owned_queue(clients, names, names.trigger_queue)
    model = model_store.read_current(clients, names) if wait or request.validate else None
    if wait and model is None:  # nothing could answer: say so now
        raise NotDeployedError(
            f"no model is trained for {names.app}/{names.stage}: nothing would answer, --wait would only time out",
            hint="run `mlpipe train` first (or send without --wait to queue the rows)",
        )
    if request.validate and model is None:
        reporter.warn(f"no trained model found for {names.app}/{names.stage}: row lengths are not checked")
    feature_count = int((model or {}).get("feature_count") or 0) or None
    if request.validate:  # the rows must pass the function, which checks the count deploy gave it
        deployed = deployed_feature_count(clients, names)
        stale = stale_function(names, deployed, feature_count)
        if stale:
            raise NotDeployedError(stale, hint="run `mlpipe deploy` (it updates the function to the model), then send")
        feature_count = deployed or feature_count
    rules = contract.rules(config, model if request.validate else None)
    messages, header = prepare(request, feature_count, run_id, wait, rules, (model or {}).get("target"))
    if header:
        reporter.step(f"{request.source}: line {header} looks like a header: skipped")
    if wait and model is not None:  # after the input is checked: bad input is the first thing to say
        _require_endpoint(clients, names)
    since_ms = int(time.time() * 1000) - 5_000  # a little slack for clock skew with CloudWatch
    delivery = BatchSender(clients, trigger.url, workers=workers, sleep=sleep, clock=clock).send(messages, reporter)
    if delivery.interrupted:
        raise interrupted(delivery, messages, request.source)
    if delivery.failed:
        raise undelivered(delivery, messages, request.source)
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
        result.outcomes = _waited(
            result,
            lambda: wait_for_outcomes(
                clients, names, messages, since_ms, run_id, timeout_s, reporter, sleep=sleep, clock=clock
            ),
        )
    result.elapsed_s = clock() - started
    return result


def _waited(result: SendResult, wait: Callable[[], list[Outcome]]) -> list[Outcome]:
    try:
        return wait()
    except KeyboardInterrupt as exc:  # everything was sent: only the waiting stops
        raise Interrupted(
            f"interrupted while waiting for results: all {result.messages} message(s) "
            f"({result.rows} row(s)) were sent and are being processed",
            hint="`mlpipe tail logs` shows the predictions, `mlpipe tail dlq` what failed",
        ) from exc


def _require_endpoint(clients: Clients, names: Names) -> None:
    """`--wait` with a model but no endpoint (deleted, or never created) would only time out: say so now."""
    from mlpipe.plan.sagemaker import NOT_FOUND

    sm = clients.client("sagemaker")
    if read(clients, sm.describe_endpoint, missing=(NOT_FOUND,), EndpointName=names.endpoint) is None:
        raise NotDeployedError(
            f"endpoint {names.endpoint} does not exist: a model is trained for {names.app}/{names.stage}, "
            "but nothing would answer, --wait would only time out",
            hint=f"run `mlpipe --stage {names.stage} train` (it creates the endpoint), or send without --wait",
        )


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
    poison line, or the timeout passes. Messages SQS itself dead-lettered log no final line: the
    dead-letter queue is peeked (not consumed) for them while the log is quiet and at the end."""
    outcomes = {m.correlation_id: Outcome(m.correlation_id, m.lines) for m in messages if m.correlation_id}
    if len(outcomes) == 1:
        only = next(iter(outcomes))
        pattern = f'{{ $.correlation_id = "{only}" }}'
    else:
        pattern = f'{{ $.correlation_id = "{run_id}-*" }}'
    poller = LogPoller(clients, names.log_group, since_ms, pattern)
    open_ids = set(outcomes)
    # A message needs maxReceiveCount failed receives before SQS moves it: no look at the DLQ at once.
    dlq = _DlqWatch(clients, names, reporter, last_peek=clock())
    poll = Poll(timeout_s, 0.25, clock=clock, sleep=sleep)
    reporter.step(f"waiting up to {timeout_s:g}s for {len(open_ids)} result(s) in {names.log_group}")
    for _ in poll:
        events = poller.poll()
        for event in events:
            record = event.record()
            cid = str(record.get("correlation_id")) if record else None
            if record is not None and cid in outcomes:  # the pattern only narrows: ids are matched exactly
                _record_line(outcomes[cid], record, open_ids)
        dead = 0
        if not events and open_ids and clock() - dlq.last_peek >= DLQ_PEEK_EVERY_S:
            dead = _settle_dead_letters(dlq.find(open_ids, clock), outcomes, open_ids)
        if events or dead:
            reporter.progress("results", len(outcomes) - len(open_ids), len(outcomes))
        if not open_ids:
            break
        poll.interval = next_delay(poll.interval, bool(events), poller.throttled)
    if open_ids and (not dlq.peeks or clock() - dlq.last_peek >= 1.0):
        _settle_dead_letters(dlq.find(open_ids, clock), outcomes, open_ids)
    return list(outcomes.values())


def _record_line(outcome: Outcome, record: dict[str, Any], open_ids: set[str]) -> None:
    """What one of the handler's log lines says about one message."""
    kind = record.get("event")
    outcome.message_id = record.get("message_id") or outcome.message_id
    if kind == "prediction":
        outcome.status = "prediction"
        outcome.predictions = list(record.get("predictions") or [])
        outcome.classes = list(record.get("classes") or [])
        outcome.latency_ms = record.get("latency_ms")
        open_ids.discard(outcome.correlation_id)
    elif kind == "poison":
        outcome.status = "poison"
        outcome.reason = str(record.get("reason", ""))
        open_ids.discard(outcome.correlation_id)
    elif outcome.status == "pending":
        outcome.reason = f"{kind}: {record.get('reason') or record.get('error') or ''}".rstrip(": ")


def _settle_dead_letters(found: dict[str, DlqMessage], outcomes: dict[str, Outcome], open_ids: set[str]) -> int:
    """Record where the found messages went; returns how many."""
    for cid, dead in found.items():
        outcome = outcomes[cid]
        if dead.reason == REDRIVE_REASON:
            # No reason attribute: SQS moved it after maxReceiveCount failed receives; the last
            # retry/error line logged for it says why they failed.
            last = outcome.reason
            outcome.status = "dead-lettered"
            outcome.reason = REDRIVE_REASON + (f" (last: {last})" if last else "")
        else:  # the handler moved it (its poison line is not in the log yet)
            outcome.status, outcome.reason = "poison", dead.reason
        open_ids.discard(cid)
    return len(found)


class _DlqWatch:
    """Looks for still-open messages in the dead-letter queue without consuming any (each peeked
    message is made visible again at once, as `mlpipe tail dlq` does)."""

    def __init__(self, clients: Clients, names: Names, reporter: Reporter, last_peek: float) -> None:
        self.clients, self.names, self.reporter = clients, names, reporter
        self.last_peek = last_peek
        self.peeks = 0
        self.warned: set[str] = set()

    def find(self, open_ids: set[str], clock: Callable[[], float]) -> dict[str, DlqMessage]:
        """Open correlation ids found in the DLQ: by the handler's attribute, or the body's `id`."""
        self.last_peek = clock()
        self.peeks += 1
        try:
            dlq = owned_queue(self.clients, self.names, self.names.dlq)
            peeked = peek_dlq(self.clients, dlq.url, dlq.name, self.reporter, limit=DLQ_PEEK_LIMIT)
        except MlpipeError as exc:
            # The log's results still count: say (once) why DLQ outcomes may be missing, try again later.
            self._warn_once("error", f"cannot look in the dead-letter queue {self.names.dlq}: {exc}")
            return {}
        if peeked.approximate_depth > DLQ_PEEK_LIMIT:
            self._warn_once(
                "depth",
                f"{peeked.queue} holds ~{peeked.approximate_depth} messages: only {DLQ_PEEK_LIMIT} checked for ours",
            )
        found: dict[str, DlqMessage] = {}
        for message in peeked.messages:
            cid = message.correlation_id or _body_id(message.body)
            if cid in open_ids:
                found[cid] = message
        return found

    def _warn_once(self, kind: str, text: str) -> None:
        if kind not in self.warned:
            self.warned.add(kind)
            self.reporter.warn(text)


def _body_id(body: str) -> str | None:
    """The correlation id a message body carries (docs/CONTRACTS.md: `"id"` of a JSON object)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value is not None else None
