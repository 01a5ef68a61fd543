"""Deliver many messages with SendMessageBatch: 10 entries and <= 1 MiB per call, a few calls in
flight, per-entry failures retried with backoff, and whatever still fails reported, never dropped.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.aws.errors import error_code, translate
from mlpipe.ops.rows import MAX_MESSAGE_BYTES, Message
from mlpipe.reporter import Reporter

MAX_ENTRIES = 10
# Whole-call errors worth another try; botocore has already retried them a little.
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
    """What happened to each message, by its index in the input list."""

    message_ids: dict[int, str] = field(default_factory=dict)
    failed: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (code, message)
    requests: int = 0
    retried_entries: int = 0


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
    def __init__(
        self,
        clients: Clients,
        queue_url: str,
        attempts: int = 6,
        workers: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clients = clients
        self.queue_url = queue_url
        self.attempts = attempts
        self.workers = workers
        self.sleep = sleep
        self._lock = threading.Lock()

    def send(self, messages: Sequence[Message], reporter: Reporter, label: str = "send") -> Delivery:
        delivery = Delivery()
        groups = batches(messages)
        done = 0
        reporter.progress(label, 0, len(messages))
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mlpipe-send") as pool:
            pending: set[Future[int]] = set()
            queued = iter(groups)
            # Keep a bounded number of calls queued, so an interrupt does not leave thousands behind.
            for group in queued:
                pending.add(pool.submit(self._deliver, messages, group, delivery))
                if len(pending) >= 4 * self.workers:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    done += sum(f.result() for f in finished)
                    reporter.progress(label, done, len(messages))
            for future in pending:
                done += future.result()
        reporter.progress(label, done, len(messages))
        return delivery

    def _deliver(self, messages: Sequence[Message], group: list[int], delivery: Delivery) -> int:
        """Send one batch until every entry succeeded or failed for good; returns how many it settled."""
        import botocore.exceptions

        sqs = self.clients.client("sqs")
        todo = list(group)
        last_error: dict[int, tuple[str, str]] = {}
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
                with self._lock:
                    delivery.retried_entries += len(todo)
            entries = [{"Id": str(i), "MessageBody": messages[i].body} for i in todo]
            with self._lock:
                delivery.requests += 1
            try:
                answer: dict[str, Any] = sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except botocore.exceptions.ClientError as exc:
                code = error_code(exc) or ""
                if code not in RETRYABLE_CALL_ERRORS:
                    raise translate(exc, self.clients.target) from exc
                last_error = {i: (code, str(exc)) for i in todo}
                continue
            retry = []
            with self._lock:
                for ok in answer.get("Successful", []):
                    delivery.message_ids[int(ok["Id"])] = ok["MessageId"]
                for bad in answer.get("Failed", []):
                    index = int(bad["Id"])
                    reason = (str(bad.get("Code", "")), str(bad.get("Message", "")))
                    if bad.get("SenderFault"):
                        delivery.failed[index] = reason  # our request is wrong: retrying won't help
                    else:
                        retry.append(index)
                        last_error[index] = reason
            todo = retry
            if not todo:
                break
        with self._lock:
            for index in todo:
                delivery.failed[index] = last_error.get(index, ("Unknown", "no answer"))
        return len(group)
