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

if TYPE_CHECKING:
    from mlpipe.local.mapping_runner import MappingRunner, MappingStats, _Mapping

log = logging.getLogger("mlpipe.local")

# An idle poller checks its queue this often. Not a long poll: moto serialises receives of a queue,
# and a long poll cannot be interrupted, so stopping pollers (on every reset) would take seconds.
IDLE_POLL_S = 0.2


class MappingPoller(threading.Thread):
    """Lambda's SQS poller for one mapping: receive a batch, invoke, delete what succeeded."""

    def __init__(self, runner: MappingRunner, mapping: _Mapping, stats: MappingStats, number: int) -> None:
        super().__init__(name=f"mlpipe-poller-{mapping.uuid[:8]}-{number}", daemon=True)
        self.runner = runner
        self.mapping = mapping
        self.stats = stats
        self._stop_event = threading.Event()
        self._timeout_s = 0.0
        self.sqs = runner.ctx.client("sqs", mapping.region)
        self.logs = runner.ctx.client("logs", mapping.region)
        self.queue_url = ""

    def stop(self) -> None:
        self._stop_event.set()

    def busy_timeout(self) -> float:
        return self._timeout_s

    def run(self) -> None:
        try:
            self.queue_url = self._queue_url()
            while not self._stop_event.is_set():
                messages = self._receive()
                if messages and not self._stop_event.is_set():
                    self._process(messages)
                elif messages:
                    self._release(messages)
        except Exception as exc:  # queue deleted, server stopping...: the scanner restarts us if needed
            self.stats.count(errors=1)
            self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.debug("poller %s stopped: %s", self.mapping.uuid, exc)

    def _queue_url(self) -> str:
        _, _, _, _, account, name = self.mapping.queue_arn.split(":", 5)
        return str(self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])

    def _receive(self) -> list[dict[str, Any]]:
        wanted = self.mapping.batch_size
        messages: list[dict[str, Any]] = []
        window_end = time.monotonic() + self.mapping.window_s
        while len(messages) < wanted and not self._stop_event.is_set():
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, wanted - len(messages)),
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = reply.get("Messages", [])
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

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            with contextlib.suppress(Exception):  # best effort: it comes back after its visibility anyway
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )

    def _process(self, messages: list[dict[str, Any]]) -> None:
        from mlpipe.local.mapping_runner import function_version  # the mapping runner owns the function lookup

        found = function_version(self.mapping)
        if found is None:
            return  # function deleted under the mapping: messages come back after their visibility
        version, code = found
        self._timeout_s = float(version.timeout_s)
        event = sqs_event(messages, self.mapping.queue_arn, self.mapping.region)
        outcome = invoke(self.runner, version, code, event)
        self.stats.count(invocations=1)
        by_id = {m["MessageId"]: m for m in messages}
        if outcome.error is not None:
            failed = set(by_id)  # an error retries the whole batch
        elif not self.mapping.report_item_failures:
            failed = set()
        else:
            failed = batch_item_failures(outcome.result, set(by_id))
        self._delete_messages([m for mid, m in by_id.items() if mid not in failed])
        self.stats.count(failed=len(failed))

    def _delete_messages(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            reply = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            self.stats.count(processed=len(reply.get("Successful", [])))
            undeleted = reply.get("Failed", [])
            if undeleted:  # e.g. a receipt handle expired: SQS will deliver those messages again
                self.stats.count(errors=len(undeleted))
                self.stats.last_error = f"DeleteMessageBatch: {undeleted[0].get('Code')}: {undeleted[0].get('Message')}"


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
