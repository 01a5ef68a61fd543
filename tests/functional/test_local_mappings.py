"""the mapping runner: warm workers, code changes, timeouts, errors, batchItemFailures, log lines."""

from __future__ import annotations

import json
from typing import Any

from local_helpers import (
    client,
    create_function,
    drain,
    handler_zip,
    log_lines,
    queue_depth,
    wait_for,
    wait_until_active,
)

from mlpipe.local.control import admin_request

ECHO = """
import os

def handler(event, context):
    for record in event["Records"]:
        print("{version}", record["body"], record["attributes"]["ApproximateReceiveCount"],
              os.environ["GREETING"], os.environ["AWS_ENDPOINT_URL"], context.function_name)
    failed = [r["messageId"] for r in event["Records"] if "fail" in r["body"]]
    if any("raise" in r["body"] for r in event["Records"]):
        raise RuntimeError("boom")
    if any("sleep" in r["body"] for r in event["Records"]):
        import time
        time.sleep(5)
    return {{"batchItemFailures": [{{"itemIdentifier": m}} for m in failed]}}
"""


def echo(version: str) -> bytes:
    return handler_zip(ECHO.format(version=version))


def queues(endpoint_url: str, name: str, visibility: int = 2, max_receive: int = 1) -> tuple[str, str, str]:
    sqs = client(endpoint_url, "sqs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive})
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": redrive})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


def mapped_function(endpoint_url: str, name: str, code: bytes, report_failures: bool = True, timeout: int = 1):
    url, arn, dlq = queues(endpoint_url, name)
    create_function(endpoint_url, f"{name}-fn", {"GREETING": "hello"}, timeout, code)
    client(endpoint_url, "lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=f"{name}-fn",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"] if report_failures else [],
    )
    return url, dlq, f"/aws/lambda/{name}-fn"


def printed(endpoint_url: str, group: str, marker: str) -> list[str]:
    return [line for line in log_lines(endpoint_url, group) if line.startswith(marker)]


def _stamps(endpoint_url: str, group: str, marker: str) -> list[int]:
    """The timestamps (epoch ms) of the log events that start with `marker` (none before the group exists)."""
    logs = client(endpoint_url, "logs")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
    try:
        return [e["timestamp"] for page in pages for e in page["events"] if e["message"].startswith(marker)]
    except logs.exceptions.ResourceNotFoundException:
        return []


def test_code_change_is_picked_up_without_restarting_the_server(endpoint_url: str) -> None:
    url, _, group = mapped_function(endpoint_url, "swap", echo("v1"))
    sqs, lam = client(endpoint_url, "sqs"), client(endpoint_url, "lambda")
    sqs.send_message(QueueUrl=url, MessageBody="first")
    [line] = wait_for(lambda: printed(endpoint_url, group, "v1 "), 20, "v1's output")
    assert line == f"v1 first 1 hello {endpoint_url} swap-fn"

    lam.update_function_code(FunctionName="swap-fn", ZipFile=echo("v2"))
    wait_until_active(lam, "swap-fn")
    sqs.send_message(QueueUrl=url, MessageBody="second")

    [line] = wait_for(lambda: printed(endpoint_url, group, "v2 "), 20, "v2's output")
    assert line.startswith("v2 second 1 hello")
    assert len(printed(endpoint_url, group, "v1 ")) == 1


def test_batch_item_failures_are_left_to_redrive_and_the_rest_deleted(endpoint_url: str) -> None:
    url, dlq, group = mapped_function(endpoint_url, "partial", echo("p"))
    sqs = client(endpoint_url, "sqs")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(["ok-1", "fail-2", "ok-3"])]
    )

    dead = wait_for(lambda: drain(sqs, dlq, max_wait=1), 20, "the failed message in the DLQ")

    assert [m["Body"] for m in dead] == ["fail-2"]
    assert queue_depth(sqs, url) == 0
    assert sorted(line.split()[1] for line in printed(endpoint_url, group, "p ")) == ["fail-2", "ok-1", "ok-3"]


