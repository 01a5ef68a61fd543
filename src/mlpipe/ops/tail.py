"""`mlpipe tail logs` and `mlpipe tail dlq`: what the function logged, what failed and why."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from mlpipe.aws.calls import call, iterate
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import MlpipeError, NotDeployedError
from mlpipe.ops.function_contract import function_configuration
from mlpipe.ops.logevents import LogEvent, LogPoller, content_key, next_delay
from mlpipe.ops.queues import owned_queue
from mlpipe.reporter import Reporter
from mlpipe.waiting import Poll

REDRIVE_REASON = "exceeded maxReceiveCount"
REASON_ATTRIBUTE = "mlpipe-reason"


@dataclass(frozen=True)
class LogsResult:
    log_group: str
    events: int
    mode: str  # "history", "poll" or "live"
    requests: int


def tail_logs(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    sink: Callable[[LogEvent], None],
    since_ms: int,
    pattern: str | None = None,
    follow: bool = False,
    max_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> LogsResult:
    """Hand every event of the function's log group since `since_ms` to `sink`; with `follow`, keep
    going (until `max_seconds`, or Ctrl-C) through StartLiveTail, or polling where that fails."""
    names = clients.names(config.app, config.stage)
    deadline = None if max_seconds is None else clock() + max_seconds
    poller = LogPoller(clients, names.log_group, since_ms, pattern)
    count = 0

    def deliver(events: list[LogEvent]) -> None:
        nonlocal count
        for event in events:
            count += 1
            sink(event)

    live = _start_live_tail(clients, names.log_group_arn(names.log_group), pattern) if follow else None
    deliver(poller.poll())
    if not follow:
        if poller.missing:
            if function_configuration(clients, names) is None:  # never deployed, or destroyed: as `tail dlq` says
                raise NotDeployedError(
                    f"app '{names.app}' stage '{names.stage}' is not deployed on {clients.target.description} "
                    f"(no function {names.function})",
                    hint=f"run `mlpipe --stage {names.stage} deploy` first",
                )
            reporter.warn(f"log group {names.log_group} does not exist yet: the function has not run")
        return LogsResult(names.log_group, count, "history", poller.requests)
    if live is not None:
        ended_cleanly = _follow_live(live, poller, deliver, deadline, clock)
        if ended_cleanly:
            return LogsResult(names.log_group, count, "live", poller.requests)
        reporter.warn("live tail ended early; polling instead")
    if poller.missing:
        reporter.step(f"waiting for log group {names.log_group} (the function has not run yet)")
    poll = Poll(math.inf if deadline is None else max(0.0, deadline - clock()), 0.25, clock=clock, sleep=sleep)
    next(poll)  # the history was read above: this loop's first read comes one interval later
    for _ in poll:
        events = poller.poll()
        deliver(events)
        poll.interval = next_delay(poll.interval, bool(events), poller.throttled)
    return LogsResult(names.log_group, count, "poll", poller.requests)


def _start_live_tail(clients: Clients, group_arn: str, pattern: str | None) -> Any | None:
    """The live tail event stream, or None where the target cannot do it (we try, and fall back)."""
    params: dict[str, Any] = {"logGroupIdentifiers": [group_arn]}
    if pattern:
        params["logEventFilterPattern"] = pattern
    try:
        return call(clients, clients.client("logs").start_live_tail, **params)["responseStream"]
    except MlpipeError:
        return None


def _follow_live(
    stream: Any,
    poller: LogPoller,
    deliver: Callable[[list[LogEvent]], None],
    deadline: float | None,
    clock: Callable[[], float],
) -> bool:
    """Read the live tail until the deadline; False when it broke off (the caller then polls)."""
    try:
        for update in iterate(poller.clients, stream):
            results = update.get("sessionUpdate", {}).get("sessionResults", [])
            # Live results carry no event id: key them by content, next to the history's ids.
            deliver(poller.accept([{**r, "eventId": content_key(r)} for r in results]))
            if deadline is not None and clock() >= deadline:
                return True
        return False  # the session ended (AWS closes them after 3 h): go on polling
    except MlpipeError:
        return False
    finally:
        stream.close()


@dataclass(frozen=True)
class DlqMessage:
    message_id: str
    sent_ms: int
    receive_count: int
    reason: str
    correlation_id: str | None
    source_message_id: str | None
    body: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DlqResult:
    queue: str
    approximate_depth: int
    messages: list[DlqMessage] = field(default_factory=list)


def _attribute(message: dict[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name, {}).get("StringValue")
    return str(value) if value is not None else None


def tail_dlq(config: Config, clients: Clients, reporter: Reporter, limit: int = 10, peek_s: int = 30) -> DlqResult:
    """Up to `limit` DLQ messages with their reasons, left in the queue: each is made visible again
    right after reading (ChangeMessageVisibility 0), so nothing is consumed."""
    names = clients.names(config.app, config.stage)
    dlq = owned_queue(clients, names, names.dlq)
    return peek_dlq(clients, dlq.url, dlq.name, reporter, limit=limit, peek_s=peek_s)


def peek_dlq(clients: Clients, url: str, name: str, reporter: Reporter, limit: int = 10, peek_s: int = 30) -> DlqResult:
    """`tail_dlq` on a queue already resolved (and checked to be ours): read, then release at once."""
    sqs = clients.client("sqs")
    found: dict[str, DlqMessage] = {}
    handles: list[str] = []
    try:
        depth = int(
            call(clients, sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        empty_receives = 0
        while len(found) < min(limit, depth) and empty_receives < 2:
            batch = call(
                clients,
                sqs.receive_message,
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(found)),
                VisibilityTimeout=peek_s,
                WaitTimeSeconds=1 if empty_receives else 0,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            empty_receives = 0 if batch else empty_receives + 1
            for m in batch:
                handles.append(m["ReceiptHandle"])
                attrs = m.get("Attributes", {})
                found.setdefault(
                    m["MessageId"],
                    DlqMessage(
                        message_id=m["MessageId"],
                        sent_ms=int(attrs.get("SentTimestamp", 0)),
                        receive_count=int(attrs.get("ApproximateReceiveCount", 0)),
                        reason=_attribute(m, REASON_ATTRIBUTE) or REDRIVE_REASON,
                        correlation_id=_attribute(m, "mlpipe-correlation-id"),
                        source_message_id=_attribute(m, "mlpipe-source-message-id"),
                        body=m.get("Body", ""),
                    ),
                )
    finally:
        _release(sqs, url, handles, reporter)
    messages = sorted(found.values(), key=lambda m: m.sent_ms)[:limit]
    return DlqResult(name, depth, messages)


def _release(sqs: Any, url: str, handles: list[str], reporter: Reporter) -> None:
    """Make what we peeked at visible again at once."""
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)]
        failed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries).get("Failed", [])
        if failed:
            reporter.warn(f"{len(failed)} DLQ message(s) stay hidden until their visibility timeout ends")
