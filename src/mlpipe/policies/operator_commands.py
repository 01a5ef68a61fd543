"""`mlpipe iam-policy`, OPERATOR part: what train, deploy, send, tail and redrive need, every resource
an ARN of this app and stage (policies/arns.py). status and destroy: operator_status.py."""

from __future__ import annotations

from mlpipe.config import Config
from mlpipe.names import PIPELINE_SCOPE, Names, topic_log_group
from mlpipe.policies.arns import alarm_arns, in_account, sagemaker_arns, training_job_arns
from mlpipe.policies.build_role import build_role_policy
from mlpipe.policies.operator_iam import boundary_reads, deny_without_boundary, pass_role, role_reads, role_writes
from mlpipe.policies.sagemaker_role import TRAINING_LOG_GROUP, endpoint_log_group
from mlpipe.policies.statements import Statement, arn, statement

# Statements of the CodeBuild role that only a build needs.
BUILD_ONLY_SIDS = ("BuildLogs", "PipelineArtifactsRead")
MODEL_BUCKET_ACTIONS = (
    "s3:CreateBucket",
    "s3:GetBucketPolicy",
    "s3:GetBucketTagging",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:TagResource",  # CreateBucket with tags (CreateBucketConfiguration.Tags)
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
)
ENDPOINT_ACTIONS = (
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
)
PIPELINE_READS = (
    "codepipeline:GetPipeline",
    "codepipeline:GetPipelineExecution",
    "codepipeline:GetPipelineState",
    "codepipeline:ListActionExecutions",
    "codepipeline:ListPipelineExecutions",
)
PEEK_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
    "sqs:ReceiveMessage",
)
REDRIVE_ACTIONS = (
    "sqs:CancelMessageMoveTask",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListMessageMoveTasks",
    "sqs:ListQueueTags",
    "sqs:ReceiveMessage",
    "sqs:StartMessageMoveTask",
)


def pipeline_scope(names: Names) -> Names:
    return Names(app=names.app, stage=PIPELINE_SCOPE, region=names.region, account=names.account)


def own_roles(sid: str, names: Names, roles: list[str]) -> list[Statement]:
    """Create and write this stage's roles with its boundary only (explicitly denied otherwise)."""
    arns = [names.role_arn(r) for r in roles]
    return [
        role_reads(sid, arns),
        *role_writes(sid + "Write", arns, names.boundary_arn),
        *deny_without_boundary(sid + "Deny", arns, names.boundary_arn),
        boundary_reads(sid + "Boundary", [names]),
    ]


def endpoint_log_group_arns(names: Names) -> list[str]:
    group = names.log_group_arn(endpoint_log_group(names))
    return [group, group + ":*"]


