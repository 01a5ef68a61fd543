"""Lambda writes a function's logs as its execution role, as AWS does: a role that may not create the
group, create the stream or put the events runs its invocations (messages deleted) but its lines are
lost, and the mapping says why (`mlpipe local status`'s last error, `logs_dropped`)."""

from __future__ import annotations

import json
from typing import Any

from local_helpers import client, create_function, handler_zip, log_lines, logs_policy, queue_depth, wait_for

from mlpipe.local.ext.mapping_runner import KEY
from mlpipe.local.mapping_runner import MappingRunner

ECHO = """
def handler(event, context):
    for record in event["Records"]:
        print("got", record["body"])
    return {}
"""
CONSUME = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")


def _mapped(endpoint_url: str, name: str, logs: bool) -> tuple[str, str]:
    """(queue url, mapping uuid) of a queue mapped (batch of 1) to `<name>-fn`, whose role may consume
    it and, with `logs`, has its log group and the permission to write it (as `mlpipe deploy` does)."""
    sqs = client(endpoint_url, "sqs")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    consume = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": CONSUME, "Resource": arn}]}
    )
    create_function(endpoint_url, f"{name}-fn", {}, 3, handler_zip(ECHO), consume, logs=logs)
    mapping = client(endpoint_url, "lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=f"{name}-fn", BatchSize=1
    )
    return url, str(mapping["UUID"])


def _mapping(server: Any, uuid: str) -> dict[str, Any]:
    runner: MappingRunner = server.ctx.state[KEY]
    return next((m for m in runner.status()["mappings"] if m["uuid"] == uuid), {})


def _processed(endpoint_url: str, server: Any, url: str, uuid: str, body: str, total: int) -> dict[str, Any]:
    """Send `body`, wait until the mapping has processed (run and deleted) `total` messages."""
    client(endpoint_url, "sqs").send_message(QueueUrl=url, MessageBody=body)
    wait_for(lambda: _mapping(server, uuid).get("processed") == total, 15, f"{total} message(s) processed")
    return _mapping(server, uuid)


def _group_arn(endpoint_url: str, group: str) -> str:
    account = client(endpoint_url, "sts").get_caller_identity()["Account"]
    return f"arn:aws:logs:us-east-1:{account}:log-group:{group}"


def test_a_role_without_logs_permissions_runs_but_its_lines_are_lost(endpoint_url: str, embedded_server: Any) -> None:
    url, uuid = _mapped(endpoint_url, "mute", logs=False)
    group = "/aws/lambda/mute-fn"

    mapping = _processed(endpoint_url, embedded_server, url, uuid, "first", 1)
    assert queue_depth(client(endpoint_url, "sqs"), url) == 0  # the invocation succeeded: deleted
    assert mapping["invocations"] == 1 and mapping["errors"] == 0 and mapping["logs_dropped"] == 1
    # No group (Lambda may not create it), so no lines; the mapping names the refused call.
    assert log_lines(endpoint_url, group) == []
    assert (
        "log lines lost: AccessDenied: User: arn:aws:sts::" in mapping["last_error"]
        and ":assumed-role/mute-fn-role/mute-fn is not authorized to perform: logs:CreateLogGroup on resource: "
        f"{_group_arn(endpoint_url, group)}:*"
        in mapping["last_error"]
    )

    # The group exists (as deploy creates it), the role still may not write: CreateLogStream refused.
    client(endpoint_url, "logs").create_log_group(logGroupName=group)
    mapping = _processed(endpoint_url, embedded_server, url, uuid, "second", 2)
    assert mapping["logs_dropped"] == 2 and log_lines(endpoint_url, group) == []
    assert f"logs:CreateLogStream on resource: {_group_arn(endpoint_url, group)}:log-stream:" in mapping["last_error"]
    assert client(endpoint_url, "logs").describe_log_streams(logGroupName=group)["logStreams"] == []

    # mlpipe's Lambda role grants (CreateLogStream + PutLogEvents in the group): the next lines appear.
    client(endpoint_url, "iam").put_role_policy(
        RoleName="mute-fn-role", PolicyName="logs", PolicyDocument=logs_policy(_group_arn(endpoint_url, group))
    )
    mapping = _processed(endpoint_url, embedded_server, url, uuid, "third", 3)
    assert mapping["logs_dropped"] == 2
    assert [line for line in log_lines(endpoint_url, group) if line.startswith("got")] == ["got third"]


def test_a_role_that_may_create_the_stream_but_not_put_events_leaves_it_empty(
    endpoint_url: str, embedded_server: Any
) -> None:
    url, uuid = _mapped(endpoint_url, "streamonly", logs=False)
    group = "/aws/lambda/streamonly-fn"
    client(endpoint_url, "logs").create_log_group(logGroupName=group)
    stream_only = {
        "Effect": "Allow",
        "Action": "logs:CreateLogStream",
        "Resource": f"{_group_arn(endpoint_url, group)}:*",
    }
    client(endpoint_url, "iam").put_role_policy(
        RoleName="streamonly-fn-role",
        PolicyName="logs",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [stream_only]}),
    )

    mapping = _processed(endpoint_url, embedded_server, url, uuid, "lost", 1)
    streams = client(endpoint_url, "logs").describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1 and log_lines(endpoint_url, group) == []  # created, then nothing put
    stream_arn = f"{_group_arn(endpoint_url, group)}:log-stream:{streams[0]['logStreamName']}"
    assert f"logs:PutLogEvents on resource: {stream_arn} because" in mapping["last_error"]
    assert mapping["logs_dropped"] == 1 and mapping["errors"] == 0


def test_a_function_set_up_as_deploy_does_keeps_its_lines(endpoint_url: str, embedded_server: Any) -> None:
    url, uuid = _mapped(endpoint_url, "heard", logs=True)
    mapping = _processed(endpoint_url, embedded_server, url, uuid, "hello", 1)
    lines = log_lines(endpoint_url, "/aws/lambda/heard-fn")
    assert [line for line in lines if line.startswith("got")] == ["got hello"]
    assert lines[0].startswith("START RequestId: ") and lines[-1].startswith("REPORT RequestId: ")
    assert mapping["logs_dropped"] == 0 and mapping["last_error"] == ""
