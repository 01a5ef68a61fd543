"""The pipeline's latest executions and stage/action states; for a failed build, where its log is.

Used by `mlpipe tail pipeline` and by the pipeline rows of `mlpipe status`. Read calls only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.plan.reads import read
from mlpipe.waiting import Poll

LOG_TAIL_LINES = 20
RUNNING = ("InProgress", "Stopping")


@dataclass
class ActionState:
    stage: str
    action: str
    status: str  # Succeeded | Failed | InProgress | ... ; "" when it never ran
    summary: str = ""
    error: str = ""
    external_id: str = ""  # a build id, a commit id
    log_group: str = ""
    log_stream: str = ""
    log_tail: list[str] = field(default_factory=list)  # last lines of a failed build's log

    @property
    def log_pointer(self) -> str:
        return f"{self.log_group} {self.log_stream}".strip()


@dataclass
class ExecutionSummary:
    execution_id: str
    status: str
    started: str
    updated: str
    trigger: str = ""
    revision: str = ""
    summary: str = ""


@dataclass
class PipelineStatus:
    pipeline: str
    exists: bool
    executions: list[ExecutionSummary] = field(default_factory=list)
    actions: list[ActionState] = field(default_factory=list)

    @property
    def latest(self) -> ExecutionSummary | None:
        return self.executions[0] if self.executions else None

    @property
    def running(self) -> bool:
        return self.latest is not None and self.latest.status in RUNNING

    @property
    def failing(self) -> list[ActionState]:
        return [a for a in self.actions if a.status == "Failed"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["running"] = self.running
        return data


def _time(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value or "")


def _executions(clients: Clients, name: str, limit: int) -> list[ExecutionSummary]:
    cp = clients.client("codepipeline")
    response = read(clients, lambda: cp.list_pipeline_executions(pipelineName=name, maxResults=limit)) or {}
    out = []
    for e in response.get("pipelineExecutionSummaries", [])[:limit]:
        revisions = e.get("sourceRevisions") or [{}]
        out.append(
            ExecutionSummary(
                execution_id=e["pipelineExecutionId"],
                status=e.get("status", ""),
                started=_time(e.get("startTime")),
                updated=_time(e.get("lastUpdateTime")),
                trigger=(e.get("trigger") or {}).get("triggerType", ""),
                revision=str(revisions[0].get("revisionSummary") or revisions[0].get("revisionId") or ""),
                summary=e.get("statusSummary") or "",
            )
        )
    return out


def _attach_build_log(clients: Clients, action: ActionState) -> None:
    """Where a failed build logged, and its last lines (the reason is almost always there)."""
    cb = clients.client("codebuild")
    builds = (read(clients, lambda: cb.batch_get_builds(ids=[action.external_id])) or {}).get("builds") or []
    logs = (builds[0].get("logs") or {}) if builds else {}
    action.log_group, action.log_stream = logs.get("groupName", ""), logs.get("streamName", "")
    if not (action.log_group and action.log_stream):
        return
    cw = clients.client("logs")
    events = read(
        clients,
        lambda: cw.get_log_events(
            logGroupName=action.log_group, logStreamName=action.log_stream, limit=LOG_TAIL_LINES, startFromHead=False
        ),
        ("ResourceNotFoundException",),
    )
    action.log_tail = [e["message"] for e in (events or {}).get("events", [])]


def _actions(clients: Clients, name: str) -> list[ActionState]:
    cp = clients.client("codepipeline")
    state = read(clients, lambda: cp.get_pipeline_state(name=name)) or {}
    out = []
    for stage in state.get("stageStates", []):
        for a in stage.get("actionStates", []):
            latest = a.get("latestExecution") or {}
            action = ActionState(
                stage=stage["stageName"],
                action=a["actionName"],
                status=latest.get("status", ""),
                summary=latest.get("summary", ""),
                error=(latest.get("errorDetails") or {}).get("message", ""),
                external_id=latest.get("externalExecutionId", ""),
            )
            if action.status == "Failed" and ":" in action.external_id:  # a CodeBuild build id
                _attach_build_log(clients, action)
            out.append(action)
    return out


def pipeline_status(config: Config, clients: Clients, names: Names | None = None, limit: int = 5) -> PipelineStatus:
    from mlpipe.plan.codepipeline import get_pipeline

    name = (names or clients.names(config.app, config.stage)).pipeline
    if get_pipeline(clients, name) is None:
        return PipelineStatus(name, exists=False)
    return PipelineStatus(name, True, _executions(clients, name, limit), _actions(clients, name))


def watch(
    config: Config,
    clients: Clients,
    max_seconds: float,
    interval_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[PipelineStatus]:
    """Yield the status now, then again every `interval_s` while the latest execution runs."""
    for _ in Poll(max_seconds, interval_s, clock=clock, sleep=sleep):
        current = pipeline_status(config, clients)
        yield current
        if not current.running:
            return