def train_statements(config: Config, names: Names) -> list[Statement]:
    bucket = names.bucket_arn(names.model_bucket)
    sagemaker_role = config.training.role_arn or names.role_arn(names.sagemaker_role)
    statements = [
        statement("TrainModelBucket", MODEL_BUCKET_ACTIONS, [bucket], condition=in_account(names)),
        statement("TrainModelObjects", ["s3:GetObject", "s3:PutObject"], [f"{bucket}/*"], condition=in_account(names)),
        statement("TrainEndpoint", ENDPOINT_ACTIONS, sagemaker_arns(names)),
        statement(
            "TrainRemoteJobs",
            # StopTrainingJob: Ctrl-C during `train --remote` stops the job it started.
            [
                "sagemaker:AddTags",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
            ],
            training_job_arns(names),
        ),
        # AWS writes every training job's logs to one group, and FilterLogEvents (the job's streams
        # by prefix) has no stream-level resource: read-only, for `train --remote` to show its log.
        # The one statement that reaches other apps' resources (their training logs, read only).
        statement("TrainJobLogs", ["logs:FilterLogEvents"], [arn(names, "logs", f"log-group:{TRAINING_LOG_GROUP}:*")]),
        statement(  # created before the endpoint, so its logs expire (SageMaker's own group never does)
            "TrainEndpointLogGroup",
            ["logs:CreateLogGroup", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource"],
            endpoint_log_group_arns(names),
        ),
        statement(  # shared by the account's training jobs: created or given a retention only when it has none
            "TrainJobLogGroupRetention",
            ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
            [arn(names, "logs", f"log-group:{TRAINING_LOG_GROUP}:*")],  # group actions take the ":*" ARN
        ),
        pass_role("TrainPassSageMakerRole", [sagemaker_role], "sagemaker.amazonaws.com"),
        # Does the deployed function check another feature count? Then `deploy` must follow.
        statement("TrainFunctionContract", ["lambda:GetFunctionConfiguration"], [names.function_arn]),
    ]
    if config.training.role_arn is None:
        statements += own_roles("TrainSageMakerRole", names, [names.sagemaker_role])
    return statements


def deploy_statements(config: Config, names: Names) -> list[Statement]:
    """The stage's build role statements (policies/build_role.py), plus the function's role."""
    statements = []
    for built in build_role_policy(config, pipeline_scope(names), names.stage)["Statement"]:
        if built["Sid"] in BUILD_ONLY_SIDS:
            continue
        statements.append({**built, "Sid": "Deploy" + built["Sid"]})
    statements += own_roles("DeployFunctionRole", names, [names.lambda_role])
    return statements


def _peek_dead_letters(sid: str, names: Names) -> Statement:
    """Read the DLQ without consuming it: receive, then make what was read visible again."""
    return statement(sid, PEEK_ACTIONS, [names.queue_arn(names.dlq)])


def send_statements(config: Config, names: Names) -> list[Statement]:
    return [
        statement(
            "SendToTrigger",
            ["sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:SendMessage"],
            [names.queue_arn(names.trigger_queue)],
        ),
        statement(
            "SendReadModel",
            ["s3:GetObject"],
            [names.bucket_arn(names.model_bucket) + "/models/*"],
            condition=in_account(names),
        ),
        # The feature count the function checks (its MLPIPE_FEATURE_COUNT), which rows must have.
        statement("SendFunctionContract", ["lambda:GetFunctionConfiguration"], [names.function_arn]),
        statement("SendWaitForResults", ["logs:FilterLogEvents"], [names.log_group_arn(names.log_group) + ":*"]),
        # `send --wait` first checks that an endpoint exists to answer.
        statement("SendWaitCheckEndpoint", ["sagemaker:DescribeEndpoint"], [names.endpoint_arn]),
        # `send --wait` peeks at the DLQ (and makes what it read visible again) for messages SQS moved there.
        _peek_dead_letters("SendWaitPeekDeadLetters", names),
    ]


def tail_statements(config: Config, names: Names) -> list[Statement]:
    group = names.log_group_arn(names.log_group)
    topic = config.alarm.topic_arn or names.topic_arn(names.alarm_topic)  # as plan/sns.py alarm_topic_arn
    mails = names.log_group_arn(topic_log_group(topic))
    scoped = pipeline_scope(names)
    build_logs = [scoped.log_group_arn(scoped.build_log_group(s)) + ":*" for s in config.pipeline.stages]
    return [
        statement("TailLogs", ["logs:FilterLogEvents", "logs:StartLiveTail"], [group, group + ":*"]),
        # No log group: is there a function at all (else "not deployed", as for the DLQ)?
        statement("TailFunction", ["lambda:GetFunctionConfiguration"], [names.function_arn]),
        _peek_dead_letters("TailDeadLetters", names),
        statement("TailPipeline", PIPELINE_READS, [scoped.pipeline_arn()]),
        statement(
            "TailBuilds",
            ["codebuild:BatchGetBuilds"],
            [scoped.build_project_arn(s) for s in config.pipeline.stages],
        ),
        statement("TailBuildLogs", ["logs:GetLogEvents", "logs:FilterLogEvents"], build_logs),
        statement("TailAlarms", ["cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms"], alarm_arns(names)),
        # The e-mails the embedded AWS delivered (on AWS: the topic's delivery-status logs, if any).
        statement("TailAlarmMails", ["logs:FilterLogEvents"], [mails, mails + ":*"]),
    ]


def redrive_statements(config: Config, names: Names) -> list[Statement]:
    dlq, trigger = names.queue_arn(names.dlq), names.queue_arn(names.trigger_queue)
    return [
        statement("RedriveFromDlq", REDRIVE_ACTIONS, [dlq]),
        statement("RedriveToTrigger", ["sqs:SendMessage"], [trigger]),
    ]
