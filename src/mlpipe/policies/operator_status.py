"""`mlpipe iam-policy`, OPERATOR part: what status and destroy (one stage) need."""

from __future__ import annotations

from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.policies.arns import alarm_arns, in_account, queue_arns, sagemaker_arns
from mlpipe.policies.operator_cicd import cicd_kinds, cicd_statements
from mlpipe.policies.operator_commands import endpoint_log_group_arns
from mlpipe.policies.operator_iam import boundary_reads, deny_without_boundary, role_deletes, role_reads
from mlpipe.policies.statements import Statement, arn, statement

ENDPOINT_DELETES = (
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModel",
    "sagemaker:DescribeEndpoint",
    "sagemaker:ListTags",
)


# What plan/s3.py reads of a bucket (HeadBucket is s3:ListBucket).
MODEL_BUCKET_READS = (
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:ListBucket",
)


def status_statements(config: Config, names: Names) -> list[Statement]:
    group = names.log_group_arn(names.log_group)
    return [
        statement(
            "StatusQueues", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"], queue_arns(names)
        ),
        statement(
            "StatusRoles",  # the function's role and train's SageMaker execution role
            ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRoleTags"],
            [names.role_arn(names.lambda_role), names.role_arn(names.sagemaker_role)],
        ),
        statement("StatusFunction", ["lambda:GetFunction", "lambda:GetFunctionConfiguration"], [names.function_arn]),
        statement(
            "StatusLogGroup", ["logs:ListTagsForResource"], [group, group + ":*", *endpoint_log_group_arns(names)]
        ),
        statement(
            "StatusModelBucket", MODEL_BUCKET_READS, [names.bucket_arn(names.model_bucket)], condition=in_account(names)
        ),
        statement("StatusAlarm", ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"], alarm_arns(names)),
        statement(
            "StatusAlarmTopic",
            ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"],
            [names.topic_arn(names.alarm_topic)],
        ),
        # What train made: the endpoint, and its configs and models (listed, then tag-checked).
        statement("StatusEndpoint", ["sagemaker:DescribeEndpoint", "sagemaker:ListTags"], sagemaker_arns(names)),
        statement(
            "StatusModel",
            ["s3:GetObject"],
            [names.bucket_arn(names.model_bucket) + "/models/*"],
            condition=in_account(names),
        ),
        boundary_reads("StatusBoundary", [names]),  # status plans a deploy: is the boundary as it should be?
        *cicd_statements("StatusCiCd", cicd_kinds(config, names)),
    ]


def destroy_statements(config: Config, names: Names) -> list[Statement]:
    """Everything of this stage but its permissions boundary: deleting that is the admin part's."""
    group = names.log_group_arn(names.log_group)
    bucket = names.bucket_arn(names.model_bucket)
    roles = [names.role_arn(names.lambda_role), names.role_arn(names.sagemaker_role)]
    build_role = names.role_arn(names.build_role(names.stage))  # read: does it still carry the boundary?
    return [
        statement(  # GetQueueAttributes: how many messages go with each queue (the prompt says)
            "DestroyQueues",
            ["sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"],
            queue_arns(names),
        ),
        statement("DestroyFunction", ["lambda:DeleteFunction", "lambda:GetFunction"], [names.function_arn]),
        statement(
            "DestroyMapping",
            ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping"],
            [arn(names, "lambda", "event-source-mapping:*")],
            condition={"ArnLike": {"lambda:FunctionArn": [names.function_arn]}},
        ),
        statement(
            "DestroyLogGroup",
            ["logs:DeleteLogGroup", "logs:ListTagsForResource"],
            [group, group + ":*", *endpoint_log_group_arns(names)],
        ),
        statement(
            "DestroyAlarm",
            ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
            alarm_arns(names),
        ),
        statement(
            "DestroyAlarmTopic",
            ["sns:DeleteTopic", "sns:GetTopicAttributes", "sns:ListTagsForResource"],
            [names.topic_arn(names.alarm_topic)],
        ),
        role_reads("DestroyRoleReads", [*roles, build_role]),
        role_deletes("DestroyRoles", roles),
        *deny_without_boundary("DestroyRolesDeny", roles, names.boundary_arn),
        boundary_reads("DestroyBoundary", [names]),
        statement("DestroyEndpoint", ENDPOINT_DELETES, sagemaker_arns(names)),
        statement(
            "DestroyModelBucket",
            ["s3:DeleteBucket", "s3:GetBucketTagging", "s3:ListBucket", "s3:ListBucketVersions"],
            [bucket],
            condition=in_account(names),
        ),
        statement(
            "DestroyModelObjects",
            ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            [f"{bucket}/*"],
            condition=in_account(names),
        ),
    ]
