"""`mlpipe iam-policy`: the least-privilege IAM policy for the person (or CI user) running mlpipe.

One group of statements per command, every resource an ARN of this app and stage (names.py). `"*"`
only for the actions AWS gives no resource-level permission (`UNSCOPED_READS`: list/describe
calls), and for lambda:CreateEventSourceMapping under a `lambda:FunctionArn` condition, as in the
CodeBuild role's policy. Deploy's statements ARE the CodeBuild role's (`pipeline_policies`), for
this one stage, plus creating the function's role (which the pipeline leaves to bootstrap).

Tagging permissions come with every create: AWS checks xx:TagResource (or TagQueue, TagRole,
AddTags...) when a create call carries tags, and mlpipe tags everything it creates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mlpipe.config import Config
from mlpipe.errors import UsageError
from mlpipe.names import Names

COMMANDS = ("train", "deploy", "send", "tail", "status", "redrive", "destroy", "bootstrap-pipeline")
# What each command lists or describes where AWS has no resource-level permission (all reads).
# sts:GetCallerIdentity needs no permission; it is listed so the policy says what is called.
UNSCOPED_BY_COMMAND = {
    "train": ("sagemaker:ListEndpointConfigs", "sagemaker:ListModels", "sts:GetCallerIdentity"),
    "deploy": ("lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "sqs:ListQueues", "sts:GetCallerIdentity"),
    "send": ("sts:GetCallerIdentity",),
    "tail": ("sts:GetCallerIdentity",),
    "status": ("lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "sts:GetCallerIdentity"),
    "redrive": ("sts:GetCallerIdentity",),
    "destroy": (
        "lambda:ListEventSourceMappings",
        "logs:DescribeLogGroups",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "sts:GetCallerIdentity",
    ),
    "bootstrap-pipeline": ("logs:DescribeLogGroups", "sts:GetCallerIdentity"),
}
UNSCOPED_READS = frozenset(action for actions in UNSCOPED_BY_COMMAND.values() for action in actions)
# AWS's limit for a customer managed policy (characters, whitespace excluded).
MANAGED_POLICY_LIMIT = 6_144
# Statements of the CodeBuild role that only a build needs.
BUILD_ONLY_SIDS = ("BuildLogs", "PipelineArtifactsRead")

Statement = dict[str, Any]


@dataclass
class OperatorPolicy:
    app: str
    stage: str
    account: str
    region: str
    commands: tuple[str, ...]
    document: dict[str, Any]

    @property
    def size(self) -> int:
        """Characters IAM counts against its size limit (whitespace excluded)."""
        return len(json.dumps(self.document, separators=(",", ":")))

    def to_dict(self) -> dict[str, Any]:
        return self.document


def _statement(sid: str, actions: Iterable[str], resources: Sequence[str] | str, **condition: Any) -> Statement:
    out: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": resources if isinstance(resources, str) else sorted(set(resources)),
    }
    if condition:
        out["Condition"] = condition
    return out


def _pass_role(sid: str, role_arns: Sequence[str], service: str) -> Statement:
    return _statement(sid, ["iam:PassRole"], role_arns, StringEquals={"iam:PassedToService": service})


def _role_management(sid: str, role_arns: Sequence[str], delete: bool = False) -> Statement:
    actions = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"]
    actions += ["iam:ListRoleTags"]
    if delete:
        actions += ["iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"]
    else:
        actions += ["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole", "iam:UpdateAssumeRolePolicy"]
    return _statement(sid, actions, role_arns)


def _arn(names: Names, service: str, resource: str) -> str:
    return f"arn:{names.partition}:{service}:{names.region}:{names.account}:{resource}"


def _sagemaker_arns(names: Names) -> list[str]:
    """The endpoint, and the models and endpoint configs train creates (`{app}-{stage}-<version>`)."""
    prefix = names.prefix.lower()  # SageMaker ARNs are lowercase
    return [
        names.endpoint_arn,
        _arn(names, "sagemaker", f"endpoint-config/{prefix}-*"),
        _arn(names, "sagemaker", f"model/{prefix}-*"),
    ]


def train_statements(config: Config, names: Names) -> list[Statement]:
    bucket = names.bucket_arn(names.model_bucket)
    sagemaker_role = config.training.role_arn or names.role_arn(names.sagemaker_role)
    statements = [
        _statement(
            "TrainModelBucket",
            [
                "s3:CreateBucket",
                "s3:GetBucketTagging",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketTagging",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            [bucket],
        ),
        _statement("TrainModelObjects", ["s3:GetObject", "s3:PutObject"], [f"{bucket}/*"]),
        _statement(
            "TrainEndpoint",
            [
                "sagemaker:AddTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateModel",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:DeleteModel",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:UpdateEndpoint",
            ],
            _sagemaker_arns(names),
        ),
        _statement(
            "TrainRemoteJobs",
            ["sagemaker:AddTags", "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
            [_arn(names, "sagemaker", f"training-job/{names.prefix.lower()}-*")],
        ),
        _statement(
            "TrainJobLogs",
            ["logs:FilterLogEvents", "logs:GetLogEvents"],
            [_arn(names, "logs", "log-group:/aws/sagemaker/TrainingJobs:*")],
        ),
        _pass_role("TrainPassSageMakerRole", [sagemaker_role], "sagemaker.amazonaws.com"),
    ]
    if config.training.role_arn is None:
        statements.append(_role_management("TrainSageMakerRole", [sagemaker_role]))
    return statements


def deploy_statements(config: Config, names: Names) -> list[Statement]:
    """The CodeBuild role's statements for this stage (see pipeline_policies), plus the function's role."""
    from mlpipe.pipeline_policies import build_role_policy

    one_stage = config.model_copy(update={"pipeline": config.pipeline.model_copy(update={"stages": (names.stage,)})})
    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    statements = []
    for statement in build_role_policy(one_stage, scoped)["Statement"]:
        if statement["Sid"] in BUILD_ONLY_SIDS:
            continue
        statements.append({**statement, "Sid": "Deploy" + statement["Sid"]})
    statements.append(_role_management("DeployFunctionRole", [names.role_arn(names.lambda_role)]))
    return statements


def _peek_dead_letters(sid: str, names: Names) -> Statement:
    """Read the DLQ without consuming it: receive, then make what was read visible again."""
    actions = [
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ListQueueTags",
        "sqs:ReceiveMessage",
    ]
    return _statement(sid, actions, [names.queue_arn(names.dlq)])


def send_statements(config: Config, names: Names) -> list[Statement]:
    return [
        _statement(
            "SendToTrigger",
            ["sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:SendMessage"],
            [names.queue_arn(names.trigger_queue)],
        ),
        _statement("SendReadModel", ["s3:GetObject"], [names.bucket_arn(names.model_bucket) + "/models/*"]),
        _statement("SendWaitForResults", ["logs:FilterLogEvents"], [names.log_group_arn(names.log_group) + ":*"]),
        # `send --wait` peeks at the DLQ (and makes what it read visible again) for messages SQS moved there.
        _peek_dead_letters("SendWaitPeekDeadLetters", names),
    ]


def tail_statements(config: Config, names: Names) -> list[Statement]:
    group = names.log_group_arn(names.log_group)
    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    build_logs = [scoped.log_group_arn(scoped.build_log_group(s)) + ":*" for s in config.pipeline.stages]
    return [
        _statement("TailLogs", ["logs:FilterLogEvents", "logs:StartLiveTail"], [group, group + ":*"]),
        _peek_dead_letters("TailDeadLetters", names),
        _statement(
            "TailPipeline",
            [
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineExecution",
                "codepipeline:GetPipelineState",
                "codepipeline:ListActionExecutions",
                "codepipeline:ListPipelineExecutions",
            ],
            [scoped.pipeline_arn()],
        ),
        _statement(
            "TailBuilds",
            ["codebuild:BatchGetBuilds"],
            [scoped.build_project_arn(s) for s in config.pipeline.stages],
        ),
        _statement("TailBuildLogs", ["logs:GetLogEvents", "logs:FilterLogEvents"], build_logs),
    ]


def status_statements(config: Config, names: Names) -> list[Statement]:
    queues = [names.queue_arn(q) for q in (names.trigger_queue, names.dlq, names.results_queue)]
    group = names.log_group_arn(names.log_group)
    return [
        _statement("StatusQueues", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"], queues),
        _statement(
            "StatusFunctionRole",
            ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRoleTags"],
            [names.role_arn(names.lambda_role)],
        ),
        _statement("StatusFunction", ["lambda:GetFunction", "lambda:GetFunctionConfiguration"], [names.function_arn]),
        _statement("StatusLogGroup", ["logs:ListTagsForResource"], [group, group + ":*"]),
        _statement(
            "StatusAlarm",
            ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
            [_arn(names, "cloudwatch", f"alarm:{names.dlq_alarm}")],
        ),
        _statement("StatusEndpoint", ["sagemaker:DescribeEndpoint"], [names.endpoint_arn]),
        _statement("StatusModel", ["s3:GetObject"], [names.bucket_arn(names.model_bucket) + "/models/*"]),
        *_cicd_statements("StatusCiCd", _cicd(config, names)),
    ]


def redrive_statements(config: Config, names: Names) -> list[Statement]:
    dlq, trigger = names.queue_arn(names.dlq), names.queue_arn(names.trigger_queue)
    return [
        _statement(
            "RedriveFromDlq",
            [
                "sqs:CancelMessageMoveTask",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListMessageMoveTasks",
                "sqs:ListQueueTags",
                "sqs:ReceiveMessage",
                "sqs:StartMessageMoveTask",
            ],
            [dlq],
        ),
        _statement("RedriveToTrigger", ["sqs:GetQueueAttributes", "sqs:SendMessage"], [trigger]),
    ]


def destroy_statements(config: Config, names: Names) -> list[Statement]:
    group = names.log_group_arn(names.log_group)
    bucket = names.bucket_arn(names.model_bucket)
    mapping_condition = {"ArnLike": {"lambda:FunctionArn": [names.function_arn]}}
    queues = [names.queue_arn(q) for q in (names.trigger_queue, names.dlq, names.results_queue)]
    return [
        _statement("DestroyQueues", ["sqs:DeleteQueue", "sqs:GetQueueUrl", "sqs:ListQueueTags"], queues),
        _statement("DestroyFunction", ["lambda:DeleteFunction", "lambda:GetFunction"], [names.function_arn]),
        _statement(
            "DestroyMapping",
            ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping"],
            [_arn(names, "lambda", "event-source-mapping:*")],
            **mapping_condition,
        ),
        _statement("DestroyLogGroup", ["logs:DeleteLogGroup", "logs:ListTagsForResource"], [group, group + ":*"]),
        _statement(
            "DestroyAlarm",
            ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
            [_arn(names, "cloudwatch", f"alarm:{names.dlq_alarm}")],
        ),
        _role_management(
            "DestroyRoles", [names.role_arn(names.lambda_role), names.role_arn(names.sagemaker_role)], delete=True
        ),
        _statement(
            "DestroyEndpoint",
            [
                "sagemaker:DeleteEndpoint",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:DeleteModel",
                "sagemaker:DescribeEndpoint",
                "sagemaker:ListTags",
            ],
            _sagemaker_arns(names),
        ),
        _statement(
            "DestroyModelBucket",
            ["s3:DeleteBucket", "s3:GetBucketTagging", "s3:ListBucket", "s3:ListBucketVersions"],
            [bucket],
        ),
        _statement("DestroyModelObjects", ["s3:DeleteObject", "s3:DeleteObjectVersion"], [f"{bucket}/*"]),
        *_cicd_statements("DestroyCiCd", _cicd(config, names), delete=True),  # destroy --pipeline
    ]


@dataclass(frozen=True)
class _CiCd:
    """One kind of CI/CD resource: what reading, creating/updating and deleting it takes."""

    sid: str
    resources: tuple[str, ...]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    deletes: tuple[str, ...]


def _cicd(config: Config, names: Names) -> list[_CiCd]:
    """The app's CI/CD resources (bootstrap-pipeline creates them; status reads them; destroy --pipeline
    deletes them). The Lambda roles of the stages are created here too but deleted by each stage's destroy."""
    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    bucket = scoped.bucket_arn(scoped.artifact_bucket)
    build_logs = [scoped.log_group_arn(scoped.build_log_group(s)) for s in config.pipeline.stages]
    kinds = [
        _CiCd(
            "ArtifactBucket",
            (bucket,),
            (
                "s3:GetBucketTagging",
                "s3:GetBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetBucketPublicAccessBlock",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ),
            (
                "s3:CreateBucket",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ),
            ("s3:DeleteBucket", "s3:ListBucketVersions"),
        ),
        _CiCd("ArtifactObjects", (bucket + "/*",), (), (), ("s3:DeleteObject", "s3:DeleteObjectVersion")),
        _CiCd(
            "BuildLogGroups",
            (*build_logs, *(g + ":*" for g in build_logs)),
            ("logs:ListTagsForResource",),
            ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"),
            ("logs:DeleteLogGroup",),
        ),
        _CiCd(
            "CiCdRoles",
            (scoped.role_arn(scoped.build_role), scoped.role_arn(scoped.pipeline_role)),
            (
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:ListRoleTags",
            ),
            ("iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole", "iam:UpdateAssumeRolePolicy"),
            ("iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"),
        ),
        _CiCd(
            "BuildProjects",
            tuple(scoped.build_project_arn(s) for s in config.pipeline.stages),
            ("codebuild:BatchGetProjects",),
            ("codebuild:CreateProject", "codebuild:UpdateProject"),
            ("codebuild:DeleteProject",),
        ),
        _CiCd(
            "Pipeline",
            (scoped.pipeline_arn(),),
            (
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:ListPipelineExecutions",
                "codepipeline:ListTagsForResource",
            ),
            ("codepipeline:CreatePipeline", "codepipeline:TagResource", "codepipeline:UpdatePipeline"),
            ("codepipeline:DeletePipeline",),
        ),
    ]
    if config.pipeline.source == "codecommit":
        kinds.append(
            _CiCd(
                "Repository",
                (scoped.repository_arn(),),
                (
                    "codecommit:GetBranch",
                    "codecommit:GetFile",
                    "codecommit:GetRepository",
                    "codecommit:ListBranches",
                    "codecommit:ListTagsForResource",
                ),
                (
                    "codecommit:CreateCommit",
                    "codecommit:CreateRepository",
                    "codecommit:TagResource",
                    "codecommit:UpdateRepositoryDescription",
                ),
                ("codecommit:DeleteRepository",),
            )
        )
    return kinds


