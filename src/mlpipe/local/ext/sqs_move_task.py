"""SQS message move tasks (DLQ redrive), which moto lacks: StartMessageMoveTask,
ListMessageMoveTasks, CancelMessageMoveTask.

A task moves the messages a dead-letter queue holds when it starts to DestinationArn (or to the
DLQ's one source queue), at MaxNumberOfMessagesPerSecond, keeping bodies and message attributes,
from a background thread that talks to this very server like any SQS client. As on AWS, a queue
has at most one active task, and a message is deleted from the DLQ only once the destination
accepted it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.registry import AwsApiError, Context, on_reset, on_shutdown, override

STATE_KEY = "sqs_move_tasks"
MAX_RATE = 500
PEEK_VISIBILITY_S = 30


@dataclass
class MoveTask:
    handle: str
    source_arn: str
    source_url: str
    destination_url: str
    destination_arn: str | None  # as requested (None: back to the source queue)
    rate: int | None
    to_move: int
    started_ms: int
    moved: int = 0
    status: str = "RUNNING"
    failure_reason: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        return out


class MoveTasks:
    """Every task of this server, most recent first per source queue."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_source: dict[str, list[MoveTask]] = {}
        self.threads: list[threading.Thread] = []

    def stop_all(self) -> None:
        with self.lock:
            tasks = [t for ts in self.by_source.values() for t in ts]
            threads, self.threads = self.threads, []
            self.by_source.clear()
        for task in tasks:
            task.cancel.set()
        for thread in threads:
            thread.join(timeout=2)


def _tasks(ctx: Context) -> MoveTasks:
    tasks: MoveTasks = ctx.state.setdefault(STATE_KEY, MoveTasks())
    return tasks


def _queue_name(arn: str, param: str) -> tuple[str, str, str]:
    """(region, account, name) of a queue ARN."""
    parts = str(arn).split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":
        raise AwsApiError(
            "InvalidParameterValue", f"Value {arn} for parameter {param} is invalid. Reason: not a queue ARN"
        )
    return parts[3], parts[4], parts[5]


def _queue_url(ctx: Context, arn: str, param: str) -> str:
    import botocore.exceptions

    region, account, name = _queue_name(arn, param)
    try:
        url: str = ctx.client("sqs", region).get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    except botocore.exceptions.ClientError:
        raise AwsApiError(
            "ResourceNotFoundException", f"The resource that you specified for the {param} parameter does not exist."
        ) from None
    return url


