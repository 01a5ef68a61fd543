"""`mlpipe iam-policy`: the statements of each day-to-day command (train, deploy, send, tail, status,
redrive, destroy), every resource an ARN of this app and stage."""

from __future__ import annotations

from mlpipe.config import Config
from mlpipe.names import Names, topic_log_group
from mlpipe.policies.build_role import build_role_policy
from mlpipe.policies.operator_cicd import cicd_kinds, cicd_statements, pass_role, role_management
from mlpipe.policies.statements import Statement, arn, statement

# Statements of the CodeBuild role that only a build needs.
BUILD_ONLY_SIDS = ("BuildLogs", "PipelineArtifactsRead")


def _sagemaker_arns(names: Names) -> list[str]:
    """The endpoint, and the models and endpoint configs train creates (`{app}-{stage}-<version>`)."""
    prefix = names.prefix.lower()  # SageMaker ARNs are lowercase
    return [
        names.endpoint_arn,
        arn(names, "sagemaker", f"endpoint-config/{prefix}-*"),
        arn(names, "sagemaker", f"model/{prefix}-*"),
    ]


def _endpoint_log_group(names: Names) -> list[str]:
    group = names.log_group_arn(f"/aws/sagemaker/Endpoints/{names.endpoint}")
    return [group, group + ":*"]


