"""AWS Lambda behaviours the embedded AWS reproduces so code that only works on moto is caught."""

from __future__ import annotations

import json

import pytest
from local_helpers import client, create_function, handler_zip, wait_until_active

CODE = handler_zip("def handler(event, context):\n    return {}\n")


def role_arn(endpoint_url: str, name: str) -> str:
    trust = {"Version": "2012-10-17", "Statement": []}
    iam = client(endpoint_url, "iam")
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def queue_arn(endpoint_url: str, name: str, visibility: int) -> str:
    sqs = client(endpoint_url, "sqs")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def test_a_new_function_is_pending_and_cannot_be_updated_or_mapped_until_active(
    endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process and reads the period at each create/update: a period far longer
    # than a loaded machine takes for the calls in between, so the Pending checks cannot race it.
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "120")
    lam = client(endpoint_url, "lambda")
    created = lam.create_function(
        FunctionName="fresh",
        Runtime="python3.12",
        Role=role_arn(endpoint_url, "fresh-role"),
        Handler="handler.handler",
        Code={"ZipFile": CODE},
        Timeout=3,
    )
    assert created["State"] == "Pending"
    assert lam.get_function(FunctionName="fresh")["Configuration"]["State"] == "Pending"

    with pytest.raises(lam.exceptions.ResourceConflictException, match="state: Pending"):
        lam.update_function_code(FunctionName="fresh", ZipFile=CODE)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="state: Pending"):
        lam.create_event_source_mapping(EventSourceArn=queue_arn(endpoint_url, "fresh-q", 30), FunctionName="fresh")


def test_an_update_in_progress_refuses_another_until_done(endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.2")
    lam = client(endpoint_url, "lambda")
    for name in ("busy", "done"):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn(endpoint_url, f"{name}-role"),
            Handler="handler.handler",
            Code={"ZipFile": CODE},
            Timeout=3,
        )
        wait_until_active(lam, name)
    # "done": its update finishes (waited on), then the next one goes through.
    assert lam.update_function_code(FunctionName="done", ZipFile=CODE)["LastUpdateStatus"] == "InProgress"
    wait_until_active(lam, "done")
    assert lam.update_function_configuration(FunctionName="done", Timeout=5)["Timeout"] == 5
    # "busy": an update that outlasts the calls below, whatever the machine's load.
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "120")
    assert lam.update_function_code(FunctionName="busy", ZipFile=CODE)["LastUpdateStatus"] == "InProgress"
    with pytest.raises(lam.exceptions.ResourceConflictException, match="update is in progress"):
        lam.update_function_configuration(FunctionName="busy", Timeout=5)


def test_a_second_identical_mapping_is_rejected(endpoint_url: str) -> None:
    create_function(endpoint_url, "twice", {}, 3, CODE)
    lam, arn = client(endpoint_url, "lambda"), queue_arn(endpoint_url, "twice-q", 30)
    first = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="twice", BatchSize=10)

    with pytest.raises(lam.exceptions.ResourceConflictException, match=first["UUID"]):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="twice", BatchSize=5)

    assert len(lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]) == 1


def test_a_queue_visibility_shorter_than_the_function_timeout_is_rejected(endpoint_url: str) -> None:
    create_function(endpoint_url, "patient", {}, 60, CODE)
    lam = client(endpoint_url, "lambda")

    with pytest.raises(
        lam.exceptions.InvalidParameterValueException, match="30 seconds is less than Function timeout: 60"
    ):
        lam.create_event_source_mapping(EventSourceArn=queue_arn(endpoint_url, "short-q", 30), FunctionName="patient")

    mapping = lam.create_event_source_mapping(
        EventSourceArn=queue_arn(endpoint_url, "long-q", 360), FunctionName="patient"
    )
    assert mapping["UUID"]


@pytest.mark.parametrize(
    ("variables", "error", "fragment"),
    [
        (
            {"AWS_REGION": "eu-west-1"},
            "InvalidParameterValueException",
            "Reserved keys used in this request: AWS_REGION",
        ),
        ({"my-var": "x"}, "ValidationException", "Member must satisfy regular expression pattern: [a-zA-Z]"),
        ({"BIG": "x" * 4100}, "InvalidParameterValueException", "exceeded the 4KB limit. String measured:"),
    ],
)
def test_environment_variables_are_validated_like_lambda(
    endpoint_url: str, variables: dict[str, str], error: str, fragment: str
) -> None:
    lam = client(endpoint_url, "lambda")
    role = role_arn(endpoint_url, "env-role")
    create = {"Runtime": "python3.12", "Role": role, "Handler": "handler.handler", "Code": {"ZipFile": CODE}}

    with pytest.raises(lam.exceptions.ClientError) as caught:
        lam.create_function(FunctionName="env-bad", Environment={"Variables": variables}, **create)
    assert caught.value.response["Error"]["Code"] == error
    assert fragment in caught.value.response["Error"]["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not [f for f in lam.list_functions()["Functions"] if f["FunctionName"] == "env-bad"]

    lam.create_function(FunctionName="env-good", Environment={"Variables": {"LOG_LEVEL": "debug"}}, **create)
    wait_until_active(lam, "env-good")
    with pytest.raises(lam.exceptions.ClientError) as caught:
        lam.update_function_configuration(FunctionName="env-good", Environment={"Variables": variables})
    assert caught.value.response["Error"]["Code"] == error
    variables_now = lam.get_function_configuration(FunctionName="env-good")["Environment"]["Variables"]
    assert variables_now == {"LOG_LEVEL": "debug"}


@pytest.mark.parametrize("bucket", ["xn--shop", "shop-s3alias", "shop--ol-s3", "192.168.5.4", "sthree-shop", "a..b"])
def test_bucket_names_aws_reserves_are_rejected(endpoint_url: str, bucket: str) -> None:
    s3 = client(endpoint_url, "s3")
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.create_bucket(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == "InvalidBucketName"
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.create_bucket(Bucket="shop-models-ok")  # an ordinary name still works


@pytest.mark.parametrize("role", ["", "my-role", "arn:aws:iam::123456789012:user/someone"])
def test_a_role_that_is_not_a_role_arn_is_rejected_like_lambda(endpoint_url: str, role: str) -> None:
    """moto stores any string, and a function with Role "" would run as nobody knows whom."""
    lam = client(endpoint_url, "lambda")
    good = role_arn(endpoint_url, "role-check-role")
    create = {"Runtime": "python3.12", "Handler": "handler.handler", "Code": {"ZipFile": CODE}}
    with pytest.raises(lam.exceptions.ClientError) as caught:
        lam.create_function(FunctionName="role-bad", Role=role, **create)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert f"Value '{role}' at 'role' failed to satisfy constraint" in caught.value.response["Error"]["Message"]

    lam.create_function(FunctionName="role-good", Role=good, **create)
    wait_until_active(lam, "role-good")
    with pytest.raises(lam.exceptions.ClientError) as caught:
        lam.update_function_configuration(FunctionName="role-good", Role=role)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert lam.get_function_configuration(FunctionName="role-good")["Role"] == good
