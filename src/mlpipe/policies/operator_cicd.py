"""`mlpipe iam-policy`: the statements for the app's CI/CD (bootstrap-pipeline, and what status and
destroy --pipeline read or delete of it), and the role-management helpers every command shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.policies.build_role import stage_names
from mlpipe.policies.statements import Statement, statement


def pass_role(sid: str, role_arns: Sequence[str], service: str) -> Statement:
    return statement(sid, ["iam:PassRole"], role_arns, condition={"StringEquals": {"iam:PassedToService": service}})


def role_management(sid: str, role_arns: Sequence[str], delete: bool = False) -> Statement:
    actions = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"]
    actions += ["iam:ListRoleTags"]
    if delete:
        actions += ["iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"]
    else:
        actions += ["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole", "iam:UpdateAssumeRolePolicy"]
    return statement(sid, actions, role_arns)


@dataclass(frozen=True)
class CiCd:
    """One kind of CI/CD resource: what reading, creating/updating and deleting it takes."""

    sid: str
    resources: tuple[str, ...]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    deletes: tuple[str, ...]


def cicd_kinds(config: Config, names: Names) -> list[CiCd]:
    """The app's CI/CD resources (bootstrap-pipeline creates them; status reads them; destroy --pipeline
    deletes them). The Lambda roles of the stages are created here too but deleted by each stage's destroy."""
    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    bucket = scoped.bucket_arn(scoped.artifact_bucket)
    build_logs = [scoped.log_group_arn(scoped.build_log_group(s)) for s in config.pipeline.stages]
    kinds = [
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
        ),
        CiCd("ArtifactObjects", (bucket + "/*",), (), (), ("s3:DeleteObject", "s3:DeleteObjectVersion")),
        # The build's wheelhouse (mlpipe's wheel and its hash-locked dependencies): read back, uploaded.
        CiCd("Wheelhouse", (bucket + "/wheelhouse/*",), ("s3:GetObject",), ("s3:PutObject",), ()),
        CiCd(
            "BuildLogGroups",
            (*build_logs, *(g + ":*" for g in build_logs)),
            ("logs:ListTagsForResource",),
            ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"),
            ("logs:DeleteLogGroup",),
        ),
        CiCd(
            "CiCdRoles",
            (
                scoped.role_arn(scoped.build_role),
                scoped.role_arn(scoped.pipeline_role),
                *((scoped.role_arn(scoped.events_role),) if config.pipeline.source == "codecommit" else ()),
            ),
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
        kinds.append(
            CiCd(
                "Repository",
                (scoped.repository_arn(),),
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
        )
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
            out.append(statement(prefix + kind.sid, actions, kind.resources))
    return out


def bootstrap_statements(config: Config, names: Names) -> list[Statement]:
    scoped = Names(app=names.app, stage="pipeline", region=names.region, account=names.account)
    lambda_roles = [n.role_arn(n.lambda_role) for n in stage_names(config, scoped)]
    build_role, pipeline_role = scoped.role_arn(scoped.build_role), scoped.role_arn(scoped.pipeline_role)
    return [
        *cicd_statements("Bootstrap", cicd_kinds(config, names), write=True),
        role_management("BootstrapStageRoles", lambda_roles),
        pass_role("BootstrapPassBuildRole", [build_role], "codebuild.amazonaws.com"),
        pass_role("BootstrapPassPipelineRole", [pipeline_role], "codepipeline.amazonaws.com"),
        *(
            [pass_role("BootstrapPassEventsRole", [scoped.role_arn(scoped.events_role)], "events.amazonaws.com")]
            if config.pipeline.source == "codecommit"
            else []
        ),
    ]
