"""CodePipeline executions that really run, for the embedded AWS.

moto stores pipelines but marks every execution Succeeded at once and lacks GetPipelineState. Here
an execution runs in a background thread, stage by stage: a CodeCommit source takes the files at
the branch tip (from `ext.codecommit`), a CodeBuild action runs the buildspec (`ext.codebuild`), a
manual approval waits for PutApprovalResult. Executions of one pipeline run one at a time (QUEUED;
SUPERSEDED is treated the same). A new commit on a tracked branch starts an execution; creating a
pipeline does not (AWS would start one; locally the `--push` commit does).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.ext import codebuild, codecommit
from mlpipe.local.iam.actors import require, role_client
from mlpipe.local.registry import AwsApiError, Context, after, on_reset, on_shutdown, override, persistent

STATE_KEY = "codepipeline"
APPROVAL_TIMEOUT_S = 3600
PIPELINE_SESSION = "CodePipeline"  # the role session the pipeline acts as


@dataclass
class ActionRun:
    name: str
    status: str = "InProgress"
    summary: str = ""
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    external_id: str | None = None
    error: str | None = None
    token: str | None = None

    def to_api(self, execution_id: str) -> dict[str, Any]:
        latest: dict[str, Any] = {
            "actionExecutionId": f"{execution_id}-{self.name}",
            "status": self.status,
            "lastStatusChange": self.updated,
        }
        if self.summary:
            latest["summary"] = self.summary
        if self.external_id:
            latest["externalExecutionId"] = self.external_id
        if self.token and self.status == "InProgress":
            latest["token"] = self.token
        if self.error:
            latest["errorDetails"] = {"code": "JobFailed", "message": self.error}
        return {"actionName": self.name, "latestExecution": latest}


@dataclass
class Execution:
    pipeline: str
    region: str
    version: int
    trigger: str
    trigger_detail: str
    execution_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "InProgress"
    summary: str = ""
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    revision: dict[str, str] | None = None  # actionName, revisionId, revisionSummary
    artifact: tuple[str, str] | None = None  # the source artifact in the artifact store: (bucket, key)
    stages: dict[str, tuple[str, list[ActionRun]]] = field(default_factory=dict)  # name -> (status, actions)

    def summary_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pipelineExecutionId": self.execution_id,
            "status": self.status,
            "startTime": self.started,
            "lastUpdateTime": self.updated,
            "sourceRevisions": [self.revision] if self.revision else [],
            "trigger": {"triggerType": self.trigger, "triggerDetail": self.trigger_detail},
            "executionMode": "QUEUED",
        }
        if self.summary:
            out["statusSummary"] = self.summary
        return out


@dataclass
class Executions:
    lock: threading.RLock = field(default_factory=threading.RLock)
    by_pipeline: dict[tuple[str, str], list[Execution]] = field(default_factory=dict)  # newest last
    runners: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)  # one run at a time
    approvals: dict[str, tuple[threading.Event, dict[str, str]]] = field(default_factory=dict)
    stopped: threading.Event = field(default_factory=threading.Event)


def executions(ctx: Context) -> Executions:
    found: Executions = ctx.state.setdefault(STATE_KEY, Executions())
    return found


def _pipeline(ctx: Context, region: str, name: str) -> dict[str, Any]:
    from moto.codepipeline.models import codepipeline_backends

    found = codepipeline_backends[ctx.account_id][region].pipelines.get(name)
    if found is None:
        raise AwsApiError(
            "PipelineNotFoundException", f"Account '{ctx.account_id}' does not have a pipeline with name '{name}'"
        )
    declaration: dict[str, Any] = found.pipeline
    return declaration


def start(ctx: Context, region: str, name: str, trigger: str, detail: str) -> Execution:
    declaration = _pipeline(ctx, region, name)
    state = executions(ctx)
    execution = Execution(name, region, int(declaration.get("version", 1)), trigger, detail)
    with state.lock:
        state.by_pipeline.setdefault((region, name), []).append(execution)
        runner_lock = state.runners.setdefault((region, name), threading.Lock())
    thread = threading.Thread(
        target=_run, args=(ctx, state, execution, runner_lock), name=f"pipeline-{name}", daemon=True
    )
    thread.start()
    return execution


def _run(ctx: Context, state: Executions, execution: Execution, runner_lock: threading.Lock) -> None:
    with runner_lock:  # QUEUED: wait for the previous execution of this pipeline
        if state.stopped.is_set():
            return
        declaration = _pipeline(ctx, execution.region, execution.pipeline)
        files: dict[str, bytes] = {}
        for stage in declaration["stages"]:
            if state.stopped.is_set():  # the embedded AWS was reset: abandon the run
                return
            actions = [ActionRun(a["name"]) for a in stage["actions"]]
            execution.stages[stage["name"]] = ("InProgress", actions)
            ok = True
            for action, spec in zip(actions, stage["actions"], strict=True):
                try:
                    files = _act(ctx, state, execution, action, spec, files)
                except Exception as exc:  # an action failing in any way fails the execution
                    action.status, action.error = "Failed", str(exc)
                action.updated = execution.updated = time.time()
                ok = ok and action.status == "Succeeded"
            execution.stages[stage["name"]] = ("Succeeded" if ok else "Failed", actions)
            if not ok:
                failed = next(a for a in actions if a.status != "Succeeded")
                execution.status = "Failed"
                execution.summary = f"{stage['name']}/{failed.name}: {failed.error or failed.summary}"
                break
        else:
            execution.status = "Succeeded"
        execution.updated = time.time()


def _act(
    ctx: Context,
    state: Executions,
    execution: Execution,
    action: ActionRun,
    spec: dict[str, Any],
    files: dict[str, bytes],
) -> dict[str, bytes]:
    kind = (spec["actionTypeId"]["category"], spec["actionTypeId"]["provider"])
    config = spec.get("configuration") or {}
    role = str(_pipeline(ctx, execution.region, execution.pipeline).get("roleArn") or "")
    if kind == ("Source", "CodeCommit"):
        repository = f"arn:aws:codecommit:{execution.region}:{ctx.account_id}:{config['RepositoryName']}"
        for needed in ("codecommit:GetBranch", "codecommit:GetCommit", "codecommit:UploadArchive"):
            _as_pipeline_role(ctx, role, needed, repository)
        head = codecommit.head_files(ctx, execution.region, config["RepositoryName"], config["BranchName"])
        if head is None:
            raise RuntimeError(f"branch {config['BranchName']} of {config['RepositoryName']} has no commit")
        commit, files = head
        execution.artifact = _store_source_artifact(ctx, execution, files)
        execution.revision = {"actionName": action.name, "revisionId": commit, "revisionSummary": commit[:8]}
        action.external_id, action.summary, action.status = commit, f"commit {commit[:8]}", "Succeeded"
        return files
    if kind == ("Build", "CodeBuild"):
        revision = (execution.revision or {}).get("revisionId", "")
        initiator = f"codepipeline/{execution.pipeline}"
        project = f"arn:aws:codebuild:{execution.region}:{ctx.account_id}:project/{config['ProjectName']}"
        for needed in ("codebuild:StartBuild", "codebuild:BatchGetBuilds"):
            _as_pipeline_role(ctx, role, needed, project)
        build = codebuild.run_build(
            ctx, execution.region, config["ProjectName"], files, revision, initiator, execution.artifact
        )
        action.external_id = build.build_id
        action.status = "Succeeded" if build.status == "SUCCEEDED" else "Failed"
        if build.status != "SUCCEEDED":
            action.error = build.failure()
        return files
    if kind == ("Approval", "Manual"):
        action.token = str(uuid.uuid4())
        event: threading.Event = threading.Event()
        result: dict[str, str] = {}
        with state.lock:
            state.approvals[action.token] = (event, result)
        if not event.wait(APPROVAL_TIMEOUT_S) or state.stopped.is_set():
            action.status, action.error = "Failed", "approval timed out"
        else:
            action.summary = result.get("summary", "")
            action.status = "Succeeded" if result.get("status") == "Approved" else "Failed"
            if action.status == "Failed":
                action.error = f"rejected: {action.summary}"
        return files
    raise RuntimeError(f"the embedded AWS cannot run {kind[0]} actions of provider {kind[1]}")


def _store_source_artifact(ctx: Context, execution: Execution, files: dict[str, bytes]) -> tuple[str, str] | None:
    """Like CodePipeline, keep the source revision as a zip in the artifact store: (bucket, key), which
    the build downloads, or None without an S3 artifact store."""
    import io
    import zipfile

    store = _pipeline(ctx, execution.region, execution.pipeline).get("artifactStore") or {}
    if store.get("type") != "S3" or not store.get("location"):
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            archive.writestr(path, content)
    key = f"{execution.pipeline[:20]}/SourceOutput/{execution.execution_id[:8]}.zip"
    role = str(_pipeline(ctx, execution.region, execution.pipeline).get("roleArn") or "")
    if not role:  # never the emulator's own rights
        raise PermissionError(f"the pipeline has no service role to write s3://{store['location']}/{key} with")
    s3 = role_client(ctx, role, PIPELINE_SESSION, "s3", execution.region)
    s3.put_object(Bucket=store["location"], Key=key, Body=buffer.getvalue())
    return str(store["location"]), key


def _as_pipeline_role(ctx: Context, role: str, action: str, resource: str) -> None:
    """CodePipeline reads the source and starts builds as the pipeline's role: check it like AWS.
    A pipeline always has one on AWS (the API refuses another value); one stored without it acts as nobody."""
    if not role:
        raise PermissionError(f"the pipeline has no service role to perform {action} on {resource} with")
    require(ctx, role, PIPELINE_SESSION, action, resource)


def _on_commit(ctx: Context, region: str, repository: str, branch: str, commit: str) -> None:
    """A push: pipelines that poll the branch (PollForSourceChanges, AWS's default when absent) start as
    CodePipeline's poller would; the branch event goes to EventBridge, whose rules start the others."""
    from moto.codepipeline.models import codepipeline_backends

    from mlpipe.local.ext import events_delivery

    for name, pipeline in list(codepipeline_backends[ctx.account_id][region].pipelines.items()):
        source = pipeline.pipeline["stages"][0]["actions"][0]
        config = source.get("configuration") or {}
        tracked = source["actionTypeId"]["provider"] == "CodeCommit" and (
            config.get("RepositoryName"),
            config.get("BranchName"),
        ) == (repository, branch)
        if tracked and str(config.get("PollForSourceChanges", "true")).lower() == "true":
            start(ctx, region, name, "PollForSourceChanges", f"codecommit {repository}@{branch} {commit[:8]}")
    created = not codecommit.repository(ctx, repository, region).commit(commit).parents
    events_delivery.publish(
        ctx, region, events_delivery.codecommit_event(ctx, region, repository, branch, commit, created)
    )


codecommit.COMMIT_LISTENERS.append(_on_commit)


@override("codepipeline", "StartPipelineExecution")
def start_pipeline_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    caller = str(getattr(ctx.request_state.get("identity"), "principal_arn", "") or "")
    events = ":assumed-role/" in caller and caller.endswith("/events")  # an EventBridge rule's target role
    trigger, detail = ("CloudWatchEvent", caller) if events else ("StartPipelineExecution", "mlpipe")
    execution = start(ctx, ctx.region, params["name"], trigger, detail)
    return {"pipelineExecutionId": execution.execution_id}


def _history(ctx: Context, name: str) -> list[Execution]:
    _pipeline(ctx, ctx.region, name)
    state = executions(ctx)
    with state.lock:
        return list(reversed(state.by_pipeline.get((ctx.region, name), [])))


@override("codepipeline", "ListPipelineExecutions")
def list_pipeline_executions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = _history(ctx, params["pipelineName"])[: int(params.get("maxResults") or 100)]
    return {"pipelineExecutionSummaries": [e.summary_api() for e in found]}


@override("codepipeline", "GetPipelineExecution")
def get_pipeline_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    for e in _history(ctx, params["pipelineName"]):
        if e.execution_id == params["pipelineExecutionId"]:
            summary = e.summary_api()
            return {
                "pipelineExecution": {
                    "pipelineName": e.pipeline,
                    "pipelineVersion": e.version,
                    "pipelineExecutionId": e.execution_id,
                    "status": e.status,
                    **({"statusSummary": e.summary} if e.summary else {}),
                    "artifactRevisions": [],
                    "trigger": summary["trigger"],
                    "executionMode": "QUEUED",
                }
            }
    raise AwsApiError("PipelineExecutionNotFoundException", f"no execution {params['pipelineExecutionId']}")


@override("codepipeline", "GetPipelineState")
def get_pipeline_state(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    declaration = _pipeline(ctx, ctx.region, name)
    history = _history(ctx, name)
    stages = []
    for stage in declaration["stages"]:
        state: dict[str, Any] = {"stageName": stage["name"], "inboundTransitionState": {"enabled": True}}
        latest = next((e for e in history if stage["name"] in e.stages), None)
        if latest is not None:
            status, actions = latest.stages[stage["name"]]
            state["latestExecution"] = {"pipelineExecutionId": latest.execution_id, "status": status}
            state["actionStates"] = [a.to_api(latest.execution_id) for a in actions]
        else:
            state["actionStates"] = [{"actionName": a["name"]} for a in stage["actions"]]
        stages.append(state)
    return {"pipelineName": name, "pipelineVersion": int(declaration.get("version", 1)), "stageStates": stages}


@override("codepipeline", "PutApprovalResult")
def put_approval_result(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    state = executions(ctx)
    with state.lock:
        waiting = state.approvals.pop(params.get("token") or "", None)
    if waiting is None:
        raise AwsApiError("InvalidApprovalTokenException", "the approval token is not valid (or already used)")
    event, result = waiting
    result.update({"status": params["result"]["status"], "summary": params["result"].get("summary", "")})
    event.set()
    return {"approvedAt": time.time()}


@after("codepipeline", "DeletePipeline")
def _forget(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    state = executions(ctx)
    with state.lock:
        state.by_pipeline.pop((ctx.region, params["name"]), None)


@on_reset
@on_shutdown
def _reset(ctx: Context) -> None:
    state = ctx.state.pop(STATE_KEY, None)
    if isinstance(state, Executions):
        state.stopped.set()
        for event, _ in state.approvals.values():
            event.set()


def _after_restart(ctx: Context) -> None:
    """Runs of a previous server process cannot continue: they failed, as an interrupted action does."""
    state = executions(ctx)
    state.stopped.clear()
    state.approvals.clear()
    for history in state.by_pipeline.values():
        for execution in history:
            if execution.status != "InProgress":
                continue
            execution.status, execution.summary = "Failed", "interrupted: the embedded AWS restarted"
            for name, (status, actions) in list(execution.stages.items()):
                for action in actions:
                    if action.status == "InProgress":
                        action.status, action.error = "Failed", execution.summary
                if status == "InProgress":
                    execution.stages[name] = ("Failed", actions)


persistent(STATE_KEY, _after_restart)
