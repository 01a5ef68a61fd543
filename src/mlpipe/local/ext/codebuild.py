"""CodeBuild for the embedded AWS: UpdateProject (moto lacks it) and builds that really run.

moto's builds never run and always report SUCCEEDED. Builds started by the local pipeline
(`run_build`) execute the buildspec (`mlpipe.local.buildrun`) and are the ones BatchGetBuilds and
ListBuildsForProject report, with moto's own builds after them. A build acts as the project's
service role throughout: its log stream (role_logs), its source download and its commands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.buildrun import Build, BuildRunner, SourceError
from mlpipe.local.iam.actors import credentials_for, role_client
from mlpipe.local.registry import AwsApiError, Context, before, on_reset, on_shutdown, override, persistent
from mlpipe.local.role_logs import RoleLogStream

log = logging.getLogger("mlpipe.local")

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
    ctx: Context,
    region: str,
    project_name: str,
    files: Mapping[str, bytes],
    source_version: str,
    initiator: str,
    artifact: tuple[str, str] | None = None,
) -> Build:
    """Run a build of `project_name` to completion (in the calling thread), as CodeBuild runs it: as
    the project's service role (session `AWSCodeBuild-<build uuid>`), which creates the log stream in
    QUEUED and downloads the source artifact (`artifact`: bucket, key) in DOWNLOAD_SOURCE; without
    an artifact the build gets `files` (a pipeline with no S3 artifact store)."""
    metadata = project(ctx, region, project_name)
    logs_config = (metadata.get("logsConfig") or {}).get("cloudWatchLogs") or {}
    group = logs_config.get("groupName") or f"/aws/codebuild/{project_name}"
    state = builds(ctx)
    with state.lock:
        number = 1 + sum(1 for b in state.by_id.values() if b.project == project_name)
        prefix = str(logs_config.get("streamName") or "")
        build = Build(project_name, region, ctx.account_id, source_version, initiator, group, prefix, number=number)
        state.by_id[build.build_id] = build
    build.add_phase("submitted", "SUCCEEDED", build.started)
    role, session = str(metadata.get("serviceRole") or ""), f"AWSCodeBuild-{build.build_uuid}"
    writer = RoleLogStream(ctx.account_id, region, group, build.log_stream, role, session)
    build.current_phase, queued = "QUEUED", time.time()
    refused = writer.open(ctx)
    if refused:  # CodeBuild checks it can log before it provisions anything
        message = (
            f"Service role {role} does not allow AWS CodeBuild to create Amazon CloudWatch Logs log streams "
            f"for build {build.arn}. Error message: {refused.removeprefix('AccessDenied: ')}"
        )
        build.add_phase("queued", "FAILED", queued, ("ACCESS_DENIED", message))
        return build.finish("FAILED")
    build.add_phase("queued", "SUCCEEDED", queued)
    identity = credentials_for(ctx, role, session)  # a role: without one, open() refused
    source = (
        (lambda: dict(files)) if artifact is None else (lambda: download_source(ctx, region, role, session, artifact))
    )
    BuildRunner(build, _LogShipper(ctx, writer, build).put, state.cancelled).run(
        metadata, source, ctx.endpoint_url, identity
    )
    return build


def download_source(ctx: Context, region: str, role: str, session: str, artifact: tuple[str, str]) -> dict[str, bytes]:
    """The pipeline's source artifact (a zip in its artifact store), read from S3 as the service role."""
    import io
    import zipfile

    import botocore.exceptions

    bucket, key = artifact
    where = f"for primary source and source version arn:aws:s3:::{bucket}/{key}"
    if not role:
        raise SourceError("CLIENT_ERROR", f"no service role to download key {key} with {where}")
    try:
        body = role_client(ctx, role, session, "s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as exc:  # CodeBuild's agent words it as the Go SDK does
        error, meta = exc.response.get("Error", {}), exc.response.get("ResponseMetadata", {})
        raise SourceError(
            "CLIENT_ERROR",
            f"error while downloading key {key}, error: {error.get('Code')}: {error.get('Message')} "
            f"status code: {meta.get('HTTPStatusCode')}, request id: {meta.get('RequestId', '')}, "
            f"host id: {meta.get('HostId', '')} {where}",
        ) from None
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    except zipfile.BadZipFile:
        raise SourceError("CLIENT_ERROR", f"the source artifact is not a zip file {where}") from None


class _LogShipper:
    """Writes build output to the build's stream (opened in QUEUED) as the service role. A refused
    PutLogEvents loses those lines; the build goes on, and the server log says so once."""

    def __init__(self, ctx: Context, writer: RoleLogStream, build: Build) -> None:
        self.ctx, self.writer, self.build = ctx, writer, build
        self.refused = ""

    def put(self, lines: list[str]) -> None:
        now = int(time.time() * 1000)
        refused = self.writer.put(self.ctx, [{"timestamp": now, "message": line or " "} for line in lines])
        if refused and not self.refused:
            log.warning("build %s: its log lines are lost: %s", self.build.build_id, refused)
        self.refused = refused or self.refused


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
