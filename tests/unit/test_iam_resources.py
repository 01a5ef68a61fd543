"""Each operation mlpipe (and its handler, build and pipeline) calls maps to the action, resource ARN
and request context the Service Authorization Reference gives."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.local.iam.resources import Check, checks_for

A = "123456789012"
R = "us-east-1"
Q = f"http://127.0.0.1:4599/{A}/app-dev-trigger"


class Facts:
    def role_path(self, name: str) -> str:
        return "/service-role/" if name == "pathed" else "/"

    def role_boundary(self, name: str) -> str | None:
        return f"arn:aws:iam::{A}:policy/boundary" if name == "bounded" else None

    def mapping_function_arn(self, uuid: str) -> str | None:
        return f"arn:aws:lambda:{R}:{A}:function:app-dev-predict" if uuid == "u-1" else None

    def lambda_tags(self, arn: str) -> dict[str, str]:
        return {"mlpipe:app": "app"} if arn.endswith((":event-source-mapping:u-1", ":function:app-dev-predict")) else {}

    def dead_letter_sources(self, dlq_arn: str) -> list[str]:
        return [f"arn:aws:sqs:{R}:{A}:app-dev-trigger"] if dlq_arn.endswith(":app-dev-dlq") else []


def run(service: str, operation: str, **params: Any) -> list[Check] | None:
    return checks_for(service, operation, params, R, A, Facts())


def pairs(checks: list[Check] | None) -> list[tuple[str, str]]:
    assert checks is not None
    return [(c.action, c.resource) for c in checks]


FN = f"arn:aws:lambda:{R}:{A}:function:app-dev-predict"
ROLE = f"arn:aws:iam::{A}:role/app-dev-lambda"
DLQ, TRIGGER, OTHER = (f"arn:aws:sqs:{R}:{A}:{q}" for q in ("app-dev-dlq", "app-dev-trigger", "other-dev-trigger"))
REDRIVE = ("sqs:StartMessageMoveTask", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
REDRIVE_SOURCE = [(action, DLQ) for action in REDRIVE]
REDRIVE_SOURCE_OTHER = [(action, OTHER) for action in REDRIVE]
SIMPLE: list[tuple[str, str, dict[str, Any], list[tuple[str, str]]]] = [
    ("sqs", "SendMessage", {"QueueUrl": Q}, [("sqs:SendMessage", f"arn:aws:sqs:{R}:{A}:app-dev-trigger")]),
    ("sqs", "SendMessageBatch", {"QueueUrl": Q}, [("sqs:SendMessage", f"arn:aws:sqs:{R}:{A}:app-dev-trigger")]),
    ("sqs", "DeleteMessageBatch", {"QueueUrl": Q}, [("sqs:DeleteMessage", f"arn:aws:sqs:{R}:{A}:app-dev-trigger")]),
    ("sqs", "GetQueueUrl", {"QueueName": "app-dev-dlq"}, [("sqs:GetQueueUrl", f"arn:aws:sqs:{R}:{A}:app-dev-dlq")]),
    ("sqs", "ListQueues", {}, [("sqs:ListQueues", "*")]),
    ("sqs", "ListMessageMoveTasks", {"SourceArn": DLQ}, [("sqs:ListMessageMoveTasks", DLQ)]),
    # A redrive: the DLQ's four actions, then sqs:SendMessage where the messages go (SQS Developer Guide).
    (
        "sqs",
        "StartMessageMoveTask",
        {"SourceArn": DLQ, "DestinationArn": OTHER},
        [*REDRIVE_SOURCE, ("sqs:SendMessage", OTHER)],
    ),
    ("sqs", "StartMessageMoveTask", {"SourceArn": DLQ}, [*REDRIVE_SOURCE, ("sqs:SendMessage", TRIGGER)]),
    (
        "sqs",
        "StartMessageMoveTask",
        {"SourceArn": OTHER},
        REDRIVE_SOURCE_OTHER,
    ),  # no source queue: AWS refuses the call
    (
        "sqs",
        "CreateQueue",
        {"QueueName": "q", "tags": {"mlpipe:app": "app"}},
        [("sqs:CreateQueue", f"arn:aws:sqs:{R}:{A}:q"), ("sqs:TagQueue", f"arn:aws:sqs:{R}:{A}:q")],
    ),
    ("lambda", "Invoke", {"FunctionName": "app-dev-predict"}, [("lambda:InvokeFunction", FN)]),
    ("lambda", "GetFunction", {"FunctionName": FN + ":$LATEST"}, [("lambda:GetFunction", FN)]),
    ("lambda", "ListEventSourceMappings", {"FunctionName": "x"}, [("lambda:ListEventSourceMappings", "*")]),
    (
        "lambda",
        "CreateFunction",
        {"FunctionName": "app-dev-predict", "Role": ROLE, "Tags": {"a": "b"}},
        [("lambda:CreateFunction", FN), ("lambda:TagResource", FN), ("iam:PassRole", ROLE)],
    ),
    (
        "lambda",
        "DeleteEventSourceMapping",
        {"UUID": "u-1"},
        [("lambda:DeleteEventSourceMapping", f"arn:aws:lambda:{R}:{A}:event-source-mapping:u-1")],
    ),
    ("iam", "GetRole", {"RoleName": "pathed"}, [("iam:GetRole", f"arn:aws:iam::{A}:role/service-role/pathed")]),
    ("iam", "CreateUser", {"UserName": "mallory"}, [("iam:CreateUser", f"arn:aws:iam::{A}:user/mallory")]),
    (
        "iam",
        "CreateRole",
        {"RoleName": "r", "Path": "/x/", "Tags": [{"Key": "k", "Value": "v"}]},
        [("iam:CreateRole", f"arn:aws:iam::{A}:role/x/r"), ("iam:TagRole", f"arn:aws:iam::{A}:role/x/r")],
    ),
    ("sts", "GetCallerIdentity", {}, []),
    ("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "models/"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
    ("s3", "HeadObject", {"Bucket": "b", "Key": "models/m.json"}, [("s3:GetObject", "arn:aws:s3:::b/models/m.json")]),
    ("s3", "GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"}, [("s3:GetObjectVersion", "arn:aws:s3:::b/k")]),
    (
        "s3",
        "DeleteObjects",
        {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "1"}]}},
        [("s3:DeleteObject", "arn:aws:s3:::b/a"), ("s3:DeleteObjectVersion", "arn:aws:s3:::b/b")],
    ),
    ("s3", "PutBucketEncryption", {"Bucket": "b"}, [("s3:PutEncryptionConfiguration", "arn:aws:s3:::b")]),
    ("s3", "PutPublicAccessBlock", {"Bucket": "b"}, [("s3:PutBucketPublicAccessBlock", "arn:aws:s3:::b")]),
    ("s3", "ListBuckets", {}, [("s3:ListAllMyBuckets", "*")]),
    (
        "s3",
        "CopyObject",
        {"Bucket": "b", "Key": "k", "CopySource": "src/x?versionId=1"},
        [("s3:CopyObject", "arn:aws:s3:::b/k"), ("s3:GetObject", "arn:aws:s3:::src/x")],
    ),
    (
        "sagemaker-runtime",
        "InvokeEndpoint",
        {"EndpointName": "App-Dev"},
        [("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:{R}:{A}:endpoint/app-dev")],
    ),
    (
        "sagemaker",
        "CreateModel",
        {"ModelName": "App-1", "ExecutionRoleArn": ROLE},
        [("sagemaker:CreateModel", f"arn:aws:sagemaker:{R}:{A}:model/app-1"), ("iam:PassRole", ROLE)],
    ),
    (
        "sagemaker",
        "CreateEndpoint",
        {"EndpointName": "E", "EndpointConfigName": "C"},
        [
            ("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{R}:{A}:endpoint/e"),
            ("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{R}:{A}:endpoint-config/c"),
        ],
    ),
    (
        "sagemaker",
        "DescribeEndpointConfig",
        {"EndpointConfigName": "C"},
        [("sagemaker:DescribeEndpointConfig", f"arn:aws:sagemaker:{R}:{A}:endpoint-config/c")],
    ),
    ("sagemaker", "ListModels", {}, [("sagemaker:ListModels", "*")]),
    (
        "logs",
        "PutLogEvents",
        {"logGroupName": "/aws/lambda/f", "logStreamName": "s"},
        [("logs:PutLogEvents", f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/f:log-stream:s")],
    ),
    (
        "logs",
        "FilterLogEvents",
        {"logGroupName": "/aws/lambda/f"},
        [("logs:FilterLogEvents", f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/f:*")],
    ),
    ("logs", "DescribeLogGroups", {}, [("logs:DescribeLogGroups", f"arn:aws:logs:{R}:{A}:log-group:*")]),
    (
        "cloudwatch",
        "DescribeAlarms",
        {"AlarmNames": ["a"]},
        [("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{R}:{A}:alarm:a")],
    ),
    (
        "codebuild",
        "BatchGetBuilds",
        {"ids": ["proj:1234"]},
        [("codebuild:BatchGetBuilds", f"arn:aws:codebuild:{R}:{A}:project/proj")],
    ),
    (
        "codebuild",
        "CreateProject",
        {"name": "p", "serviceRole": ROLE},
        [("codebuild:CreateProject", f"arn:aws:codebuild:{R}:{A}:project/p"), ("iam:PassRole", ROLE)],
    ),
    (
        "codepipeline",
        "CreatePipeline",
        {"pipeline": {"name": "p", "roleArn": ROLE}},
        [("codepipeline:CreatePipeline", f"arn:aws:codepipeline:{R}:{A}:p"), ("iam:PassRole", ROLE)],
    ),
    (
        "codepipeline",
        "GetPipelineExecution",
        {"pipelineName": "p", "pipelineExecutionId": "x"},
        [("codepipeline:GetPipelineExecution", f"arn:aws:codepipeline:{R}:{A}:p")],
    ),
    (
        "codecommit",
        "GetFolder",
        {"repositoryName": "repo", "folderPath": "/"},
        [("codecommit:GetFolder", f"arn:aws:codecommit:{R}:{A}:repo")],
    ),
    (
        "events",
        "PutTargets",
        {"Rule": "r", "Targets": [{"Id": "1", "Arn": "x", "RoleArn": ROLE}]},
        [("events:PutTargets", f"arn:aws:events:{R}:{A}:rule/r"), ("iam:PassRole", ROLE)],
    ),
    ("sns", "Publish", {"TopicArn": f"arn:aws:sns:{R}:{A}:t"}, [("sns:Publish", f"arn:aws:sns:{R}:{A}:t")]),
    ("resourcegroupstaggingapi", "GetResources", {}, [("tag:GetResources", "*")]),
]


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"), SIMPLE, ids=[f"{s}.{o}" for s, o, _, _ in SIMPLE]
)
def test_action_and_resource(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert pairs(run(service, operation, **params)) == expected


def test_pass_role_carries_the_service() -> None:
    checks = run("lambda", "CreateFunction", FunctionName="f", Role=ROLE)
    assert checks is not None
    assert checks[-1].context == {"iam:PassedToService": "lambda.amazonaws.com"}


def test_role_writes_carry_the_current_boundary() -> None:
    [check] = run("iam", "PutRolePolicy", RoleName="bounded", PolicyName="p", PolicyDocument="{}") or []
    assert check.context["iam:PermissionsBoundary"] == f"arn:aws:iam::{A}:policy/boundary"
    [unbounded] = run("iam", "PutRolePolicy", RoleName="free", PolicyName="p", PolicyDocument="{}") or []
    assert "iam:PermissionsBoundary" not in unbounded.context
    [create, _tag] = (
        run("iam", "CreateRole", RoleName="r", PermissionsBoundary="arn:b", Tags=[{"Key": "k", "Value": "v"}]) or []
    )
    assert create.context["iam:PermissionsBoundary"] == "arn:b"
    assert create.context["aws:TagKeys"] == ["k"]


def test_mapping_checks_carry_the_function_arn() -> None:
    [get] = run("lambda", "GetEventSourceMapping", UUID="u-1") or []
    assert get.context == {"lambda:FunctionArn": FN, "aws:ResourceTag/mlpipe:app": "app"}
    [create] = run("lambda", "CreateEventSourceMapping", FunctionName="app-dev-predict", EventSourceArn="q") or []
    assert (create.resource, create.context) == ("*", {"lambda:FunctionArn": FN})


def test_lambda_checks_carry_the_existing_resource_tags_and_the_request_tags() -> None:
    esm = f"arn:aws:lambda:{R}:{A}:event-source-mapping:u-1"
    [tag] = run("lambda", "TagResource", Resource=esm, Tags={"mlpipe:app": "other"}) or []
    # the tagging actions have no lambda:FunctionArn key; the mapping's own tags are aws:ResourceTag
    assert tag.context == {
        "aws:RequestTag/mlpipe:app": "other",
        "aws:TagKeys": ["mlpipe:app"],
        "aws:ResourceTag/mlpipe:app": "app",
    }
    [untag] = run("lambda", "UntagResource", Resource=esm, TagKeys=["mlpipe:app"]) or []
    assert untag.context == {"aws:TagKeys": ["mlpipe:app"], "aws:ResourceTag/mlpipe:app": "app"}
    [invoke] = run("lambda", "Invoke", FunctionName="app-dev-predict") or []
    assert (invoke.resource, invoke.context) == (FN, {"aws:ResourceTag/mlpipe:app": "app"})
    [fresh] = run("lambda", "GetEventSourceMapping", UUID="u-2") or []
    assert fresh.context == {}  # no such mapping: neither tags nor a function
    _create, tag_on_create = run("lambda", "CreateEventSourceMapping", FunctionName="f", Tags={"k": "v"}) or []
    assert tag_on_create.context == {"aws:RequestTag/k": "v", "aws:TagKeys": ["k"]}


def test_put_metric_data_carries_the_namespace() -> None:
    [check] = run("cloudwatch", "PutMetricData", Namespace="/aws/sagemaker/Endpoints", MetricData=[]) or []
    assert (check.resource, check.context) == ("*", {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"})


def test_s3_checks_carry_the_resource_account() -> None:
    [check] = run("s3", "GetObject", Bucket="b", Key="k") or []
    assert check.context["s3:ResourceAccount"] == A


def test_unknown_operations_are_not_modelled() -> None:
    assert run("ec2", "RunInstances") is None
    assert run("sts", "GetFederationToken") is None
