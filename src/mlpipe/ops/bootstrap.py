"""`mlpipe bootstrap-pipeline`: the CI/CD that runs `mlpipe deploy` on every commit.

Artifact bucket, build log groups, the Lambda role of every pipeline stage (created here so the
build never needs iam:CreateRole), the build and pipeline roles, the source repository, one
CodeBuild project per stage and the CodePipeline V2; with `push`, a commit of the project's files.

The CI/CD resources belong to the app, not to one stage: they are tagged `mlpipe:stage=pipeline`
(`PIPELINE_SCOPE`). Planning makes read calls only, so a bad input or a foreign resource stops the
command before anything is created.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.build.buildspec import WheelhouseRef, render_buildspec
from mlpipe.config import DEFAULT_CONFIG_FILE, Config
from mlpipe.errors import UsageError
from mlpipe.names import PIPELINE_SCOPE, Names
from mlpipe.plan.apply import ApplyResult, apply_plan
from mlpipe.plan.boundary import plan_boundary, plan_boundary_deletion
from mlpipe.plan.codebuild import ProjectSpec, plan_project, plan_project_deletion
from mlpipe.plan.codecommit import (
    plan_commit,
    plan_repository,
    plan_repository_deletion,
    repository,
    require_branch,
)
from mlpipe.plan.codepipeline import plan_pipeline, plan_pipeline_deletion
from mlpipe.plan.events import events_role_spec, plan_rule, plan_rule_deletion
from mlpipe.plan.iam import RoleSpec, plan_role, plan_role_deletion
from mlpipe.plan.logs import plan_log_group, plan_log_group_deletion
from mlpipe.plan.model import Change, Plan
from mlpipe.plan.s3 import BucketSpec, plan_bucket, plan_bucket_deletion
from mlpipe.plan.wheelhouse import plan_wheelhouse
from mlpipe.policies.boundary import boundary_policy
from mlpipe.policies.build_role import build_role_policy, stage_names
from mlpipe.policies.pipeline_role import pipeline_role_policy
from mlpipe.reporter import Reporter

ARTIFACT_EXPIRY_DAYS = 30
COMMIT_MESSAGE = "mlpipe bootstrap-pipeline: mlpipe.yaml and handler"


@dataclass
class BootstrapResult:
    plan: Plan
    names: Names
    dry_run: bool
    pushed: bool
    applied: ApplyResult | None = None
    branch_has_commits: bool = False  # the tracked branch of the CodeCommit repository (after this run)

    @property
    def changed(self) -> bool:
        return not self.plan.is_empty

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.names.app,
            "pipeline": self.names.pipeline,
            "repository": self.names.repository,
            "dry_run": self.dry_run,
            "push": self.pushed,
            "plan": self.plan.to_dict(),
            "api_calls": self.applied.calls if self.applied else 0,
        }


def pipeline_names(config: Config, clients: Clients) -> Names:
    return Names(app=config.app, stage=PIPELINE_SCOPE, region=clients.region, account=clients.account_id)


def _scoped(names: Names) -> Names:
    return dataclasses.replace(names, stage=PIPELINE_SCOPE)


def project_files(config: Config, config_path: Path) -> dict[str, bytes]:
    """What `--push` commits: mlpipe.yaml and the handler files (the buildspec is the project's, not the repo's)."""
    from mlpipe.lambda_package import PROJECT_HANDLER_DIR, handler_source

    try:
        files = {DEFAULT_CONFIG_FILE: config_path.read_bytes()}
    except OSError as exc:
        raise UsageError(f"{config_path}: cannot read the config to push: {exc}") from None
    source = handler_source(config_path.resolve().parent)
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"{PROJECT_HANDLER_DIR}/{path.relative_to(source).as_posix()}"] = path.read_bytes()
    return files


def role_specs(config: Config, names: Names) -> list[tuple[RoleSpec, Names]]:
    """Every role bootstrap creates, with the scope it is tagged for: each stage's Lambda role and
    build role (capped by that stage's boundary), and the pipeline role (capped by the CI/CD one)."""
    from mlpipe.ops.deploy import lambda_role_spec  # the very spec deploy plans, so deploy finds it unchanged

    specs = []
    for stage in stage_names(config, names):
        specs.append((lambda_role_spec(config.model_copy(update={"stage": stage.stage}), stage), stage))
        policy = build_role_policy(config, names, stage.stage)
        description = f"mlpipe build of {names.app} stage {stage.stage}"
        build = RoleSpec(names.build_role(stage.stage), "codebuild.amazonaws.com", policy, description)
        specs.append((dataclasses.replace(build, boundary_arn=stage.boundary_arn), stage))
    policy = pipeline_role_policy(config, names)
    pipeline = RoleSpec(names.pipeline_role, "codepipeline.amazonaws.com", policy, "mlpipe CI/CD", names.boundary_arn)
    specs.append((pipeline, names))
    return specs


def boundary_changes(config: Config, clients: Clients, names: Names) -> list[Change]:
    """Each stage's boundary and the CI/CD one, before any role that carries them."""
    scopes = [*stage_names(config, names), names]
    return [plan_boundary(boundary_policy(config, scope), clients, scope) for scope in scopes]


def project_spec(config: Config, names: Names, stage: str, wheelhouse: WheelhouseRef) -> ProjectSpec:
    return ProjectSpec(
        name=names.build_project(stage),
        description=f"mlpipe deploy of {names.app} to stage {stage}",
        image=config.pipeline.build_image,
        buildspec=render_buildspec(config.pipeline, wheelhouse),
        service_role_arn=names.role_arn(names.build_role(stage)),  # one role per stage
        log_group=names.build_log_group(stage),
        environment=(("MLPIPE_STAGE", stage),),
    )


def plan_bootstrap(
    config: Config,
    clients: Clients,
    names: Names,
    files: Mapping[str, bytes] | None = None,
    *,
    build_wheelhouse: bool = True,
) -> Plan:
    """Read what exists and return the changes in dependency order. Read calls only (building a
    missing wheelhouse uses the package index; `build_wheelhouse=False`, for status, never does)."""
    pipeline = config.pipeline
    bucket = plan_bucket(BucketSpec(names.artifact_bucket, expire_days=ARTIFACT_EXPIRY_DAYS), clients, names)
    wheelhouse, ref = plan_wheelhouse(
        pipeline, clients, names.artifact_bucket, bucket_exists=bucket.action != "create", build=build_wheelhouse
    )
    changes: list[Change] = [bucket, wheelhouse]
    for stage in pipeline.stages:
        changes.append(plan_log_group(names.build_log_group(stage), config.function.log_retention_days, clients, names))
    changes += boundary_changes(config, clients, names)
    changes += [plan_role(spec, clients, scope) for spec, scope in role_specs(config, names)]
    if pipeline.source == "codecommit":
        changes.append(plan_repository(names.repository, f"mlpipe app {names.app}", clients, names))
        require_branch(clients, names.repository, pipeline.branch)
    changes += [plan_project(project_spec(config, names, stage, ref), clients, names) for stage in pipeline.stages]
    changes.append(plan_pipeline(pipeline, clients, names, names.role_arn(names.pipeline_role)))
    if pipeline.source == "codecommit":  # runs start from an EventBridge rule, not from polling
        events_role = dataclasses.replace(events_role_spec(names), boundary_arn=names.boundary_arn)
        changes.append(plan_role(events_role, clients, names))
        changes.append(plan_rule(pipeline, clients, names))
    if files is not None:
        changes.append(plan_commit(names.repository, pipeline.branch, files, clients, COMMIT_MESSAGE))
    return Plan(tuple(changes))


def bootstrap(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    *,
    dry_run: bool = False,
    push: bool = False,
    config_path: Path | None = None,
) -> BootstrapResult:
    if push and config.pipeline.source != "codecommit":
        raise UsageError(
            "--push commits to the CodeCommit repository, but pipeline.source is 'connection'",
            hint="push to your GitHub/GitLab/Bitbucket repository with git instead",
        )
    files = None
    if push:
        files = project_files(config, config_path or Path(DEFAULT_CONFIG_FILE))
    names = pipeline_names(config, clients)
    plan = plan_bootstrap(config, clients, names, files, build_wheelhouse=not dry_run)
    result = BootstrapResult(plan, names, dry_run, push)
    if not dry_run:
        result.applied = apply_plan(plan, clients, reporter)
    if config.pipeline.source == "codecommit":
        from mlpipe.plan.codecommit import branch_head

        # Whether a git push to it must merge first (the commit --push made, or earlier pushes).
        result.branch_has_commits = push or branch_head(clients, names.repository, config.pipeline.branch) is not None
    return result


def plan_pipeline_destroy(
    config: Config, clients: Clients, names: Names, force: bool = False, deleting: Sequence[str] = ()
) -> Plan:
    """Remove the CI/CD resources. The bucket and the repository (which hold data) only when empty or
    with `force`. The Lambda roles stay: they belong to each stage's deployment (`destroy` removes them);
    a stage's boundary goes with its build role when none of its roles is left."""
    names = _scoped(names)
    changes = [plan_rule_deletion(clients, names), plan_pipeline_deletion(clients, names)]
    for stage in config.pipeline.stages:
        changes.append(plan_project_deletion(names.build_project(stage), clients, names))
        changes.append(plan_log_group_deletion(names.build_log_group(stage), clients, names))
    if config.pipeline.source == "codecommit":
        changes.append(_repository_deletion(clients, names, force))
    changes.append(plan_role_deletion(names.pipeline_role, clients, names))
    for scope in stage_names(config, names):
        changes.append(plan_role_deletion(names.build_role(scope.stage), clients, scope))
    changes.append(plan_role_deletion(names.events_role, clients, names))
    changes.append(plan_bucket_deletion(names.artifact_bucket, clients, names, force))
    return Plan((*changes, *_boundary_deletions(config, clients, names, deleting)))


def _boundary_deletions(config: Config, clients: Clients, names: Names, deleting: Sequence[str]) -> list[Change]:
    """Last: each stage's boundary once no role of that stage is left (`deleting`: roles this very
    destroy removes), then the CI/CD one."""
    changes = []
    for stage in stage_names(config, names):
        users = [r for r in (stage.lambda_role, stage.sagemaker_role) if r not in deleting]
        changes.append(plan_boundary_deletion(clients, stage, users))
    changes.append(plan_boundary_deletion(clients, names))
    return changes


def _repository_deletion(clients: Clients, names: Names, force: bool) -> Change:
    from mlpipe.plan.codecommit import branch_head

    change = plan_repository_deletion(names.repository, clients, names)
    if change.action == "delete" and not force:
        meta = repository(clients, names.repository) or {}
        branch = meta.get("defaultBranch")
        if branch and branch_head(clients, names.repository, branch):
            return Change("noop", change.kind, change.name, "kept: it holds commits; --force deletes it")
    return change


def kept_data(config: Config, clients: Clients, names: Names) -> list[Change]:
    """What `destroy --pipeline` without --force keeps (a repository with commits, a bucket with
    objects), as noop changes whose detail starts with "kept:". Read calls only."""
    names = _scoped(names)
    changes = [plan_bucket_deletion(names.artifact_bucket, clients, names, force=False)]
    if config.pipeline.source == "codecommit":
        changes.insert(0, _repository_deletion(clients, names, force=False))
    return [c for c in changes if c.detail.startswith("kept:")]
