"""Least-privilege IAM policies for the CI/CD roles: the CodeBuild role and the CodePipeline role.

Every write is scoped to ARNs derived from the app (and each pipeline stage). The build role runs
`mlpipe deploy`: it may create and update only resources named `{app}-{stage}-...`, may pass only
the Lambda roles that bootstrap created (iam:PassRole with iam:PassedToService), and has no
iam:CreateRole nor iam:PutRolePolicy: bootstrap creates the Lambda roles up front.

`"*"` appears only for actions AWS offers no resource-level permission for. Those are read/list
actions, with one exception AWS leaves no way around: lambda:CreateEventSourceMapping has no
resource type at all, so it is allowed on `"*"` only under a `lambda:FunctionArn` condition that
names this app's functions (see `UNSCOPED_WRITES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlpipe.config import Config
from mlpipe.names import Names

# Write actions that have no resource type in IAM, each with the condition key that scopes it.
UNSCOPED_WRITES = {"lambda:CreateEventSourceMapping": "lambda:FunctionArn"}

Policy = dict[str, Any]


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str] | str, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources if isinstance(resources, str) else sorted(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _policy(*statements: dict[str, Any]) -> Policy:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _arn(names: Names, service: str, resource: str) -> str:
    return f"arn:{names.partition}:{service}:{names.region}:{names.account}:{resource}"


def stage_names(config: Config, names: Names) -> list[Names]:
    """Names for every stage the pipeline deploys (same app, account and region)."""
    return [
        Names(app=names.app, stage=s, region=names.region, account=names.account, partition=names.partition)
        for s in config.pipeline.stages
    ]


def build_role_policy(config: Config, names: Names) -> Policy:
    """What `mlpipe deploy` needs for each pipeline stage, plus the build's own logs and input."""
    stages = stage_names(config, names)
    queues = [_arn(n, "sqs", f"{n.prefix}-*") for n in stages]
    functions = [n.function_arn for n in stages]
    lambda_roles = [n.role_arn(n.lambda_role) for n in stages]
    lambda_logs = [n.log_group_arn(n.log_group) for n in stages] + [n.log_group_arn(n.log_group) + ":*" for n in stages]
    build_logs = [names.log_group_arn(names.build_log_group(s)) + ":*" for s in config.pipeline.stages]
    alarms = [_arn(n, "cloudwatch", f"alarm:{n.prefix}-*") for n in stages]
    mappings = _arn(names, "lambda", "event-source-mapping:*")
    function_condition = {"ArnLike": {"lambda:FunctionArn": functions}}
    return _policy(
        _statement("BuildLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], build_logs),
        _statement(
            "PipelineArtifactsRead",
            ["s3:GetObject", "s3:GetObjectVersion"],
            [names.bucket_arn(names.artifact_bucket) + "/*"],
        ),
        _statement(
            "ModelMetadataRead",
            ["s3:GetObject"],
            [n.bucket_arn(n.model_bucket) + "/models/*" for n in stages],
        ),
        _statement(
            "Queues",
            [
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListQueueTags",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
            ],
            queues,
        ),
        _statement(
            "Function",
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:ListTags",
                "lambda:PutFunctionConcurrency",
                "lambda:TagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            functions,
        ),
        _statement(
            "EventSourceMappings",
            ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
            [mappings],
            **function_condition,
        ),
        _statement("CreateEventSourceMapping", ["lambda:CreateEventSourceMapping"], "*", **function_condition),
        # CreateEventSourceMapping with Tags also needs TagResource on the new mapping (whose ARN
        # holds only a UUID, so it cannot be narrowed to this app).
        _statement("TagEventSourceMappings", ["lambda:TagResource"], [mappings]),
        _statement(
            "PassOnlyTheLambdaRole",
            ["iam:PassRole"],
            lambda_roles,
            StringEquals={"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        _statement(
            "ReadTheLambdaRole",
            [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:ListRoleTags",
            ],
            lambda_roles,
        ),
        _statement(
            "FunctionLogGroup",
            ["logs:CreateLogGroup", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource"],
            lambda_logs,
        ),
        _statement(
            "Alarms",
            [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
            ],
            alarms,
        ),
        _statement("Endpoint", ["sagemaker:DescribeEndpoint"], [n.endpoint_arn for n in stages]),
        # No resource-level permission exists for these; all are read/list.
        _statement(
            "ReadOnlyLookups",
            ["lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "sqs:ListQueues", "sts:GetCallerIdentity"],
            "*",
        ),
    )


def pipeline_role_policy(config: Config, names: Names) -> Policy:
    """Read the source, keep artifacts in the artifact bucket, start and watch the stage builds."""
    bucket = names.bucket_arn(names.artifact_bucket)
    statements = [
        _statement("ArtifactBucket", ["s3:GetBucketLocation", "s3:GetBucketVersioning"], [bucket]),
        _statement("Artifacts", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [bucket + "/*"]),
        _statement(
            "StageBuilds",
            ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
            [names.build_project_arn(s) for s in config.pipeline.stages],
        ),
    ]
    pipeline = config.pipeline
    if pipeline.source == "codecommit":
        statements.append(
            _statement(
                "Source",
                [
                    "codecommit:CancelUploadArchive",
                    "codecommit:GetBranch",
                    "codecommit:GetCommit",
                    "codecommit:GetUploadArchiveStatus",
                    "codecommit:UploadArchive",
                ],
                [names.repository_arn()],
            )
        )
    else:
        assert pipeline.connection_arn is not None  # the config validator requires it
        service = pipeline.connection_arn.split(":")[2]  # codeconnections or codestar-connections
        statements.append(_statement("Source", [f"{service}:UseConnection"], [pipeline.connection_arn]))
    return _policy(*statements)
