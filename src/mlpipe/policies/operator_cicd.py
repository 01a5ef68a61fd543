"""`mlpipe iam-policy`, ADMIN part: what an administrator runs once, and the app's CI/CD.

- bootstrap-pipeline: the CI/CD (artifact bucket, build logs, repository, build projects, pipeline,
  its trigger); pipeline-roles: its roles (one build role per stage, the pipeline and EventBridge
  roles, every stage's Lambda role) and the permissions boundaries they carry (policies/boundary.py);
- destroy-pipeline (`destroy --pipeline`): deleting all that again;
- boundary: create, change and delete this stage's boundary, and put back mlpipe's trust policy on
  this stage's roles (iam:UpdateAssumeRolePolicy, which no condition key can limit).

status reads the CI/CD resources through `cicd_kinds` as well (operator part).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpipe.config import Config
from mlpipe.names import PIPELINE_SCOPE, Names
from mlpipe.policies.arns import in_account
from mlpipe.policies.build_role import stage_names
from mlpipe.policies.operator_iam import (
    ROLE_READS,
    boundary_deletes,
    boundary_writes,
    pass_role,
    role_deletes,
    role_reads,
    role_writes,
    trust_updates,
)
from mlpipe.policies.statements import Statement, statement


def cicd_role_arns(config: Config, scoped: Names) -> list[str]:
    """The build role of each stage, then the roles the CI/CD boundary caps."""
    return [scoped.role_arn(scoped.build_role(s)) for s in config.pipeline.stages] + pipeline_roles(config, scoped)


def pipeline_roles(config: Config, scoped: Names) -> list[str]:
    """The pipeline role, and the EventBridge role that starts it (CodeCommit sources)."""
    events = [scoped.role_arn(scoped.events_role)] if config.pipeline.source == "codecommit" else []
    return [scoped.role_arn(scoped.pipeline_role), *events]


@dataclass(frozen=True)
class CiCd:
    """One kind of CI/CD resource: what reading, creating/updating and deleting it takes."""

    sid: str
    resources: tuple[str, ...]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    deletes: tuple[str, ...]
    condition: dict[str, Any] | None = None


def _repository_kind(arn: str) -> CiCd:
    return CiCd(
        "Repository",
        (arn,),
        (
            "codecommit:GetBranch",
            "codecommit:GetFile",
            "codecommit:GetRepository",
            "codecommit:GitPull",  # git clone/fetch of the remote bootstrap-pipeline prints
            "codecommit:ListBranches",
            "codecommit:ListTagsForResource",
        ),
        (
            "codecommit:CreateCommit",
            "codecommit:CreateRepository",
            "codecommit:GitPush",  # git push to it: how commits reach the pipeline
            "codecommit:TagResource",
            "codecommit:UpdateRepositoryDescription",
        ),
        ("codecommit:DeleteRepository",),
    )


def _artifact_kinds(names: Names, bucket: str) -> list[CiCd]:
    """The artifact bucket, its objects and the build's wheelhouse in it."""
    return [
        CiCd(
            "ArtifactBucket",
            (bucket,),
            (
                "s3:GetBucketPolicy",
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
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketVersioning",
                "s3:TagResource",  # CreateBucket with tags (CreateBucketConfiguration.Tags)
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ),
            ("s3:DeleteBucket", "s3:ListBucketVersions"),
            in_account(names),
        ),
        CiCd(
            "ArtifactObjects",
            (bucket + "/*",),
            (),
            (),
            ("s3:DeleteObject", "s3:DeleteObjectVersion"),
            in_account(names),
        ),
        # The build's wheelhouse (mlpipe's wheel and its hash-locked dependencies): read back, uploaded.
        CiCd("Wheelhouse", (bucket + "/wheelhouse/*",), ("s3:GetObject",), ("s3:PutObject",), (), in_account(names)),
    ]