@override("sqs", "StartMessageMoveTask")
def start_message_move_task(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    source_arn = str(params.get("SourceArn", ""))
    region = _queue_name(source_arn, "SourceArn")[0]
    sqs = ctx.client("sqs", region)
    source_url = _queue_url(ctx, source_arn, "SourceArn")
    rate = params.get("MaxNumberOfMessagesPerSecond")
    if rate is not None and not 1 <= int(rate) <= MAX_RATE:
        raise AwsApiError(
            "InvalidParameterValue",
            f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
            f"Reason: must be between 1 and {MAX_RATE}.",
        )
    sources = sqs.list_dead_letter_source_queues(QueueUrl=source_url).get("queueUrls", [])
    if not sources:
        raise AwsApiError("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
    destination_arn = params.get("DestinationArn")
    if destination_arn:
        destination_url = _queue_url(ctx, str(destination_arn), "DestinationArn")
    elif len(sources) == 1:
        destination_url = sources[0]
    else:
        raise AwsApiError(
            "UnsupportedOperation",
            "the embedded AWS does not record each message's original queue: give DestinationArn when a "
            "dead-letter queue has several source queues",
        )
    depth = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["ApproximateNumberOfMessages"])
    registry = _tasks(ctx)
    with registry.lock:
        history = registry.by_source.setdefault(source_arn, [])
        if any(t.status in ("RUNNING", "CANCELLING") for t in history):
            raise AwsApiError(
                "InvalidParameterValue",
                "There is already a task running. Only one active task is allowed for a source queue arn "
                "at a given time.",
            )
        handle = base64.b64encode(json.dumps({"taskId": uuid.uuid4().hex, "sourceArn": source_arn}).encode()).decode()
        task = MoveTask(
            handle=handle,
            source_arn=source_arn,
            source_url=source_url,
            destination_url=destination_url,
            destination_arn=str(destination_arn) if destination_arn else None,
            rate=int(rate) if rate is not None else None,
            to_move=int(depth["Attributes"]["ApproximateNumberOfMessages"]),
            started_ms=int(time.time() * 1000),
        )
        history.insert(0, task)
        thread = threading.Thread(target=_run, args=(sqs, task), name="mlpipe-sqs-move", daemon=True)
        registry.threads.append(thread)
    thread.start()
    return {"TaskHandle": handle}


@override("sqs", "ListMessageMoveTasks")
def list_message_move_tasks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    source_arn = str(params.get("SourceArn", ""))
    _queue_url(ctx, source_arn, "SourceArn")
    limit = int(params.get("MaxResults") or 1)
    if not 1 <= limit <= 10:
        raise AwsApiError(
            "InvalidParameterValue", f"Value {limit} for parameter MaxResults is invalid. Reason: 1 to 10."
        )
    registry = _tasks(ctx)
    with registry.lock:
        return {"Results": [t.describe() for t in registry.by_source.get(source_arn, [])[:limit]]}


@override("sqs", "CancelMessageMoveTask")
def cancel_message_move_task(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    handle = str(params.get("TaskHandle", ""))
    registry = _tasks(ctx)
    with registry.lock:
        task = next((t for ts in registry.by_source.values() for t in ts if t.handle == handle), None)
        if task is None:
            raise AwsApiError("ResourceNotFoundException", "Task does not exist.")
        if task.status != "RUNNING":
            raise AwsApiError("InvalidParameterValue", f"Task is {task.status}: only a running task can be cancelled.")
        task.status = "CANCELLING"
        task.cancel.set()
        return {"ApproximateNumberOfMessagesMoved": task.moved}


def _run(sqs: Any, task: MoveTask) -> None:
    try:
        _move(sqs, task)
    except Exception as exc:  # the task fails, the server carries on
        task.failure_reason = f"{type(exc).__name__}: {exc}"
        task.status = "FAILED"
        return
    task.status = "CANCELLED" if task.cancel.is_set() else "COMPLETED"


def _move(sqs: Any, task: MoveTask) -> None:
    started = time.monotonic()
    empty = 0
    while task.moved < task.to_move and not task.cancel.is_set():
        want = min(10, task.to_move - task.moved, task.rate or 10)
        messages = sqs.receive_message(
            QueueUrl=task.source_url,
            MaxNumberOfMessages=want,
            VisibilityTimeout=PEEK_VISIBILITY_S,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            empty += 1
            if empty >= 5:  # the rest was consumed or expired meanwhile
                return
            task.cancel.wait(0.2)
            continue
        empty = 0
        entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)]
        for entry, message in zip(entries, messages, strict=True):
            attributes = _attributes(message)
            if attributes:
                entry["MessageAttributes"] = attributes
        answer = sqs.send_message_batch(QueueUrl=task.destination_url, Entries=entries)
        moved = [messages[int(ok["Id"])] for ok in answer.get("Successful", [])]
        if moved:
            sqs.delete_message_batch(
                QueueUrl=task.source_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(moved)],
            )
            task.moved += len(moved)
        if task.rate is not None:  # the rate is a ceiling: no faster than `rate` messages a second
            ahead = task.moved / task.rate - (time.monotonic() - started)
            if ahead > 0:
                task.cancel.wait(ahead)
        failed = [messages[int(bad["Id"])] for bad in answer.get("Failed", [])]
        if failed:  # visible again at once: the next round retries them
            sqs.change_message_visibility_batch(
                QueueUrl=task.source_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(failed)
                ],
            )


def _attributes(message: dict[str, Any]) -> dict[str, Any]:
    """Message attributes as SendMessage takes them (the receive shape has extra, empty members)."""
    out = {}
    for name, value in message.get("MessageAttributes", {}).items():
        kept = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue") and v is not None}
        out[name] = kept
    return out


@on_reset
def _reset(ctx: Context) -> None:
    _tasks(ctx).stop_all()


@on_shutdown
def _shutdown(ctx: Context) -> None:
    _tasks(ctx).stop_all()
