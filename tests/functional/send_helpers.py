"""Queues (and a model record) as `mlpipe deploy` / `mlpipe train` would leave them, made with plain
boto3, so send/tail/redrive tests do not depend on the deploy code."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.local.control import admin_request
from mlpipe.names import Names
from mlpipe.ops import model_store


def deployment(
    clients: Clients, app: str = "shop", stage: str = "dev", feature_count: int | None = 3, max_receive: int = 3
) -> tuple[Config, Names]:
    config = Config.model_validate({"app": app, "stage": stage, "target": "local"})
    names = clients.names(app, stage)
    sqs = clients.client("sqs")
    dlq_url = sqs.create_queue(QueueName=names.dlq, tags=names.tags)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName=names.trigger_queue,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}),
            "VisibilityTimeout": "30",
        },
        tags=names.tags,
    )
    if feature_count is not None:
        s3 = clients.client("s3")
        s3.create_bucket(Bucket=names.model_bucket)
        model_store.write_current(clients, names, {"version": "v1", "feature_count": feature_count})
        _endpoint(clients, names)  # `send --wait` checks that something would answer
    return config, names


def _endpoint(clients: Clients, names: Names) -> None:
    """An endpoint record for the model (these tests write the function's log lines themselves)."""
    sm = clients.client("sagemaker")
    role = f"arn:aws:iam::{names.account}:role/{names.app}-{names.stage}-sagemaker-role"
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"
    model_name = f"{names.endpoint}-v1"
    sm.create_model(ModelName=model_name, ExecutionRoleArn=role, PrimaryContainer={"Image": image})
    variant = {"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1}
    sm.create_endpoint_config(
        EndpointConfigName=model_name, ProductionVariants=[variant | {"InstanceType": "ml.m5.large"}]
    )
    sm.create_endpoint(
        EndpointName=names.endpoint,
        EndpointConfigName=model_name,
        Tags=[{"Key": k, "Value": v} for k, v in names.tags.items()],
    )


def queue_url(clients: Clients, name: str) -> str:
    return str(clients.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def depth(clients: Clients, name: str) -> int:
    attrs = clients.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(clients, name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def drain(clients: Clients, name: str) -> list[dict[str, Any]]:
    """Receive (and delete) everything in a queue."""
    sqs = clients.client("sqs")
    url = queue_url(clients, name)
    out: list[dict[str, Any]] = []
    empty = 0
    while empty < 2:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            empty += 1
            continue
        out.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return out


def write_log_lines(clients: Clients, group: str, lines: list[dict[str, Any] | str], stream: str = "s1") -> None:
    """Log events in the handler's format (docs/CONTRACTS.md), stamped now."""
    logs = clients.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line if isinstance(line, str) else json.dumps(line)} for line in lines]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def set_fault(endpoint_url: str, spec: dict[str, Any]) -> dict[str, Any]:
    status, body = admin_request(endpoint_url, "POST", "/_mlpipe/faults", spec)
    assert status == 200, body
    return dict(body)


def clear_faults(endpoint_url: str) -> None:
    status, body = admin_request(endpoint_url, "DELETE", "/_mlpipe/faults")
    assert status == 200, body


def parse_lines(described: str) -> set[int]:
    """The line numbers in `describe_lines` text ('3, 7-9, 12')."""
    out: set[int] = set()
    for span in described.split(","):
        first, _, last = span.strip().partition("-")
        out.update(range(int(first), int(last or first) + 1))
    return out


def reported_lines(error_message: str) -> set[int]:
    """The input lines a DeliveryError names as not sent (its message ends '<source> line(s) ...')."""
    return parse_lines(error_message.rsplit(" line(s) ", 1)[1])


def receive_all(clients: Clients, name: str) -> list[dict[str, Any]]:
    """Receive everything in a queue once, 10 a call, hiding each for 10 minutes instead of deleting
    it: deletes cost moto a rebuild of the queue's message list each, too slow at 10,000 messages."""
    sqs = clients.client("sqs")
    url = queue_url(clients, name)
    out: list[dict[str, Any]] = []
    empty = 0
    while empty < 2:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        empty = 0 if batch else empty + 1
        out.extend(batch)
    return out


def dead_letter_like_sqs(clients: Clients, names: Names, stop: Any, error_line: bool = True) -> None:
    """Plays SQS redrive after maxReceiveCount failed receives, until `stop` is set: see `dead_letter_once`."""
    while not stop.is_set():
        dead_letter_once(clients, names, error_line, wait_s=1)


def dead_letter_once(clients: Clients, names: Names, error_line: bool = True, wait_s: int = 0) -> int:
    """Each trigger-queue message received now goes to the DLQ with its body and no reason attribute;
    with `error_line`, the handler's retry line first. Returns how many."""
    sqs = clients.client("sqs")
    trigger, dlq = queue_url(clients, names.trigger_queue), queue_url(clients, names.dlq)
    received = sqs.receive_message(QueueUrl=trigger, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
    for m in received.get("Messages", []):
        if error_line:
            line = {"event": "error", "message_id": m["MessageId"], "correlation_id": json.loads(m["Body"])["id"]}
            write_log_lines(clients, names.log_group, [{**line, "error": "ModelError: endpoint down"}])
        sqs.send_message(QueueUrl=dlq, MessageBody=m["Body"])
        sqs.delete_message(QueueUrl=trigger, ReceiptHandle=m["ReceiptHandle"])
    return len(received.get("Messages", []))