def _cicd_statements(prefix: str, kinds: list[_CiCd], *, write: bool = False, delete: bool = False) -> list[Statement]:
    out = []
    for kind in kinds:
        actions = [*kind.reads, *(kind.writes if write else ()), *(kind.deletes if delete else ())]
        if actions:
            out.append(_statement(prefix + kind.sid, actions, kind.resources))
    return out


def bootstrap_statements(config: Config, names: Names) -> list[Statement]:
    from mlpipe.pipeline_policies import stage_names

    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    lambda_roles = [n.role_arn(n.lambda_role) for n in stage_names(config, scoped)]
    build_role, pipeline_role = scoped.role_arn(scoped.build_role), scoped.role_arn(scoped.pipeline_role)
    return [
        *_cicd_statements("Bootstrap", _cicd(config, names), write=True),
        _role_management("BootstrapStageRoles", lambda_roles),
        _pass_role("BootstrapPassBuildRole", [build_role], "codebuild.amazonaws.com"),
        _pass_role("BootstrapPassPipelineRole", [pipeline_role], "codepipeline.amazonaws.com"),
    ]


BUILDERS = {
    "train": train_statements,
    "deploy": deploy_statements,
    "send": send_statements,
    "tail": tail_statements,
    "status": status_statements,
    "redrive": redrive_statements,
    "destroy": destroy_statements,
    "bootstrap-pipeline": bootstrap_statements,
}


