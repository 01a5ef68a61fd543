"""CodeBuild for the embedded AWS: UpdateProject (moto lacks it) and builds that really run.

moto's builds never run and always report SUCCEEDED. Builds started by the local pipeline
(`run_build`) execute the buildspec (`mlpipe.local.buildrun`) and are the ones BatchGetBuilds and
ListBuildsForProject report, with moto's own builds after them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.buildrun import Build, BuildRunner
from mlpipe.local.iam.actors import credentials_for
from mlpipe.local.registry import AwsApiError, Context, before, on_reset, on_shutdown, override, persistent

STATE_KEY = "codebuild"
UPDATABLE = (
    "description",
    "source",
    "artifacts",
    "environment",
    "serviceRole",
    "timeoutInMinutes",
    "queuedTimeoutInMinutes",
    "logsConfig",
    "sourceVersion",
    "tags",
    "cache",
)


@dataclass
class Builds:
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_id: dict[str, Build] = field(default_factory=dict)
    cancelled: threading.Event = field(default_factory=threading.Event)


def builds(ctx: Context) -> Builds:
    found: Builds = ctx.state.setdefault(STATE_KEY, Builds())
    return found


def _backend(ctx: Context, region: str | None = None) -> Any:
    from moto.codebuild.models import codebuild_backends

    return codebuild_backends[ctx.account_id][region or ctx.region]


def project(ctx: Context, region: str, name: str) -> dict[str, Any]:
    found = _backend(ctx, region).codebuild_projects.get(name)
    if found is None:
        raise AwsApiError("ResourceNotFoundException", f"Project cannot be found: {name}")
    metadata: dict[str, Any] = found.project_metadata
    return metadata


@before("codebuild", "CreateProject")
def _pipeline_locations(ctx: Context, params: dict[str, Any]) -> None:
    """AWS needs no location for a CODEPIPELINE source or artifacts; moto insists on one."""
    for key in ("source", "artifacts"):
        section = params.get(key) or {}
        if section.get("type") == "CODEPIPELINE":
            section.setdefault("location", "codepipeline")


@override("codebuild", "UpdateProject")
def update_project(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    metadata = project(ctx, ctx.region, params["name"])
    for key in UPDATABLE:
        if key in params:
            metadata[key] = params[key]
    if "serviceRole" in params:
        _backend(ctx).codebuild_projects[params["name"]].service_role = params["serviceRole"]
    metadata["lastModifiedDate"] = time.time()
    return {"project": metadata}


@override("codebuild", "BatchGetBuilds")
def batch_get_builds(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ids = list(params.get("ids") or [])
    state = builds(ctx)
    with state.lock:
        ours = [state.by_id[i].to_api() for i in ids if i in state.by_id]
    others = [i for i in ids if i not in state.by_id]
    theirs = _backend(ctx).batch_get_builds(others) if others else []
    found = {b["id"] for b in ours + theirs}
    return {"builds": ours + theirs, "buildsNotFound": [i for i in ids if i not in found]}


@override("codebuild", "ListBuildsForProject")
def list_builds_for_project(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["projectName"]
    project(ctx, ctx.region, name)
    state = builds(ctx)
    with state.lock:
        ours = [b for b in state.by_id.values() if b.project == name and b.region == ctx.region]
    newest_first = [b.build_id for b in sorted(ours, key=lambda b: b.started, reverse=True)]
    return {"ids": newest_first + list(reversed(_backend(ctx).list_builds_for_project(name)))}


def run_build(
    ctx: Context, region: str, project_name: str, files: Mapping[str, bytes], source_version: str, initiator: str
) -> Build:
    """Run a build of `project_name` on `files` to completion (in the calling thread)."""
    metadata = project(ctx, region, project_name)
    logs_config = (metadata.get("logsConfig") or {}).get("cloudWatchLogs") or {}
    group = logs_config.get("groupName") or f"/aws/codebuild/{project_name}"
    state = builds(ctx)
    with state.lock:
        number = 1 + sum(1 for b in state.by_id.values() if b.project == project_name)
        build = Build(project_name, region, ctx.account_id, source_version, initiator, group, number=number)
        state.by_id[build.build_id] = build
    shipper = _LogShipper(ctx, region, group, build.build_uuid)
    # The build runs as the project's service role, in a session named like CodeBuild's.
    role = str(metadata.get("serviceRole") or "")
    identity = (
        credentials_for(ctx, role, f"AWSCodeBuild-{build.build_uuid}") if role else ctx.state["credentials"].internal
    )
    BuildRunner(build, shipper.put, state.cancelled).run(metadata, files, ctx.endpoint_url, identity)
    return build


class _LogShipper:
    """Writes build output to CloudWatch Logs (creating the group like CodeBuild does if missing)."""

    def __init__(self, ctx: Context, region: str, group: str, stream: str) -> None:
        import botocore.exceptions

        self.logs = ctx.client("logs", region)
        self.group, self.stream = group, stream
        for create, params in (
            (self.logs.create_log_group, {"logGroupName": group}),
            (self.logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
        ):
            try:
                create(**params)
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise

    def put(self, lines: list[str]) -> None:
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line or " "} for line in lines]
        for i in range(0, len(events), 1000):
            self.logs.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=events[i : i + 1000])


@on_reset
@on_shutdown
def _reset(ctx: Context) -> None:
    state = ctx.state.pop(STATE_KEY, None)
    if isinstance(state, Builds):
        state.cancelled.set()  # running builds stop at their next command


def _after_restart(ctx: Context) -> None:
    """A build of a previous server process ran in that process: it ended with it."""
    state = builds(ctx)
    state.cancelled.clear()
    for build in state.by_id.values():
        if build.status == "IN_PROGRESS":
            build.status, build.ended = "FAULT", build.ended or time.time()


persistent(STATE_KEY, _after_restart)
