"""`mlpipe redrive` and the embedded AWS's SQS message move tasks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from local_helpers import wait_for
from send_helpers import deployment, depth, drain, queue_url

from mlpipe.errors import UsageError
from mlpipe.ops.redrive import redrive
from mlpipe.reporter import ListReporter


def _fill_dlq(clients, names, count: int) -> None:  # type: ignore[no-untyped-def]
    sqs = clients.client("sqs")
    url = queue_url(clients, names.dlq)
    for i in range(count):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"payload": f"{i},0,0", "id": f"r-{i}"}),
            MessageAttributes={"mlpipe-reason": {"DataType": "String", "StringValue": f"reason {i}"}},
        )


def _task(sqs, source_arn: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    [task] = sqs.list_message_move_tasks(SourceArn=source_arn)["Results"]
    return dict(task)


def test_redrive_moves_everything_back_with_attributes(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    _fill_dlq(clients, names, 13)
    reporter = ListReporter()
    result = redrive(config, clients, reporter)
    assert (result.status, result.moved, result.to_move) == ("COMPLETED", 13, 13)
    assert depth(clients, names.dlq) == 0
    moved = drain(clients, names.trigger_queue)
    assert sorted(json.loads(m["Body"])["id"] for m in moved) == sorted(f"r-{i}" for i in range(13))
    reasons = {m["MessageAttributes"]["mlpipe-reason"]["StringValue"] for m in moved}
    assert reasons == {f"reason {i}" for i in range(13)}
    assert reporter.messages("progress")[-1] == "redrive 13/13"


def test_empty_dlq_starts_no_task(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    result = redrive(config, clients, ListReporter())
    assert (result.status, result.moved) == ("NOTHING", 0)
    dlq_arn = names.queue_arn(names.dlq)
    assert clients.client("sqs").list_message_move_tasks(SourceArn=dlq_arn)["Results"] == []


def test_rate_limits_the_move_and_a_running_task_is_refused(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    _fill_dlq(clients, names, 6)
    started = time.monotonic()
    first = redrive(config, clients, ListReporter(), rate=3, wait=False)
    assert first.status == "RUNNING" and first.task_handle
    with pytest.raises(UsageError, match="a message move task is already running on shop-dev-dlq"):
        redrive(config, clients, ListReporter())
    sqs = clients.client("sqs")
    with pytest.raises(sqs.exceptions.ClientError, match="already a task running"):
        sqs.start_message_move_task(SourceArn=names.queue_arn(names.dlq))
    dlq_arn = names.queue_arn(names.dlq)
    wait_for(lambda: _task(sqs, dlq_arn)["Status"] != "RUNNING", 30, "the move to end")
    # The server's rate limit runs on real time, so only real time shows it: a lower bound (a slow
    # machine cannot fail it). 6 messages at 3/s: the last batch leaves after ~2 s.
    assert time.monotonic() - started >= 1.5
    assert depth(clients, names.trigger_queue) == 6


def test_move_task_api_checks_and_cancel(clients) -> None:  # type: ignore[no-untyped-def]
    _, names = deployment(clients)
    sqs = clients.client("sqs")
    trigger_arn = names.queue_arn(names.trigger_queue)
    with pytest.raises(sqs.exceptions.ClientError, match="must be configured as a Dead Letter Queue"):
        sqs.start_message_move_task(SourceArn=trigger_arn)
    with pytest.raises(sqs.exceptions.ClientError, match="ResourceNotFoundException"):
        sqs.list_message_move_tasks(SourceArn=names.queue_arn("nope"))
    _fill_dlq(clients, names, 20)
    dlq_arn = names.queue_arn(names.dlq)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert (task["Status"], task["TaskHandle"], task["ApproximateNumberOfMessagesToMove"]) == ("RUNNING", handle, 20)
    assert "DestinationArn" not in task  # not given: back to the DLQ's source queue
    wait_for(lambda: _task(sqs, dlq_arn)["ApproximateNumberOfMessagesMoved"] >= 1, 30, "the first move", 0.05)
    sqs.cancel_message_move_task(TaskHandle=handle)
    task = wait_for(lambda: (t := _task(sqs, dlq_arn))["Status"] == "CANCELLED" and t, 5, "the cancellation")
    assert "TaskHandle" not in task
    moved = task["ApproximateNumberOfMessagesMoved"]
    assert 1 <= moved < 20
    assert depth(clients, names.trigger_queue) == moved and depth(clients, names.dlq) == 20 - moved
