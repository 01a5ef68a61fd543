"""Every actor the embedded AWS runs calls it as its own role, as on AWS: the Lambda handler as the
function's execution role, SageMaker as the model's execution role."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import pytest
from local_helpers import (
    TUTORIAL_PAYLOAD,
    client,
    create_endpoint,
    create_function,
    deploy_stack,
    handler_policy,
    json_events,
    log_lines,
    wait_for,
)


def test_a_narrowed_function_role_cannot_dead_letter_and_its_log_says_why(endpoint_url: str) -> None:
    stack = deploy_stack(endpoint_url, app="narrow")
    dlq_arn = stack.trigger_arn.replace("narrow-trigger", "narrow-dlq")
    # The same role without sqs:SendMessage on the DLQ (the endpoint and trigger queue still allowed).
    narrowed = json.loads(handler_policy(stack.trigger_arn, dlq_arn, stack.endpoint))
    narrowed["Statement"] = [s for s in narrowed["Statement"] if s["Action"] != ["sqs:SendMessage"]]
    iam = client(endpoint_url, "iam")
    iam.put_role_policy(RoleName=f"{stack.function}-role", PolicyName="handler", PolicyDocument=json.dumps(narrowed))

    stack.sqs().send_message(QueueUrl=stack.trigger_url, MessageBody=json.dumps({"payload": "1,2,3", "id": "bad-1"}))

    def refused() -> list[str]:
        return [line for line in log_lines(endpoint_url, stack.log_group) if "AccessDenied" in line]

    [line, *_] = wait_for(refused, 20, "the handler's refused SendMessageBatch in its log")
    assert "sending to the dead-letter queue failed" in line
    session = f"arn:aws:sts::123456789012:assumed-role/{stack.function}-role/{stack.function}"
    assert f"User: {session} is not authorized to perform: sqs:SendMessage on resource: {dlq_arn}" in line


WHO_AM_I = b"""
import boto3, json


def handler(event, context):
    arn = boto3.client("sts").get_caller_identity()["Arn"]
    try:
        boto3.client("s3").list_buckets()
        listed = "allowed"
    except Exception as exc:
        listed = exc.response["Error"]["Code"]
    print(json.dumps({"event": "whoami", "arn": arn, "list_buckets": listed}))
    return {"batchItemFailures": []}
"""


def test_the_handler_runs_as_its_role_not_as_the_operator(endpoint_url: str) -> None:
    sqs = client(endpoint_url, "sqs")
    url = sqs.create_queue(QueueName="who")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_function(endpoint_url, "who-fn", {}, 5, zipped(WHO_AM_I))
    client(endpoint_url, "lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="who-fn")
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    [seen] = wait_for(lambda: json_events(log_lines(endpoint_url, "/aws/lambda/who-fn"), "whoami"), 20, "whoami")
    assert seen == {
        "event": "whoami",
        "arn": "arn:aws:sts::123456789012:assumed-role/who-fn-role/who-fn",
        "list_buckets": "AccessDenied",
    }


def zipped(source: bytes) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("handler.py", source)
    return out.getvalue()


def test_sagemaker_reads_the_model_as_its_execution_role(endpoint_url: str) -> None:
    create_endpoint(endpoint_url, "guarded")
    iam = client(endpoint_url, "iam")
    allowed = iam.get_role_policy(RoleName="guarded-sm", PolicyName="read-model")["PolicyDocument"]
    iam.delete_role_policy(RoleName="guarded-sm", PolicyName="read-model")
    runtime = client(endpoint_url, "sagemaker-runtime")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="guarded", Body=TUTORIAL_PAYLOAD, ContentType="text/csv")
    error = caught.value.response["Error"]
    assert error["Code"] == "ModelError"
    assert "Failed to download model data from s3://guarded-models/models/v1/model.tar.gz" in error["Message"]
    assert 'role "arn:aws:iam::123456789012:role/guarded-sm" has "s3:GetObject" permission' in error["Message"]

    iam.put_role_policy(RoleName="guarded-sm", PolicyName="read-model", PolicyDocument=json.dumps(allowed))
    body = runtime.invoke_endpoint(EndpointName="guarded", Body=TUTORIAL_PAYLOAD, ContentType="text/csv")["Body"]
    assert float(body.read())


def test_assume_role_issues_keys_for_the_role_and_its_trust_policy_decides(endpoint_url: str) -> None:
    iam = client(endpoint_url, "iam")
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
        ]
    }
    arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]}
    iam.put_role_policy(RoleName="reader", PolicyName="p", PolicyDocument=json.dumps(reads))
    keys = client(endpoint_url, "sts").assume_role(RoleArn=arn, RoleSessionName="rehearsal")["Credentials"]
    session = {
        "aws_access_key_id": keys["AccessKeyId"],
        "aws_secret_access_key": keys["SecretAccessKey"],
        "aws_session_token": keys["SessionToken"],
    }
    as_role = boto3.Session(**session, region_name="us-east-1")
    who = as_role.client("sts", endpoint_url=endpoint_url).get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::123456789012:assumed-role/reader/rehearsal"
    as_role.client("sqs", endpoint_url=endpoint_url).list_queues()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        as_role.client("sqs", endpoint_url=endpoint_url).create_queue(QueueName="q")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    # The session may not assume a role whose trust policy names only a service.
    lambda_only = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    other = iam.create_role(RoleName="fn-only", AssumeRolePolicyDocument=json.dumps(lambda_only))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="reader",
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [*reads["Statement"], {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        as_role.client("sts", endpoint_url=endpoint_url).assume_role(RoleArn=other, RoleSessionName="xy")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert (
        "because no resource-based policy allows the sts:AssumeRole action" in caught.value.response["Error"]["Message"]
    )


def test_even_the_full_access_operator_needs_the_roles_trust_policy(endpoint_url: str) -> None:
    iam, sts = client(endpoint_url, "iam"), client(endpoint_url, "sts")
    service_only = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    arn = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(service_only))["Role"]["Arn"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sts.assume_role(RoleArn=arn, RoleSessionName="operator")
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        "User: arn:aws:iam::123456789012:user/mlpipe-operator is not authorized to perform: sts:AssumeRole on "
        f"resource: {arn} because no resource-based policy allows the sts:AssumeRole action"
    )
    account = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.update_assume_role_policy(RoleName="fn-role", PolicyDocument=json.dumps(account))
    assert sts.assume_role(RoleArn=arn, RoleSessionName="operator")["AssumedRoleUser"]["Arn"].endswith("/operator")


def test_a_mapping_needs_an_execution_role_that_may_consume_the_queue(endpoint_url: str) -> None:
    sqs, lam = client(endpoint_url, "sqs"), client(endpoint_url, "lambda")
    url = sqs.create_queue(QueueName="guarded-q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    only_invoke = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"}],
        }
    )
    create_function(endpoint_url, "guarded-fn", {}, 5, zipped(WHO_AM_I), policy=only_invoke)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="call ReceiveMessage on SQS"):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="guarded-fn")
    assert not lam.list_event_source_mappings(FunctionName="guarded-fn")["EventSourceMappings"]
