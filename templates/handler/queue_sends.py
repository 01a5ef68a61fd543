"""The queue side of the handler: poison messages to the dead-letter queue with their reason, and
predictions to the optional results queue. Standard library and boto3 only (it runs in Lambda).
"""

import json

from endpoint_client import client, group_items, log
from payload_rules import body_correlation_id

EXCERPT_CHARS = 200


def dead_letter(poison, dlq_url):
    """Send poison messages to the DLQ with their reason; returns ids that could not be moved."""
    failed = []
    for record, reason in poison:
        log(
            "poison",
            message_id=record.get("messageId", ""),
            correlation_id=body_correlation_id(record.get("body")),
            reason=reason,
            excerpt=(record.get("body") or "")[:EXCERPT_CHARS],
        )
    if poison and not dlq_url:
        log("error", reason="MLPIPE_DLQ_URL is not set: poison messages left to the queue's redrive")
        return [record.get("messageId", "") for record, _ in poison]
    entries = []
    for number, (record, reason) in enumerate(poison):
        attributes = {
            "mlpipe-reason": {"DataType": "String", "StringValue": reason[:1000]},
            "mlpipe-source-message-id": {"DataType": "String", "StringValue": record.get("messageId") or "-"},
        }
        correlation_id = body_correlation_id(record.get("body"))
        if correlation_id:
            attributes["mlpipe-correlation-id"] = {"DataType": "String", "StringValue": correlation_id}
        entries.append(
            {
                "Id": str(number),
                "MessageBody": record.get("body") or "(empty)",
                "MessageAttributes": attributes,
                "_message_id": record.get("messageId", ""),
            }
        )
    for batch in _sqs_batches(entries):
        failed += _send_batch(dlq_url, batch, "dead-letter")
    return failed


def send_results(items, results_url):
    """Send each message's predictions to the results queue; returns ids that were not sent."""
    if not results_url:
        return set()
    entries = [
        {
            "Id": str(number),
            "MessageBody": json.dumps(
                {
                    "message_id": item["id"],
                    "correlation_id": item["cid"],
                    "predictions": item["predictions"],
                    **({"classes": item["classes"]} if "classes" in item else {}),
                }
            ),
            "_message_id": item["id"],
        }
        for number, item in enumerate(items)
    ]
    failed = set()
    for batch in _sqs_batches(entries):
        failed.update(_send_batch(results_url, batch, "results"))
    return failed


def _sqs_batches(entries, max_entries=10, max_bytes=1024 * 1024 - 16 * 1024):
    # Attributes are counted generously at 1 KiB an entry.
    return group_items(entries, lambda entry: len(entry["MessageBody"].encode()) + 1024, max_bytes, max_entries)


def _send_batch(queue_url, batch, purpose):
    """SendMessageBatch; returns the source message ids of the entries that failed."""
    by_id = {entry["Id"]: entry.pop("_message_id") for entry in batch}
    try:
        reply = client("sqs").send_message_batch(QueueUrl=queue_url, Entries=batch)
    except Exception as exc:
        log("error", reason=f"sending to the {purpose} queue failed: {type(exc).__name__}: {exc}"[:500])
        return list(by_id.values())
    failed = [by_id[f["Id"]] for f in reply.get("Failed", [])]
    if failed:
        log("error", reason=f"{len(failed)} message(s) not accepted by the {purpose} queue")
    return failed
