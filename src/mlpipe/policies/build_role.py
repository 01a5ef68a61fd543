"""The CodeBuild role's policy: what `mlpipe deploy` needs for each pipeline stage.

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

from mlpipe.config import Config
from mlpipe.names import Names
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
    return [
        Names(app=names.app, stage=s, region=names.region, account=names.account, partition=names.partition)
        for s in config.pipeline.stages
    ]


def build_role_policy(config: Config, names: Names) -> Policy:
    """What `mlpipe deploy` needs for each pipeline stage, plus the build's own logs and input."""
    stages = stage_names(config, names)
    functions = [n.function_arn for n in stages]
    lambda_roles = [n.role_arn(n.lambda_role) for n in stages]
    lambda_logs = [n.log_group_arn(n.log_group) for n in stages] + [n.log_group_arn(n.log_group) + ":*" for n in stages]
    build_logs = [names.log_group_arn(names.build_log_group(s)) + ":*" for s in config.pipeline.stages]
    mappings = arn(names, "lambda", "event-source-mapping:*")
    function_condition = {"ArnLike": {"lambda:FunctionArn": functions}}
    return document(
        [
            statement("BuildLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], build_logs),
            statement(
                "PipelineArtifactsRead",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [names.bucket_arn(names.artifact_bucket) + "/*"],
            ),
            statement(
                "ModelMetadataRead", ["s3:GetObject"], [n.bucket_arn(n.model_bucket) + "/models/*" for n in stages]
            ),
            statement("Queues", QUEUE_ACTIONS, [arn(n, "sqs", f"{n.prefix}-*") for n in stages]),
            statement("Function", FUNCTION_ACTIONS, functions),
            statement(
                "EventSourceMappings",
                ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
                [mappings],
                condition=function_condition,
            ),
            statement(
                "CreateEventSourceMapping", ["lambda:CreateEventSourceMapping"], "*", condition=function_condition
            ),
            # CreateEventSourceMapping with Tags also needs TagResource on the new mapping (whose ARN
            # holds only a UUID, so it cannot be narrowed to this app).
            statement("TagEventSourceMappings", ["lambda:TagResource"], [mappings]),
            statement(
                "PassOnlyTheLambdaRole",
                ["iam:PassRole"],
                lambda_roles,
                condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            ),
            statement("ReadTheLambdaRole", ROLE_READS, lambda_roles),
            statement(
                "FunctionLogGroup",
                ["logs:CreateLogGroup", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource"],
                lambda_logs,
            ),
            statement("Alarms", ALARM_ACTIONS, [arn(n, "cloudwatch", f"alarm:{n.prefix}-*") for n in stages]),
            statement("AlarmTopic", TOPIC_ACTIONS, [n.topic_arn(n.alarm_topic) for n in stages]),
            statement("Endpoint", ["sagemaker:DescribeEndpoint"], [n.endpoint_arn for n in stages]),
            statement("ReadOnlyLookups", DEPLOY_LOOKUPS, "*"),
        ]
    )
