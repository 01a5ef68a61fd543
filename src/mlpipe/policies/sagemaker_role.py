"""The SageMaker execution role's inline policy: serving and remote training of this app/stage."""

from __future__ import annotations

from mlpipe.names import Names
from mlpipe.policies.arns import in_account, versioned
from mlpipe.policies.statements import Policy, Statement, arn, document, statement

TRAINING_PREFIX = "training"  # s3://<model bucket>/training/<version>/{train,validation,output}/
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"  # AWS's one group for every training job


def endpoint_log_group(names: Names) -> str:
    return f"/aws/sagemaker/Endpoints/{names.endpoint}"


def ecr_repository_arn(names: Names, image_uri: str) -> str:
    """The repository of `<registry>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`."""
    registry, _, rest = image_uri.partition(".dkr.ecr.")
    region, _, repo_tag = rest.partition(".amazonaws.com/")
    return f"arn:{names.partition}:ecr:{region}:{registry}:repository/{repo_tag.split(':')[0]}"


def log_statements(names: Names) -> list[Statement]:
    """SageMaker writes the endpoint's and this app/stage's training jobs' logs as the role."""
    training = arn(names, "logs", f"log-group:{TRAINING_LOG_GROUP}")
    endpoint = arn(names, "logs", f"log-group:{endpoint_log_group(names)}")
    # A training job's streams are named `<job name>/algo-<n>-<time>`.
    job_streams = [
        job.replace(arn(names, "sagemaker", "training-job/"), f"{training}:log-stream:") + "/*"
        for job in versioned(names, "sagemaker", "training-job")
    ]
    # Group-level actions take the group's ARN with a trailing `:*` (CloudWatch Logs' access-control
    # overview: the bare ARN is only for the tagging actions, so a bare one grants nothing). Only the
    # endpoint's own group: AWS's one TrainingJobs group holds every app's jobs, so a grant on it would
    # reach theirs; `train` creates that group itself (plan/logs.py) before any job writes to it.
    return [
        statement("LogGroups", ["logs:CreateLogGroup", "logs:DescribeLogStreams"], [f"{endpoint}:*"]),
        statement("LogStreams", ["logs:CreateLogStream", "logs:PutLogEvents"], [*job_streams, f"{endpoint}:*"]),
    ]


def sagemaker_policy(names: Names, image_uri: str, data_uri: str | None = None) -> Policy:
    """Least privilege for serving (and remote training): this app's bucket, this image, its logs;
    with `data_uri` (`train --remote --data s3://bucket/prefix/`), reading that prefix too."""
    bucket = names.bucket_arn(names.model_bucket)
    return document(
        [
            *_data_statements(names, data_uri),
            statement("ReadModelsAndTrainingData", "s3:GetObject", f"{bucket}/*", condition=in_account(names)),
            statement("ListTrainingData", "s3:ListBucket", bucket, condition=in_account(names)),
            statement(
                "WriteTrainingOutput", "s3:PutObject", f"{bucket}/{TRAINING_PREFIX}/*", condition=in_account(names)
            ),
            statement(
                "PullXgboostImage",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                ecr_repository_arn(names, image_uri),
            ),
            # AWS defines no resource for GetAuthorizationToken: "*" is the only value it accepts.
            statement("EcrLogin", "ecr:GetAuthorizationToken", "*"),
            *log_statements(names),
            statement(
                "Metrics",
                "cloudwatch:PutMetricData",
                "*",
                condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        ]
    )


def _data_statements(names: Names, data_uri: str | None) -> list[Statement]:
    """Read access to the training data's prefix only (ListBucket narrowed by s3:prefix), in a
    bucket of this account (s3:ResourceAccount, like every S3 statement mlpipe writes)."""
    if not data_uri:
        return []
    data_bucket, _, prefix = data_uri.removeprefix("s3://").partition("/")
    bucket = names.bucket_arn(data_bucket)
    listing = {**in_account(names), "StringLike": {"s3:prefix": f"{prefix}*"}}
    return [
        statement("ReadTrainingDataPrefix", "s3:GetObject", f"{bucket}/{prefix}*", condition=in_account(names)),
        statement("ListTrainingDataPrefix", "s3:ListBucket", bucket, condition=listing),
    ]
