"""Deliver many messages with SendMessageBatch: 10 entries and <= 1 MiB per call, a few calls in
flight, per-entry failures retried with backoff, and whatever still fails reported, never dropped.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from mlpipe import interrupts
from mlpipe.aws.calls import call
from mlpipe.aws.clients import Clients
from mlpipe.errors import DeliveryError, Interrupted, MlpipeError
from mlpipe.ops.rows import MAX_MESSAGE_BYTES, Message, describe_lines
from mlpipe.reporter import Reporter

MAX_ENTRIES = 10
GATHER_S = 0.1  # how early a retry may go, to share a batch with others
# Whole-call errors worth another try; the SDK has already retried them a little.
RETRYABLE_CALL_ERRORS = (
    "RequestThrottled",
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "KmsThrottled",
)


@dataclass
class Delivery:
    """What happened to each message, by its index in the input list: every index ends up in exactly
    one of `message_ids` (sent) and `failed` (not sent, with why)."""

    message_ids: dict[int, str] = field(default_factory=dict)
    failed: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (code, message)
    requests: int = 0
    retried_entries: int = 0
    # Why sending stopped early, when a whole call failed for good: every message not sent by then is
    # in `failed` with this error's code.
    stopped: MlpipeError | None = None
    interrupted: bool = False  # Ctrl-C stopped it: every message not sent is in `failed` as "Interrupted"


@dataclass
class _Run:
    """One send's bookkeeping, kept by the main thread."""

    ready: deque[int]
    tries: list[int]
    delayed: list[tuple[float, int]] = field(default_factory=list)  # heap of (due time, message index)
    last_error: dict[int, tuple[str, str]] = field(default_factory=dict)
    stop: tuple[str, str] | None = None  # (code, message) of what stopped the send
    inflight: dict[Future[dict[str, Any]], list[int]] = field(default_factory=dict)


@dataclass
class _Settled:
    retry: list[int]  # entries to try again
    call_error: tuple[str, str] | None = None  # the whole call failed: (code, message)
    error: MlpipeError | None = None  # ... translated for the user
    fatal: bool = False  # ... in a way no retry can fix


