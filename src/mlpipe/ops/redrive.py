"""`mlpipe redrive`: move the dead-letter queue's messages back to the trigger queue.

One SQS message move task (StartMessageMoveTask), as the console's "Start DLQ redrive" does; the
embedded AWS implements it in `mlpipe.local.ext.sqs_move_task`. SQS allows one active task per
queue, and so does mlpipe: a running task is reported, never doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.calls import call
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import AwsError, UsageError
from mlpipe.ops.queues import owned_queue
from mlpipe.reporter import Reporter
from mlpipe.waiting import Poll

MAX_RATE = 500  # SQS' ceiling for MaxNumberOfMessagesPerSecond
ACTIVE = ("RUNNING", "CANCELLING")
FINISHED = ("COMPLETED", "CANCELLED", "FAILED")


@dataclass(frozen=True)
class RedriveResult:
    source: str
    destination: str
    to_move: int
    moved: int
    status: str  # COMPLETED, RUNNING (with wait=False), CANCELLED, FAILED, or NOTHING (empty DLQ)
    task_handle: str | None = None
    failure_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def redrive(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    rate: int | None = None,
    wait: bool = True,
    timeout_s: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RedriveResult:
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise UsageError(f"--rate {rate}: must be between 1 and {MAX_RATE} messages per second")
    if timeout_s < 0:
        raise UsageError(f"--timeout {timeout_s:g}: must not be negative")
    names = clients.names(config.app, config.stage)
    dlq = owned_queue(clients, names, names.dlq)
    trigger = owned_queue(clients, names, names.trigger_queue)
    sqs = clients.client("sqs")
    _refuse_a_second_task(clients, dlq.name, dlq.arn)
    depth = int(
        call(clients, sqs.get_queue_attributes, QueueUrl=dlq.url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )
    if depth == 0:
        reporter.done(f"{dlq.name} is empty: nothing to redrive")
        return RedriveResult(dlq.name, trigger.name, 0, 0, "NOTHING")
    params: dict[str, Any] = {"SourceArn": dlq.arn, "DestinationArn": trigger.arn}
    if rate is not None:
        params["MaxNumberOfMessagesPerSecond"] = rate
    reporter.step(f"moving ~{depth} message(s) from {dlq.name} to {trigger.name}")
    handle = call(clients, sqs.start_message_move_task, **params)["TaskHandle"]
    if not wait:
        return RedriveResult(dlq.name, trigger.name, depth, 0, "RUNNING", handle)
    task = _wait(clients, dlq.arn, handle, reporter, timeout_s, sleep, clock)
    result = RedriveResult(
        dlq.name,
        trigger.name,
        int(task.get("ApproximateNumberOfMessagesToMove") or depth),
        int(task.get("ApproximateNumberOfMessagesMoved", 0)),
        str(task.get("Status")),
        handle,
        task.get("FailureReason"),
    )
    if result.status == "FAILED":
        raise AwsError(
            f"the move task failed after moving {result.moved} message(s): {result.failure_reason}",
            hint="the rest is still in the DLQ; fix the cause and run `mlpipe redrive` again",
        )
    return result


def _refuse_a_second_task(clients: Clients, dlq_name: str, dlq_arn: str) -> None:
    """SQS allows one active move task per queue: say so before asking for another."""
    running = [t for t in _tasks(clients, dlq_arn) if t.get("Status") in ACTIVE]
    if running:
        task = running[0]
        raise UsageError(
            f"a message move task is already running on {dlq_name} "
            f"({task.get('ApproximateNumberOfMessagesMoved', 0)} of "
            f"{task.get('ApproximateNumberOfMessagesToMove', '?')} moved)",
            hint="wait for it to finish (`mlpipe tail dlq` shows what is left), then run redrive again",
        )


def _tasks(clients: Clients, source_arn: str) -> list[dict[str, Any]]:
    sqs = clients.client("sqs")
    return list(call(clients, sqs.list_message_move_tasks, SourceArn=source_arn, MaxResults=10).get("Results", []))


def _wait(
    clients: Clients,
    source_arn: str,
    handle: str,
    reporter: Reporter,
    timeout_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, Any]:
    """Poll the task until it finishes; its handle is only listed while it runs, so after that the
    most recent task (the first listed) is ours: only one may be active per queue."""
    ours: dict[str, Any] = {}
    for _ in Poll(timeout_s, 0.2, backoff=1.5, max_interval_s=2.0, clock=clock, sleep=sleep):
        tasks = _tasks(clients, source_arn)
        ours = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        moved = int(ours.get("ApproximateNumberOfMessagesMoved", 0))
        total = ours.get("ApproximateNumberOfMessagesToMove")
        reporter.progress("redrive", moved, int(total) if total is not None else None)
        if ours.get("Status") in FINISHED:
            return ours
    return {**ours, "Status": ours.get("Status", "RUNNING")}
