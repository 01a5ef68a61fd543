"""Lambda polls and deletes as the function's execution role, as AWS does: a role that loses its SQS
permissions after the mapping exists gets the mapping's error, and the queue keeps its messages."""

from __future__ import annotations

import json
from typing import Any

from local_helpers import client, create_function, handler_zip, log_lines, queue_depth, wait_for

from mlpipe.local.ext.mapping_runner import KEY
from mlpipe.local.mapping_runner import MappingRunner

# Prints how many times SQS has delivered the message: a refused receive must not count.
COUNTING = """
def handler(event, context):
    for record in event["Records"]:
        print("got", record["body"], "receive count", record["attributes"]["ApproximateReceiveCount"])
    return {}
"""
CONSUME = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")


def _policy(actions: tuple[str, ...], queue_arn: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": queue_arn}]}
    )


def _mapped(endpoint_url: str, name: str) -> tuple[str, str, str]:
    """(queue url, queue arn, mapping uuid) of a queue mapped to `<name>-fn`, whose role may consume it."""
    sqs = client(endpoint_url, "sqs")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_function(endpoint_url, f"{name}-fn", {}, 3, handler_zip(COUNTING), _policy(CONSUME, arn))
    uuid = client(endpoint_url, "lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=f"{name}-fn")
    return url, arn, str(uuid["UUID"])


def _mapping(server: Any, uuid: str) -> dict[str, Any]:
    runner: MappingRunner = server.ctx.state[KEY]
    return next((m for m in runner.status()["mappings"] if m["uuid"] == uuid), {})


def _counts(sqs: Any, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


def test_a_role_that_may_not_receive_leaves_every_message_in_the_queue(endpoint_url: str, embedded_server: Any) -> None:
    sqs, iam = client(endpoint_url, "sqs"), client(endpoint_url, "iam")
    url, arn, uuid = _mapped(endpoint_url, "refused")
    # CreateEventSourceMapping checked the role; it loses sqs:ReceiveMessage afterwards.
    without_receive = tuple(a for a in CONSUME if a != "sqs:ReceiveMessage")
    iam.put_role_policy(RoleName="refused-fn-role", PolicyName="handler", PolicyDocument=_policy(without_receive, arn))
    sqs.send_message(QueueUrl=url, MessageBody="kept")

    refused = wait_for(lambda: _mapping(embedded_server, uuid).get("errors"), 10, "the poller's refusal")
    mapping = _mapping(embedded_server, uuid)
    assert refused >= 1 and mapping["invocations"] == 0 and mapping["processed"] == 0
    assert "AccessDenied" in mapping["last_error"]
    assert (
        "assumed-role/refused-fn-role/refused-fn is not authorized to perform: sqs:ReceiveMessage"
        in (mapping["last_error"])
    )
    assert _counts(sqs, url) == (1, 0)  # still visible: nothing received it

    # The permission comes back: the message is delivered once, as its first receive, and deleted.
    iam.put_role_policy(RoleName="refused-fn-role", PolicyName="handler", PolicyDocument=_policy(CONSUME, arn))
    wait_for(lambda: _mapping(embedded_server, uuid).get("processed") == 1, 10, "the message processed")
    assert queue_depth(sqs, url) == 0
    lines = wait_for(
        lambda: [x for x in log_lines(endpoint_url, "/aws/lambda/refused-fn") if x.startswith("got")], 5, "logs"
    )
    assert lines == ["got kept receive count 1"]


def test_a_role_that_may_not_delete_gets_its_messages_again(endpoint_url: str, embedded_server: Any) -> None:
    sqs, iam = client(endpoint_url, "sqs"), client(endpoint_url, "iam")
    url, arn, uuid = _mapped(endpoint_url, "undeleted")
    without_delete = tuple(a for a in CONSUME if a != "sqs:DeleteMessage")
    iam.put_role_policy(RoleName="undeleted-fn-role", PolicyName="handler", PolicyDocument=_policy(without_delete, arn))
    sqs.send_message(QueueUrl=url, MessageBody="again")

    wait_for(lambda: _mapping(embedded_server, uuid).get("errors"), 10, "the refused delete")
    mapping = _mapping(embedded_server, uuid)
    assert mapping["invocations"] == 1 and mapping["processed"] == 0
    assert "not authorized to perform: sqs:DeleteMessage" in mapping["last_error"]
    assert _counts(sqs, url) == (0, 1)  # in flight until its visibility timeout, then delivered again
