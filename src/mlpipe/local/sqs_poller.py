"""Lambda's SQS poller for one event source mapping: receive a batch, invoke, delete what succeeded.

Split from the mapping runner (which starts and stops pollers); this is the part that talks to the queue
and builds the event exactly as Lambda does.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from mlpipe.local.lambda_invoke import invoke
from mlpipe.local.lambda_pool import FunctionVersion
from mlpipe.local.poller_io import AccessDenied, RoleQueue

if TYPE_CHECKING:
    from mlpipe.local.mapping_runner import MappingRunner, MappingStats, _Mapping

log = logging.getLogger("mlpipe.local")

# An idle poller checks its queue this often. Not a long poll: moto serialises receives of a queue,
# and a long poll cannot be interrupted, so stopping pollers (on every reset) would take seconds.
IDLE_POLL_S = 0.2
# A poller whose role may not receive tries again this often (AWS backs off too).
DENIED_RETRY_S = 1.0
# `local status` shows the last error whole: an AccessDenied names the principal, action and ARN.
LAST_ERROR_CHARS = 400


class MappingPoller(threading.Thread):
    """Lambda's SQS poller for one mapping: receive a batch, invoke, delete what succeeded."""

    def __init__(self, runner: MappingRunner, mapping: _Mapping, stats: MappingStats, number: int) -> None:
        super().__init__(name=f"mlpipe-poller-{mapping.uuid[:8]}-{number}", daemon=True)
        self.runner = runner
        self.mapping = mapping
        self.stats = stats
        self._stop_event = threading.Event()
        self._timeout_s = 0.0
        self._logs_refused = False  # whether this poller's last invocation lost its log lines
        # The queue as the Lambda service reaches it: in-process, as the function's execution role.
        self.queue = RoleQueue(runner.ctx, mapping.queue_arn)

    def stop(self) -> None:
        self._stop_event.set()

    def busy_timeout(self) -> float:
        return self._timeout_s

    def run(self) -> None:
        from mlpipe.local.mapping_runner import function_version  # the mapping runner owns the function lookup

        try:
            while not self._stop_event.is_set():
                found = function_version(self.mapping)
                if found is None:  # function deleted under the mapping: nothing polls its queue
                    self._stop_event.wait(IDLE_POLL_S)
                    continue
                try:
                    messages = self._receive(found[0])
                except AccessDenied as exc:  # the role may not poll: AWS keeps retrying, the queue keeps its messages
                    self._failed(str(exc))
                    self._stop_event.wait(DENIED_RETRY_S)
                    continue
                if messages and not self._stop_event.is_set():
                    self._process(found, messages)
                elif messages:
                    self._release(found[0], messages)
        except Exception as exc:  # queue deleted, server stopping...: the scanner restarts us if needed
            self._failed(f"{type(exc).__name__}: {exc}")
            log.debug("poller %s stopped: %s", self.mapping.uuid, exc)

    def _failed(self, reason: str, errors: int = 1) -> None:
        self.stats.count(errors=errors)
        self.stats.last_error = reason[:LAST_ERROR_CHARS]

    def _logs_written(self, function: str, refused: str) -> None:
        """A refused log write loses the invocation's lines only, as on AWS: counted, shown as the
        mapping's last error, and in the server log (`mlpipe local logs`) when it starts happening."""
        if refused:
            self.stats.count(logs_dropped=1)
            self.stats.last_error = f"log lines lost: {refused}"[:LAST_ERROR_CHARS]
        if bool(refused) != self._logs_refused:
            self._logs_refused = bool(refused)
            if refused:
                log.warning("function %s: its log lines are lost: %s", function, refused)
            else:
                log.info("function %s: its log lines are written again", function)

    def _receive(self, version: FunctionVersion) -> list[dict[str, Any]]:
        wanted = self.mapping.batch_size
        messages: list[dict[str, Any]] = []
        window_end = time.monotonic() + self.mapping.window_s
        while len(messages) < wanted and not self._stop_event.is_set():
            try:
                got = self.queue.receive(version.role, version.name, min(10, wanted - len(messages)))
            except Exception:  # e.g. AccessDenied after a policy change: give back what the window gathered
                if messages:
                    self._release(version, messages)
                raise
            messages += got
            left = window_end - time.monotonic()
            if not messages:
                self._stop_event.wait(IDLE_POLL_S)
                break
            if left <= 0 and len(got) < 10:
                break
            if not got:  # a batch is open and the window still running: wait for more, without spinning
                self._stop_event.wait(min(0.1, left))
        return messages

    def _release(self, version: FunctionVersion, messages: list[dict[str, Any]]) -> None:
        with contextlib.suppress(Exception):  # best effort: they come back after their visibility anyway
            self.queue.release(version.role, version.name, [m["ReceiptHandle"] for m in messages])

    def _process(self, found: tuple[FunctionVersion, bytes], messages: list[dict[str, Any]]) -> None:
        version, code = found
        self._timeout_s = float(version.timeout_s)
        event = sqs_event(messages, self.mapping.queue_arn, self.mapping.region)
        outcome = invoke(self.runner, version, code, event)
        self.stats.count(invocations=1)
        self._logs_written(version.name, outcome.logs_refused)
        by_id = {m["MessageId"]: m for m in messages}
        if outcome.error is not None:
            failed = set(by_id)  # an error retries the whole batch
        elif not self.mapping.report_item_failures:
            failed = set()
        else:
            failed = batch_item_failures(outcome.result, set(by_id))
        self._delete_messages(version, [m for mid, m in by_id.items() if mid not in failed])
        self.stats.count(failed=len(failed))

    def _delete_messages(self, version: FunctionVersion, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        try:
            deleted, undeleted = self.queue.delete(version.role, version.name, [m["ReceiptHandle"] for m in messages])
        except AccessDenied as exc:  # they come back after their visibility timeout, as on AWS
            self._failed(str(exc), errors=len(messages))
            return
        self.stats.count(processed=deleted)
        if undeleted:  # e.g. a receipt handle expired: SQS will deliver those messages again
            self._failed(
                f"DeleteMessageBatch: {undeleted[0].get('Code')}: {undeleted[0].get('Message')}", len(undeleted)
            )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS poller gives the function (same keys and casing as AWS)."""
    records = []
    for m in messages:
        attributes = dict(m.get("Attributes", {}))
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m.get("Body", ""),
                "attributes": attributes,
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": value.get("StringListValues", []),
                        "binaryListValues": value.get("BinaryListValues", []),
                        "dataType": value.get("DataType"),
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m.get("Body", "").encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def batch_item_failures(result: Any, message_ids: set[str]) -> set[str]:
    """Which messages to keep, per Lambda's ReportBatchItemFailures rules."""
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failed = set()
    for item in result["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)  # an invalid identifier fails the whole batch, as in AWS
        failed.add(identifier)
    return failed
