"""A DLQ redrive (StartMessageMoveTask) needs, as the SQS Developer Guide documents, sqs:StartMessageMoveTask,
ReceiveMessage, DeleteMessage and GetQueueAttributes on the source (the DLQ) and sqs:SendMessage where
the messages go: DestinationArn, or without one the DLQ's source queue. Through the real server."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.exceptions
import pytest
from local_helpers import wait_for

from mlpipe.local.server import EmbeddedServer

ACCT, REGION = "123456789012", "us-east-1"
SOURCE_ACTIONS = ["sqs:StartMessageMoveTask", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCT}:{name}"


def _queues(sqs: Any) -> dict[str, str]:
    """a-dlq is a-trigger's DLQ, holding 3 messages; b-trigger is another app's queue."""
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("a-dlq", "b-trigger")}
    redrive = json.dumps({"deadLetterTargetArn": arn("a-dlq"), "maxReceiveCount": "1"})
    urls["a-trigger"] = sqs.create_queue(QueueName="a-trigger", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=urls["a-dlq"], MessageBody=f"m{i}")
    return urls


def _as_role(server: EmbeddedServer, clients: Any, name: str, grants: dict[str, list[str]]) -> Any:
    """An SQS client acting as a role allowed exactly `grants` (queue -> actions)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"}],
    }
    statements = [{"Effect": "Allow", "Action": actions, "Resource": arn(q)} for q, actions in grants.items()]
    iam = clients.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )
    keys = server.credentials.issue(f"arn:aws:sts::{ACCT}:assumed-role/{name}/ops", session=True)
    return boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=server.endpoint_url,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        aws_session_token=keys.session_token,
    )


def _refused(sqs: Any, **params: str) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sqs.start_message_move_task(**params)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    return str(refused.value.response["Error"]["Message"])


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_redrive_needs_send_message_where_the_messages_go(
    clients: Any, embedded_server: EmbeddedServer, endpoint_url: str
) -> None:
    operator = clients.client("sqs")
    urls = _queues(operator)
    own = _as_role(embedded_server, clients, "own-ops", {"a-dlq": SOURCE_ACTIONS, "a-trigger": ["sqs:SendMessage"]})

    message = _refused(own, SourceArn=arn("a-dlq"), DestinationArn=arn("b-trigger"))
    assert f"sqs:SendMessage on resource: {arn('b-trigger')}" in message, message
    assert _depth(operator, urls["a-dlq"]) == 3 and _depth(operator, urls["b-trigger"]) == 0
    assert operator.list_message_move_tasks(SourceArn=arn("a-dlq"))["Results"] == []

    # Without DestinationArn the messages go back to the DLQ's source queue: SendMessage there.
    no_send = _as_role(embedded_server, clients, "no-send", {"a-dlq": SOURCE_ACTIONS})
    assert f"sqs:SendMessage on resource: {arn('a-trigger')}" in _refused(no_send, SourceArn=arn("a-dlq"))
    for missing in SOURCE_ACTIONS[1:]:  # each of the source's actions is needed, not only the start
        role = _as_role(
            embedded_server,
            clients,
            "no-" + missing.split(":")[1].lower(),
            {"a-dlq": [a for a in SOURCE_ACTIONS if a != missing], "a-trigger": ["sqs:SendMessage"]},
        )
        assert f"{missing} on resource: {arn('a-dlq')}" in _refused(role, SourceArn=arn("a-dlq"))
    assert _depth(operator, urls["a-dlq"]) == 3

    own.start_message_move_task(SourceArn=arn("a-dlq"))
    wait_for(lambda: _depth(operator, urls["a-trigger"]) == 3 or None, 30, "the redrive to a-trigger")
    assert _depth(operator, urls["a-dlq"]) == 0 and _depth(operator, urls["b-trigger"]) == 0