def cicd_kinds(config: Config, names: Names) -> list[CiCd]:
    """The app's CI/CD resources (bootstrap-pipeline creates them; status reads them; destroy --pipeline
    deletes them). The Lambda roles of the stages are created here too but deleted by each stage's destroy."""
    scoped = Names(app=names.app, stage=PIPELINE_SCOPE, region=names.region, account=names.account)
    bucket = scoped.bucket_arn(scoped.artifact_bucket)
    build_logs = [scoped.log_group_arn(scoped.build_log_group(s)) for s in config.pipeline.stages]
    kinds = [
        *_artifact_kinds(names, bucket),
        CiCd(
            "BuildLogGroups",
            (*build_logs, *(g + ":*" for g in build_logs)),
            ("logs:ListTagsForResource",),
            ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"),
            ("logs:DeleteLogGroup",),
        ),
        CiCd(
            "CiCdRoles",
            tuple(cicd_role_arns(config, scoped)),
            ROLE_READS,
            (),  # written under the boundary condition: see bootstrap_statements
            (),
        ),
        CiCd(
            "BuildProjects",
            tuple(scoped.build_project_arn(s) for s in config.pipeline.stages),
            ("codebuild:BatchGetProjects",),
            ("codebuild:CreateProject", "codebuild:UpdateProject"),
            ("codebuild:DeleteProject",),
        ),
        CiCd(
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
        kinds.append(_repository_kind(scoped.repository_arn()))
        # The EventBridge rule that starts the pipeline on a push (plan/events.py).
        kinds.append(
            CiCd(
                "PipelineTrigger",
                (scoped.events_rule_arn(),),
                ("events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule"),
                ("events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:TagResource"),
                ("events:DeleteRule", "events:RemoveTargets"),
            )
        )
    return kinds


def cicd_statements(prefix: str, kinds: list[CiCd], *, write: bool = False, delete: bool = False) -> list[Statement]:
    out = []
    for kind in kinds:
        actions = [*kind.reads, *(kind.writes if write else ()), *(kind.deletes if delete else ())]
        if actions:
            out.append(statement(prefix + kind.sid, actions, kind.resources, condition=kind.condition))
    return out


def _scope(names: Names) -> Names:
    return Names(app=names.app, stage=PIPELINE_SCOPE, region=names.region, account=names.account)


def bootstrap_statements(config: Config, names: Names) -> list[Statement]:
    """bootstrap-pipeline's CI/CD resources, and passing its roles to the services that use them;
    the roles themselves and their boundaries: `pipeline_roles_statements`."""
    scoped = _scope(names)
    build_roles = [scoped.role_arn(scoped.build_role(s)) for s in config.pipeline.stages]
    events = [scoped.role_arn(scoped.events_role)] if config.pipeline.source == "codecommit" else []
    return [
        *cicd_statements("Bootstrap", cicd_kinds(config, names), write=True),
        pass_role("BootstrapPassBuildRoles", build_roles, "codebuild.amazonaws.com"),
        pass_role("BootstrapPassPipelineRole", [scoped.role_arn(scoped.pipeline_role)], "codepipeline.amazonaws.com"),
        *([pass_role("BootstrapPassEventsRole", events, "events.amazonaws.com")] if events else []),
    ]


def pipeline_roles_statements(config: Config, names: Names) -> list[Statement]:
    """bootstrap-pipeline's roles (each stage's Lambda and build role, the CI/CD roles), each only
    with its boundary, the boundaries themselves, and mlpipe's trust policies put back on them.
    No explicit Denies here (the operator part has them): an administrator's other policies are
    theirs to decide, and this part must fit in one managed policy."""
    scoped = _scope(names)
    out: list[Statement] = []
    roles: list[str] = []
    for stage in stage_names(config, scoped):
        stage_roles = [stage.role_arn(stage.lambda_role), stage.role_arn(scoped.build_role(stage.stage))]
        out += role_writes(f"Bootstrap{stage.stage.title()}Roles", stage_roles, stage.boundary_arn)
        roles += stage_roles
    cicd_roles = pipeline_roles(config, scoped)
    return [
        *out,
        *role_writes("BootstrapPipelineRoles", cicd_roles, scoped.boundary_arn),
        role_reads("BootstrapRoleReads", [*roles, *cicd_roles]),
        trust_updates("BootstrapTrust", [*roles, *cicd_roles]),
        boundary_writes("BootstrapBoundaries", [*stage_names(config, scoped), scoped]),
    ]


def destroy_pipeline_statements(config: Config, names: Names) -> list[Statement]:
    """destroy --pipeline: the CI/CD, its roles, then the boundaries no role carries any more."""
    scoped = _scope(names)
    stages = stage_names(config, scoped)
    stage_roles = [s.role_arn(r) for s in stages for r in (s.lambda_role, s.sagemaker_role)]
    return [
        *cicd_statements("DestroyPipeline", cicd_kinds(config, names), delete=True),
        role_deletes("DestroyPipelineRoles", cicd_role_arns(config, scoped)),
        role_reads("DestroyPipelineStageRoles", stage_roles),  # is a stage's boundary still in use?
        boundary_deletes("DestroyPipelineBoundaries", [*stages, scoped]),
    ]


def boundary_statements(config: Config, names: Names) -> list[Statement]:
    """This stage's boundary (created by its first train or deploy, deleted by its destroy), and
    mlpipe's trust policy put back on its roles."""
    roles = [names.role_arn(names.lambda_role), names.role_arn(names.sagemaker_role)]
    return [
        boundary_writes("StageBoundary", [names]),
        boundary_deletes("StageBoundaryDelete", [names]),
        trust_updates("StageTrust", roles),
    ]
