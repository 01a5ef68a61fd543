"""The CodeBuild roles' policies: one role per pipeline stage, each what `mlpipe deploy` of that stage needs.

A stage's build role may create and update only that stage's resources (exact ARNs, policies/arns.py),
may pass only that stage's Lambda role, which bootstrap created (iam:PassRole with
iam:PassedToService), and has no IAM write at all: bootstrap creates the Lambda roles up front, and
the app's permissions boundary caps the role whatever its policy says.

`"*"` appears only for actions AWS offers no resource-level permission for. Those are read/list
actions, with one exception AWS leaves no way around: lambda:CreateEventSourceMapping has no
resource type at all, so it is allowed on `"*"` only under a `lambda:FunctionArn` condition that
names this stage's function (see `UNSCOPED_WRITES`).
"""

from __future__ import annotations

from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.policies.arns import alarm_arns, in_account, queue_arns, tagged_for
from mlpipe.policies.statements import Policy, arn, document, statement

# Write actions that have no resource type in IAM, each with the condition key that scopes it.
UNSCOPED_WRITES = {"lambda:CreateEventSourceMapping": "lambda:FunctionArn"}

QUEUE_ACTIONS = (
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
)
FUNCTION_ACTIONS = (
    "lambda:CreateFunction",
    "lambda:DeleteFunctionConcurrency",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:ListTags",
    "lambda:PutFunctionConcurrency",
    "lambda:TagResource",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
)
ROLE_READS = (
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
)
ALARM_ACTIONS = (
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:TagResource",
)
MAPPING_ACTIONS = (
    "lambda:DeleteEventSourceMapping",
    "lambda:GetEventSourceMapping",
    "lambda:UpdateEventSourceMapping",
)
LOG_GROUP_ACTIONS = ("logs:CreateLogGroup", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource")
BOUNDARY_READS = ("iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags")
# The alarm topic (plan/sns.py). CreateTopic with Tags needs TagResource; DeleteTopic when the
# alarms are turned off or point at another topic. No Unsubscribe: it cannot be scoped to a topic.
TOPIC_ACTIONS = (
    "sns:CreateTopic",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
    "sns:TagResource",
)
# No resource-level permission exists for these; all are read/list.
DEPLOY_LOOKUPS = ("lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "sqs:ListQueues", "sts:GetCallerIdentity")


def stage_names(config: Config, names: Names) -> list[Names]:
    """Names for every stage the pipeline deploys (same app, account and region)."""
    return [stage_scope(names, s) for s in config.pipeline.stages]


def stage_scope(names: Names, stage: str) -> Names:
    return Names(app=names.app, stage=stage, region=names.region, account=names.account, partition=names.partition)


def build_role_policy(config: Config, names: Names, stage: str) -> Policy:
    """What `mlpipe deploy` of ONE stage needs, plus that stage's build logs and the pipeline's input.

    `names` is the app's CI/CD scope (artifact bucket, build projects); `stage` the stage this build
    role deploys. Nothing of another stage is named, so the dev build, which runs before the approval,
    cannot change prod.
    """
    n = stage_scope(names, stage)
    function_condition = {"ArnLike": {"lambda:FunctionArn": [n.function_arn]}}
    mappings = arn(n, "lambda", "event-source-mapping:*")
    log_group = n.log_group_arn(n.log_group)
    lambda_role = n.role_arn(n.lambda_role)
    return document(
        [
            statement(
                "BuildLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [names.log_group_arn(names.build_log_group(stage)) + ":*"],
            ),
            statement(
                "PipelineArtifactsRead",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [names.bucket_arn(names.artifact_bucket) + "/*"],
                condition=in_account(names),
            ),
            statement(
                "ModelMetadataRead",
                ["s3:GetObject"],
                [n.bucket_arn(n.model_bucket) + "/models/*"],
                condition=in_account(names),
            ),
            statement("Queues", QUEUE_ACTIONS, queue_arns(n)),
            statement("Function", FUNCTION_ACTIONS, [n.function_arn]),
            statement("EventSourceMappings", MAPPING_ACTIONS, [mappings], condition=function_condition),
            statement(
                "CreateEventSourceMapping", ["lambda:CreateEventSourceMapping"], "*", condition=function_condition
            ),
            # CreateEventSourceMapping with Tags also needs TagResource on the new mapping, whose ARN
            # holds only a UUID: scoped by the tags instead.
            statement("TagEventSourceMappings", ["lambda:TagResource"], [mappings], condition=tagged_for(n)),
            statement(
                "PassOnlyTheLambdaRole",
                ["iam:PassRole"],
                [lambda_role],
                condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            ),
            statement("ReadTheLambdaRole", ROLE_READS, [lambda_role]),
            # deploy checks the stage's boundary (and fails if it differs: only an admin changes it).
            statement("ReadTheBoundary", BOUNDARY_READS, [n.boundary_arn]),
            statement("FunctionLogGroup", LOG_GROUP_ACTIONS, [log_group, log_group + ":*"]),
            statement("Alarms", ALARM_ACTIONS, alarm_arns(n)),
            statement("AlarmTopic", TOPIC_ACTIONS, [n.topic_arn(n.alarm_topic)]),
            statement("Endpoint", ["sagemaker:DescribeEndpoint"], [n.endpoint_arn]),
            statement("ReadOnlyLookups", DEPLOY_LOOKUPS, "*"),
        ]
    )