def batches(messages: Sequence[Message]) -> list[list[int]]:
    """Message indexes grouped for SendMessageBatch: <= 10 entries and <= 1 MiB of bodies per call."""
    out: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, message in enumerate(messages):
        if current and (len(current) == MAX_ENTRIES or size + message.size > MAX_MESSAGE_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(index)
        size += message.size
    if current:
        out.append(current)
    return out


class BatchSender:
    """Sends from the main thread's bookkeeping, with `workers` calls in flight.

    Entries that fail transiently wait out their backoff in a pool and are re-packed into full
    batches with other retries, so retries cost few extra calls and never block a worker.

    A whole call that fails for good (access denied, a KMS key refused, expired credentials, or a
    throttling/connection error that outlasts every retry) stops the send: no new call starts, the
    calls in flight finish, and every message not sent by then is reported failed with that error,
    so the caller can name exactly what to send again.
    """

    def __init__(
        self,
        clients: Clients,
        queue_url: str,
        attempts: int = 6,
        workers: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients
        self.queue_url = queue_url
        self.attempts = attempts
        self.workers = workers
        self.sleep = sleep
        self.clock = clock

    def send(self, messages: Sequence[Message], reporter: Reporter, label: str = "send") -> Delivery:
        delivery = Delivery()
        run = _Run(ready=deque(range(len(messages))), tries=[0] * len(messages))
        reporter.progress(label, 0, len(messages))
        try:
            # A Ctrl-C is held until the calls in flight have answered: what they sent is then known.
            with interrupts.deferred("the SendMessageBatch calls in flight, to know which rows were sent"):
                self._loop(messages, reporter, label, delivery, run)
        except KeyboardInterrupt:
            # Held, or a second Ctrl-C: either way the pool has waited for the calls in flight.
            for future, group in run.inflight.items():
                if future.done():  # not done only after a third Ctrl-C: then its rows count as not sent
                    self._settle(future, group, delivery, run.last_error)
            delivery.interrupted = True
            run.stop = ("Interrupted", "not sent: Ctrl-C stopped the send")
        if run.stop is not None:
            for index in range(len(messages)):
                if index not in delivery.message_ids and index not in delivery.failed:
                    delivery.failed[index] = run.stop
            reporter.progress(label, len(messages), len(messages))
        return delivery

    def _loop(self, messages: Sequence[Message], reporter: Reporter, label: str, delivery: Delivery, run: _Run) -> None:
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mlpipe-send") as pool:
            inflight = run.inflight
            while inflight or (run.stop is None and (run.ready or run.delayed)):
                if run.stop is None and interrupts.requested():
                    run.stop = ("Interrupted", "not sent: Ctrl-C stopped the send")  # the calls in flight end
                if run.stop is None:
                    # Retries due soon are taken early, so they travel together in full batches.
                    now = self.clock() + GATHER_S
                    while run.delayed and run.delayed[0][0] <= now:
                        run.ready.append(heapq.heappop(run.delayed)[1])
                    while run.ready and len(inflight) < self.workers:
                        group = _take_batch(run.ready, messages)
                        for index in group:
                            run.tries[index] += 1
                        inflight[pool.submit(self._call, messages, group)] = group
                        delivery.requests += 1
                    if not inflight:
                        self.sleep(max(0.0, run.delayed[0][0] - self.clock()))
                        continue
                timeout = max(0.0, run.delayed[0][0] - self.clock()) if run.delayed and run.stop is None else None
                finished, _ = wait(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._record(future, inflight[future], delivery, run)
                    del inflight[future]  # after its record: a second Ctrl-C cannot lose what it sent
                reporter.progress(label, len(delivery.message_ids) + len(delivery.failed), len(messages))

    def _record(self, future: Future[dict[str, Any]], group: list[int], delivery: Delivery, run: _Run) -> None:
        settled = self._settle(future, group, delivery, run.last_error)
        if settled.fatal:
            if run.stop is None:
                run.stop, delivery.stopped = settled.call_error, settled.error
            return  # its entries are reported at the end, with everything else unsent
        due = self.clock() + _backoff(max((run.tries[i] for i in settled.retry), default=1))
        for index in settled.retry:
            if run.tries[index] >= self.attempts:
                delivery.failed[index] = run.last_error[index]
                if settled.call_error is not None and run.stop is None:
                    # Whole calls kept failing through every retry: the queue is not
                    # taking messages, so stop rather than grind through the rest.
                    run.stop, delivery.stopped = settled.call_error, settled.error
            elif run.stop is None:
                delivery.retried_entries += 1
                heapq.heappush(run.delayed, (due, index))

    def _call(self, messages: Sequence[Message], group: list[int]) -> dict[str, Any]:
        entries = [{"Id": str(i), "MessageBody": messages[i].body} for i in group]
        sqs = self.clients.client("sqs")
        answer: dict[str, Any] = call(self.clients, sqs.send_message_batch, QueueUrl=self.queue_url, Entries=entries)
        return answer

    def _settle(
        self,
        future: Future[dict[str, Any]],
        group: list[int],
        delivery: Delivery,
        last_error: dict[int, tuple[str, str]],
    ) -> _Settled:
        """Record one call's outcome."""
        try:
            answer = future.result()
        except MlpipeError as exc:
            if exc.transient:
                # Connection-level (a read timeout, a closed connection): the request may or may not
                # have reached SQS; sending again can duplicate, never lose - at-least-once anyway.
                return self._call_failed(group, last_error, type(exc.__cause__).__name__, exc, fatal=False)
            code = getattr(exc, "code", None) or type(exc).__name__
            return self._call_failed(group, last_error, code, exc, fatal=code not in RETRYABLE_CALL_ERRORS)
        except Exception as exc:  # anything else must still report what was sent
            return self._call_failed(group, last_error, type(exc).__name__, MlpipeError(str(exc)), fatal=True)
        retry = []
        for ok in answer.get("Successful", []):
            delivery.message_ids[int(ok["Id"])] = ok["MessageId"]
        for bad in answer.get("Failed", []):
            index = int(bad["Id"])
            reason = (str(bad.get("Code", "")), str(bad.get("Message", "")))
            if bad.get("SenderFault"):
                delivery.failed[index] = reason  # our request is wrong: retrying won't help
            else:
                last_error[index] = reason
                retry.append(index)
        return _Settled(retry)

    def _call_failed(
        self, group: list[int], last_error: dict[int, tuple[str, str]], code: str, error: MlpipeError, fatal: bool
    ) -> _Settled:
        reason = (code, error.message)
        for index in group:
            last_error[index] = reason
        return _Settled(list(group), call_error=reason, error=error, fatal=fatal)


def undelivered(delivery: Delivery, messages: Sequence[Message], source: str) -> DeliveryError:
    """One line: what failed, how many went out, and exactly which input lines did not."""
    lines = [line for i in delivery.failed for line in messages[i].lines]
    codes = sorted({code for code, _ in delivery.failed.values()})
    sent = len(delivery.message_ids)
    summary = (
        f"{len(delivery.failed)} of {len(messages)} message(s) could not be sent ({', '.join(codes)}), "
        f"{sent} sent: {source} line(s) {describe_lines(lines)}"
    )
    hint = "the other lines are on the queue: resend only these"
    if delivery.stopped is None:
        return DeliveryError(summary, hint=hint)
    cause = delivery.stopped.message.rstrip(".")
    hint = f"{hint}, once the cause is fixed" + (f" ({delivery.stopped.hint})" if delivery.stopped.hint else "")
    return DeliveryError(f"sending stopped: {cause}; {summary}", hint=hint)


def interrupted(delivery: Delivery, messages: Sequence[Message], source: str) -> Interrupted:
    """Ctrl-C during the send: how many went out, and exactly which input lines did not."""
    sent = [line for i in delivery.message_ids for line in messages[i].lines]
    unsent = [line for i in delivery.failed for line in messages[i].lines]
    if not unsent:  # the last calls were in flight: they all went out
        return Interrupted(f"interrupted, but all {len(messages)} message(s) had been sent: nothing is missing")
    message = (
        f"interrupted: {len(delivery.message_ids)} of {len(messages)} message(s) sent"
        + (f" ({source} line(s) {describe_lines(sent)})" if sent else "")
        + f"; {source} line(s) {describe_lines(unsent)} not sent"
    )
    return Interrupted(message, hint="the sent lines are on the queue: resend only the lines not sent")


def _take_batch(ready: deque[int], messages: Sequence[Message]) -> list[int]:
    group = [ready.popleft()]
    size = messages[group[0]].size
    while ready and len(group) < MAX_ENTRIES and size + messages[ready[0]].size <= MAX_MESSAGE_BYTES:
        size += messages[ready[0]].size
        group.append(ready.popleft())
    return group


def _backoff(attempt: int) -> float:
    """Seconds before retry number `attempt`: exponential from 50 ms, capped at 2 s, with jitter."""
    return float(min(2.0, 0.05 * 2 ** (attempt - 1)) * (0.5 + random.random()))
