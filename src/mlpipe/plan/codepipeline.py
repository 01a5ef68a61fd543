"""Planner for the CodePipeline V2: Source -> Deploy-<stage 1> [-> Approve -> Deploy-<stage 2>].

`observe` does every read and returns a plain snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.calls import call, read
from mlpipe.aws.clients import Clients
from mlpipe.config import PipelineConfig
from mlpipe.names import Names
from mlpipe.plan.codebuild import _subset_differs
from mlpipe.plan.common import require_owned, tag_dict
from mlpipe.plan.model import Call, Change

SOURCE_ACTION = "Source"
SOURCE_OUTPUT = "SourceOutput"
# A role just created is not assumable by CodePipeline for a few seconds.
ROLE_NOT_READY = ("InvalidStructureException:not authorized",)  # see Call.retry_on


def _action(name: str, category: str, provider: str, configuration: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
        "runOrder": 1,
        "configuration": configuration,
        **extra,
    }


def _source_action(pipeline: PipelineConfig, names: Names) -> dict[str, Any]:
    output = {"outputArtifacts": [{"name": SOURCE_OUTPUT}]}
    if pipeline.source == "codecommit":
        # No polling (AWS stops it after 30 idle days): the EventBridge rule of plan/events.py starts runs.
        config = {
            "RepositoryName": names.repository,
            "BranchName": pipeline.branch,
            "PollForSourceChanges": "false",
            "OutputArtifactFormat": "CODE_ZIP",
        }
        return _action(SOURCE_ACTION, "Source", "CodeCommit", config, **output)
    assert pipeline.connection_arn and pipeline.repository_id  # the config validator requires both
    config = {
        "ConnectionArn": pipeline.connection_arn,
        "FullRepositoryId": pipeline.repository_id,
        "BranchName": pipeline.branch,
        "OutputArtifactFormat": "CODE_ZIP",
        "DetectChanges": "false",  # the V2 trigger below starts runs on pushes to the branch
    }
    return _action(SOURCE_ACTION, "Source", "CodeStarSourceConnection", config, **output)


def stage_name(stage: str) -> str:
    return f"Deploy-{stage}"


def declaration(pipeline: PipelineConfig, names: Names, role_arn: str) -> dict[str, Any]:
    stages: list[dict[str, Any]] = [{"name": "Source", "actions": [_source_action(pipeline, names)]}]
    for i, stage in enumerate(pipeline.stages):
        if i > 0 and pipeline.approval:
            approve = _action("Approve", "Approval", "Manual", {"CustomData": f"Deploy to {stage}?"})
            stages.append({"name": f"Approve-{stage}", "actions": [approve]})
        build = _action(
            "Deploy",
            "Build",
            "CodeBuild",
            {"ProjectName": names.build_project(stage)},
            inputArtifacts=[{"name": SOURCE_OUTPUT}],
        )
        stages.append({"name": stage_name(stage), "actions": [build]})
    result: dict[str, Any] = {
        "name": names.pipeline,
        "roleArn": role_arn,
        "artifactStore": {"type": "S3", "location": names.artifact_bucket},
        "stages": stages,
        "pipelineType": "V2",
        "executionMode": pipeline.execution_mode,
    }
    if pipeline.source == "connection":
        push = {"branches": {"includes": [pipeline.branch]}}
        git = {"sourceActionName": SOURCE_ACTION, "push": [push]}
        result["triggers"] = [{"providerType": "CodeStarSourceConnection", "gitConfiguration": git}]
    return result


def get_pipeline(clients: Clients, name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = read(
        clients, clients.client("codepipeline").get_pipeline, name=name, missing=("PipelineNotFoundException",)
    )
    return found


def _tags(clients: Clients, arn: str) -> dict[str, str]:
    return tag_dict(call(clients, clients.client("codepipeline").list_tags_for_resource, resourceArn=arn).get("tags"))


@dataclass(frozen=True)
class Pipeline:
    """What CodePipeline reports about the pipeline: its declaration (GetPipeline) and tags."""

    declaration: Mapping[str, Any]
    tags: Mapping[str, str]


def observe(clients: Clients, names: Names) -> Pipeline | None:
    current = get_pipeline(clients, names.pipeline)
    if current is None:
        return None
    arn = current.get("metadata", {}).get("pipelineArn") or names.pipeline_arn()
    return Pipeline(current["pipeline"], _tags(clients, arn))


def diff(desired: Mapping[str, Any], observed: Pipeline | None, names: Names) -> Change:
    """`desired` is the declaration (`declaration()`)."""
    if observed is None:
        tags = [{"key": k, "value": v} for k, v in sorted(names.tags.items())]
        call = Call("codepipeline", "create_pipeline", {"pipeline": desired, "tags": tags}, retry_on=ROLE_NOT_READY)
        detail = " -> ".join(s["name"] for s in desired["stages"])
        return Change("create", "codepipeline", names.pipeline, detail, (call,))
    require_owned(names, "CodePipeline", names.pipeline, observed.tags)
    existing = observed.declaration
    differ = [key for key, value in desired.items() if _subset_differs(existing.get(key), value)]
    if not differ:
        return Change("noop", "codepipeline", names.pipeline)
    call = Call("codepipeline", "update_pipeline", {"pipeline": desired}, retry_on=ROLE_NOT_READY)
    return Change("update", "codepipeline", names.pipeline, ", ".join(differ) + " changed", (call,))


def plan_pipeline(pipeline: PipelineConfig, clients: Clients, names: Names, role_arn: str) -> Change:
    return diff(declaration(pipeline, names, role_arn), observe(clients, names), names)


def diff_deletion(observed: Pipeline | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "codepipeline", names.pipeline, "absent")
    require_owned(names, "CodePipeline", names.pipeline, observed.tags)
    call = Call("codepipeline", "delete_pipeline", {"name": names.pipeline})
    return Change("delete", "codepipeline", names.pipeline, steps=(call,))


def plan_pipeline_deletion(clients: Clients, names: Names) -> Change:
    return diff_deletion(observe(clients, names), names)