def parse_commands(text: str | None) -> tuple[str, ...]:
    """'deploy,send' -> ('deploy', 'send'); None or 'all' -> every command."""
    if text is None or text.strip() == "all":
        return COMMANDS
    wanted = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [c for c in wanted if c not in BUILDERS]
    if unknown or not wanted:
        raise UsageError(
            f"--commands: {', '.join(unknown) or text!r} is not an mlpipe command with AWS permissions",
            hint=f"choose from {', '.join(COMMANDS)} (comma-separated), or all",
        )
    return wanted


def operator_policy(config: Config, names: Names, commands: Sequence[str] = COMMANDS) -> OperatorPolicy:
    statements: list[Statement] = []
    for command in commands:
        statements += BUILDERS[command](config, names)
        statements.append(_statement("ReadOnlyLookups", UNSCOPED_BY_COMMAND[command], "*"))
    document = {"Version": "2012-10-17", "Statement": _merged(statements)}
    return OperatorPolicy(names.app, names.stage, names.account, names.region, tuple(commands), document)


def _merged(statements: list[Statement]) -> list[Statement]:
    """One statement per (resources, condition): shorter, and Sids stay unique."""
    merged: dict[str, Statement] = {}
    for statement in statements:
        if statement["Resource"] == "*" and "Condition" not in statement:
            statement = {**statement, "Sid": "ReadOnlyLookups"}  # one statement for every unscoped read
        key = json.dumps([statement["Resource"], statement.get("Condition")], sort_keys=True)
        if key in merged:
            into = merged[key]
            into["Action"] = sorted(set(into["Action"]) | set(statement["Action"]))
            if statement["Sid"] not in into["Sid"]:
                into["Sid"] = f"{into['Sid']}And{statement['Sid']}"  # say every purpose it serves
        else:
            merged[key] = dict(statement)
    return list(merged.values())


def split_commands(config: Config, names: Names, limit: int = MANAGED_POLICY_LIMIT) -> list[tuple[str, ...]]:
    """Groups of commands whose policies each fit in one managed policy (for --commands)."""
    groups: list[tuple[str, ...]] = []
    for command in COMMANDS:
        if groups and operator_policy(config, names, (*groups[-1], command)).size <= limit:
            groups[-1] = (*groups[-1], command)
        else:
            groups.append((command,))
    return groups