def train_statements(config: Config, names: Names) -> list[Statement]:
    bucket = names.bucket_arn(names.model_bucket)
    sagemaker_role = config.training.role_arn or names.role_arn(names.sagemaker_role)
    statements = [
        statement(
            "TrainModelBucket",
            [
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
            ],
            [bucket],
        ),
        statement("TrainModelObjects", ["s3:GetObject", "s3:PutObject"], [f"{bucket}/*"]),
        statement(
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
        statement(
            "TrainRemoteJobs",
            ["sagemaker:AddTags", "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
            [arn(names, "sagemaker", f"training-job/{names.prefix.lower()}-*")],
        ),
        statement(
            "TrainJobLogs",
            ["logs:FilterLogEvents", "logs:GetLogEvents"],
            [arn(names, "logs", "log-group:/aws/sagemaker/TrainingJobs:*")],
        ),
        statement(  # created before the endpoint, so its logs expire (SageMaker's own group never does)
            "TrainEndpointLogGroup",
            ["logs:CreateLogGroup", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource"],
            _endpoint_log_group(names),
        ),
        statement(  # shared by the account's training jobs: created or given a retention only when it has none
            "TrainJobLogGroupRetention",
            ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
            [arn(names, "logs", "log-group:/aws/sagemaker/TrainingJobs")],
        ),
        pass_role("TrainPassSageMakerRole", [sagemaker_role], "sagemaker.amazonaws.com"),
    ]
    if config.training.role_arn is None:
        statements.append(role_management("TrainSageMakerRole", [sagemaker_role]))
    return statements


def deploy_statements(config: Config, names: Names) -> list[Statement]:
    """The CodeBuild role's statements for this stage (see policies/build_role.py), plus the function's role."""
    one_stage = config.model_copy(update={"pipeline": config.pipeline.model_copy(update={"stages": (names.stage,)})})
    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    statements = []
    for built in build_role_policy(one_stage, scoped)["Statement"]:
        if built["Sid"] in BUILD_ONLY_SIDS:
            continue
        statements.append({**built, "Sid": "Deploy" + built["Sid"]})
    statements.append(role_management("DeployFunctionRole", [names.role_arn(names.lambda_role)]))
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
    return statement(sid, actions, [names.queue_arn(names.dlq)])


def send_statements(config: Config, names: Names) -> list[Statement]:
    return [
        statement(
            "SendToTrigger",
            ["sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:SendMessage"],
            [names.queue_arn(names.trigger_queue)],
        ),
        statement("SendReadModel", ["s3:GetObject"], [names.bucket_arn(names.model_bucket) + "/models/*"]),
        statement("SendWaitForResults", ["logs:FilterLogEvents"], [names.log_group_arn(names.log_group) + ":*"]),
        # `send --wait` peeks at the DLQ (and makes what it read visible again) for messages SQS moved there.
        _peek_dead_letters("SendWaitPeekDeadLetters", names),
    ]


def tail_statements(config: Config, names: Names) -> list[Statement]:
    group = names.log_group_arn(names.log_group)
    topic = config.alarm.topic_arn or names.topic_arn(names.alarm_topic)  # as plan/sns.py alarm_topic_arn
    mails = names.log_group_arn(topic_log_group(topic))
    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    build_logs = [scoped.log_group_arn(scoped.build_log_group(s)) + ":*" for s in config.pipeline.stages]
    return [
        statement("TailLogs", ["logs:FilterLogEvents", "logs:StartLiveTail"], [group, group + ":*"]),
        _peek_dead_letters("TailDeadLetters", names),
        statement(
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
        statement(
            "TailBuilds",
            ["codebuild:BatchGetBuilds"],
            [scoped.build_project_arn(s) for s in config.pipeline.stages],
        ),
        statement("TailBuildLogs", ["logs:GetLogEvents", "logs:FilterLogEvents"], build_logs),
        statement(
            "TailAlarms",
            ["cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms"],
            [names.alarm_arn(a) for a in names.alarms],
        ),
        # The e-mails the embedded AWS delivered (on AWS: the topic's delivery-status logs, if any).
        statement("TailAlarmMails", ["logs:FilterLogEvents"], [mails, mails + ":*"]),
    ]


def status_statements(config: Config, names: Names) -> list[Statement]:
    queues = [names.queue_arn(q) for q in (names.trigger_queue, names.dlq, names.results_queue)]
    group = names.log_group_arn(names.log_group)
    return [
        statement("StatusQueues", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"], queues),
        statement(
            "StatusFunctionRole",
            ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRoleTags"],
            [names.role_arn(names.lambda_role)],
        ),
        statement("StatusFunction", ["lambda:GetFunction", "lambda:GetFunctionConfiguration"], [names.function_arn]),
        statement("StatusLogGroup", ["logs:ListTagsForResource"], [group, group + ":*"]),
        statement(
            "StatusAlarm",
            ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
            [names.alarm_arn(a) for a in names.alarms],
        ),
        statement(
            "StatusAlarmTopic",
            ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"],
            [names.topic_arn(names.alarm_topic)],
        ),
        statement("StatusEndpoint", ["sagemaker:DescribeEndpoint"], [names.endpoint_arn]),
        statement("StatusModel", ["s3:GetObject"], [names.bucket_arn(names.model_bucket) + "/models/*"]),
        *cicd_statements("StatusCiCd", cicd_kinds(config, names)),
    ]


def redrive_statements(config: Config, names: Names) -> list[Statement]:
    dlq, trigger = names.queue_arn(names.dlq), names.queue_arn(names.trigger_queue)
    return [
        statement(
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
        statement("RedriveToTrigger", ["sqs:GetQueueAttributes", "sqs:SendMessage"], [trigger]),
    ]


def destroy_statements(config: Config, names: Names) -> list[Statement]:
    group = names.log_group_arn(names.log_group)
    bucket = names.bucket_arn(names.model_bucket)
    mapping_condition = {"ArnLike": {"lambda:FunctionArn": [names.function_arn]}}
    queues = [names.queue_arn(q) for q in (names.trigger_queue, names.dlq, names.results_queue)]
    return [
        statement("DestroyQueues", ["sqs:DeleteQueue", "sqs:GetQueueUrl", "sqs:ListQueueTags"], queues),
        statement("DestroyFunction", ["lambda:DeleteFunction", "lambda:GetFunction"], [names.function_arn]),
        statement(
            "DestroyMapping",
            ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping"],
            [arn(names, "lambda", "event-source-mapping:*")],
            condition=mapping_condition,
        ),
        statement(
            "DestroyLogGroup",
            ["logs:DeleteLogGroup", "logs:ListTagsForResource"],
            [group, group + ":*", *_endpoint_log_group(names)],
        ),
        statement(
            "DestroyAlarm",
            ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
            [names.alarm_arn(a) for a in names.alarms],
        ),
        statement(
            "DestroyAlarmTopic",
            ["sns:DeleteTopic", "sns:GetTopicAttributes", "sns:ListTagsForResource"],
            [names.topic_arn(names.alarm_topic)],
        ),
        role_management(
            "DestroyRoles", [names.role_arn(names.lambda_role), names.role_arn(names.sagemaker_role)], delete=True
        ),
        statement(
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
        statement(
            "DestroyModelBucket",
            ["s3:DeleteBucket", "s3:GetBucketTagging", "s3:ListBucket", "s3:ListBucketVersions"],
            [bucket],
        ),
        statement("DestroyModelObjects", ["s3:DeleteObject", "s3:DeleteObjectVersion"], [f"{bucket}/*"]),
        *cicd_statements("DestroyCiCd", cicd_kinds(config, names), delete=True),  # destroy --pipeline
    ]
