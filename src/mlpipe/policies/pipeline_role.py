"""The CodePipeline role's policy: read the source, keep artifacts, start and watch the stage builds."""

from __future__ import annotations

from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.policies.arns import in_account
from mlpipe.policies.statements import Policy, Statement, document, statement

CODECOMMIT_SOURCE_ACTIONS = (
    "codecommit:CancelUploadArchive",
    "codecommit:GetBranch",
    "codecommit:GetCommit",
    "codecommit:GetUploadArchiveStatus",
    "codecommit:UploadArchive",
)


def _source(config: Config, names: Names) -> Statement:
    pipeline = config.pipeline
    if pipeline.source == "codecommit":
        return statement("Source", CODECOMMIT_SOURCE_ACTIONS, [names.repository_arn()])
    assert pipeline.connection_arn is not None  # the config validator requires it
    service = pipeline.connection_arn.split(":")[2]  # codeconnections or codestar-connections
    return statement("Source", [f"{service}:UseConnection"], [pipeline.connection_arn])


def pipeline_role_policy(config: Config, names: Names) -> Policy:
    """Read the source, keep artifacts in the artifact bucket, start and watch its stages' builds only."""
    bucket = names.bucket_arn(names.artifact_bucket)
    return document(
        [
            statement(
                "ArtifactBucket",
                ["s3:GetBucketLocation", "s3:GetBucketVersioning"],
                [bucket],
                condition=in_account(names),
            ),
            statement(
                "Artifacts",
                ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                [bucket + "/*"],
                condition=in_account(names),
            ),
            statement(
                "StageBuilds",
                ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
                [names.build_project_arn(s) for s in config.pipeline.stages],
            ),
            _source(config, names),
        ]
    )