def test_without_report_batch_item_failures_a_returned_list_is_ignored(endpoint_url: str) -> None:
    url, dlq, group = mapped_function(endpoint_url, "nofail", echo("n"), report_failures=False)
    sqs = client(endpoint_url, "sqs")
    sqs.send_message(QueueUrl=url, MessageBody="fail-but-deleted")

    wait_for(lambda: printed(endpoint_url, group, "n "), 20, "the invocation")
    # Gone from the trigger queue (none visible or in flight) either way: deleted, or left for
    # redrive and moved to the DLQ on the next receive (visibility 2 s, maxReceiveCount 1). The DLQ's
    # own count then says which, with no quiet spell to wait out.
    wait_for(lambda: queue_depth(sqs, url) == 0, 5, "the message gone from the queue")
    assert queue_depth(sqs, dlq) == 0


def test_an_exception_leaves_the_whole_batch_for_redrive(endpoint_url: str) -> None:
    url, dlq, group = mapped_function(endpoint_url, "raising", echo("r"))
    sqs = client(endpoint_url, "sqs")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(["a", "raise", "c"])]
    )

    dead: list[dict[str, Any]] = []  # collected across drains: the three need not arrive together
    wait_for(lambda: dead.extend(drain(sqs, dlq, max_wait=1)) or len(dead) >= 3, 20, "three DLQ messages")

    assert sorted(m["Body"] for m in dead) == ["a", "c", "raise"]
    lines = log_lines(endpoint_url, group)
    error = json.loads(next(line for line in lines if line.startswith('{"errorType"')))
    assert error["errorType"] == "RuntimeError" and error["errorMessage"] == "boom"


def test_timeout_is_enforced_and_the_batch_retried(endpoint_url: str) -> None:
    url, dlq, group = mapped_function(endpoint_url, "slow", echo("s"), timeout=1)
    sqs = client(endpoint_url, "sqs")
    sqs.send_message(QueueUrl=url, MessageBody="sleep")

    [dead] = wait_for(lambda: drain(sqs, dlq, max_wait=1), 20, "the timed-out message in the DLQ")

    assert dead["Body"] == "sleep"
    # Killed at its 1 s timeout, not after the handler's 5 s sleep, by the log's own clock: Lambda
    # stamps START when the invocation starts and END when it ends.
    [end] = wait_for(lambda: _stamps(endpoint_url, group, "END RequestId: "), 10, "the invocation's END line")
    [start] = _stamps(endpoint_url, group, "START RequestId: ")
    assert 1000 <= end - start < 5000
    assert any("Task timed out after 1.00 seconds" in line for line in log_lines(endpoint_url, group))


def test_moto_does_not_consume_a_mapped_queue_itself(endpoint_url: str) -> None:
    url, arn, _ = queues(endpoint_url, "quiet", max_receive=5)
    create_function(endpoint_url, "quiet-fn", {"GREETING": "x"}, 1, echo("q"))
    lam, sqs = client(endpoint_url, "lambda"), client(endpoint_url, "sqs")
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="quiet-fn", BatchSize=1)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])

    def live_mappings() -> list[str]:
        code, body = admin_request(endpoint_url, "GET", "/_mlpipe/status")
        assert code == 200, body
        return [m["uuid"] for m in body["mappings"]]

    # The runner drops a mapping from its status in the same scan that stops its pollers.
    wait_for(lambda: mapping["UUID"] not in live_mappings(), 10, "the mapping runner to stop the mapping's pollers")
    sqs.send_message(QueueUrl=url, MessageBody="stays")

    # moto would have received it itself, within SendMessage (trying to run the function in Docker),
    # so our receive would be its second one and redrive would count a delivery that never happened.
    [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert message["Body"] == "stays"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"


def test_batching_window_collects_batches_larger_than_ten(endpoint_url: str) -> None:
    url, arn, _ = queues(endpoint_url, "window", visibility=5, max_receive=5)
    counting = handler_zip('def handler(event, context):\n    print("records", len(event["Records"]))\n    return {}\n')
    create_function(endpoint_url, "window-fn", {}, 3, counting)
    sqs, lam = client(endpoint_url, "sqs"), client(endpoint_url, "lambda")
    for start in range(0, 25, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(min(10, 25 - start))]
        )
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="window-fn", BatchSize=25, MaximumBatchingWindowInSeconds=1
    )

    wait_for(lambda: queue_depth(sqs, url) == 0, 20, "the queue to drain")

    sizes = [int(line.split()[1]) for line in printed(endpoint_url, "/aws/lambda/window-fn", "records ")]
    assert sum(sizes) == 25 and max(sizes) > 10
