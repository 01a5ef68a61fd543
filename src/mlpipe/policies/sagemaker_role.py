"""The SageMaker execution role's inline policy: serving and remote training of this app/stage."""

from __future__ import annotations

from mlpipe.names import Names
from mlpipe.policies.statements import Policy, document, statement

TRAINING_PREFIX = "training"  # s3://<model bucket>/training/<version>/{train,validation,output}/


def sagemaker_policy(names: Names, image_uri: str, data_uri: str | None = None) -> Policy:
    """Least privilege for serving (and remote training): this app's bucket, this image, its logs;
    with `data_uri` (`train --remote --data s3://bucket/prefix/`), reading that prefix too."""
    registry, _, rest = image_uri.partition(".dkr.ecr.")
    region, _, repo_tag = rest.partition(".amazonaws.com/")
    repository = repo_tag.split(":")[0]
    bucket = names.bucket_arn(names.model_bucket)
    log_groups = f"arn:{names.partition}:logs:{names.region}:{names.account}:log-group:/aws/sagemaker/*"
    return document(
        [
            *_data_statements(names, data_uri),
            statement("ReadModelsAndTrainingData", "s3:GetObject", f"{bucket}/*"),
            statement("ListTrainingData", "s3:ListBucket", bucket),
            statement("WriteTrainingOutput", "s3:PutObject", f"{bucket}/{TRAINING_PREFIX}/*"),
            statement(
                "PullXgboostImage",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                f"arn:{names.partition}:ecr:{region}:{registry}:repository/{repository}",
            ),
            # AWS defines no resource for GetAuthorizationToken: "*" is the only value it accepts.
            statement("EcrLogin", "ecr:GetAuthorizationToken", "*"),
            statement(
                "Logs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                [log_groups, f"{log_groups}:*"],
            ),
            statement(
                "Metrics",
                "cloudwatch:PutMetricData",
                "*",
                condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        ]
    )


def _data_statements(names: Names, data_uri: str | None) -> list[dict[str, object]]:
    """Read access to the training data's prefix only (ListBucket narrowed by s3:prefix)."""
    if not data_uri:
        return []
    data_bucket, _, prefix = data_uri.removeprefix("s3://").partition("/")
    arn = names.bucket_arn(data_bucket)
    return [
        statement("ReadTrainingDataPrefix", "s3:GetObject", f"{arn}/{prefix}*"),
        statement(
            "ListTrainingDataPrefix", "s3:ListBucket", arn, condition={"StringLike": {"s3:prefix": f"{prefix}*"}}
        ),
    ]
