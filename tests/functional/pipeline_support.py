"""Helpers for the pipeline tests: a project directory, the CLI in-process, waiting for runs, counting calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from local_helpers import wait_for

from mlpipe.aws.clients import Clients
from mlpipe.lambda_package import handler_dir

SERVICES = ("s3", "logs", "iam", "sts", "codecommit", "codebuild", "codepipeline", "events")
READ_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet")


def make_project(root: Path, config: dict[str, Any]) -> Path:
    """mlpipe.yaml plus a copy of the bundled handler in handler/; returns the config path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "handler").mkdir(exist_ok=True)
    for path in handler_dir().iterdir():
        if path.is_file() and path.suffix == ".py":
            (root / "handler" / path.name).write_bytes(path.read_bytes())
    config_path = root / "mlpipe.yaml"
    config_path.write_text(yaml.safe_dump(config))
    return config_path


def cli(config_path: Path, endpoint_url: str, *args: str) -> int:
    from mlpipe.cli.app import run

    return run(["--config", str(config_path), "--endpoint-url", endpoint_url, *args])


def executions(clients: Clients, pipeline: str) -> list[dict[str, Any]]:
    response = clients.client("codepipeline").list_pipeline_executions(pipelineName=pipeline)
    summaries: list[dict[str, Any]] = response["pipelineExecutionSummaries"]
    return summaries


def wait_for_run(
    clients: Clients, pipeline: str, count: int, timeout_s: float = 120, until: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The `count`-th execution, once it finished (or reached a status in `until`)."""
    seen: list[list[dict[str, Any]]] = [[]]

    def finished() -> dict[str, Any] | None:
        found = seen[0] = executions(clients, pipeline)
        if len(found) >= count:
            run = found[len(found) - count]  # newest first
            if run["status"] != "InProgress" or run["status"] in until:
                return run
        return None

    try:
        run: dict[str, Any] = wait_for(finished, timeout_s, f"finished run #{count} of {pipeline}", interval=0.3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {seen[0]}") from None
    return run


def wait_for_action(clients: Clients, pipeline: str, stage: str, status: str, timeout_s: float = 120) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        for s in clients.client("codepipeline").get_pipeline_state(name=pipeline)["stageStates"]:
            latest = (s.get("actionStates") or [{}])[0].get("latestExecution") or {}
            if s["stageName"] == stage and latest.get("status") == status:
                return dict(latest)
        return None

    latest: dict[str, Any] = wait_for(reached, timeout_s, f"{pipeline} stage {stage} reaching {status}", interval=0.3)
    return latest


def code_sha(clients: Clients, function: str) -> str:
    return str(clients.client("lambda").get_function(FunctionName=function)["Configuration"]["CodeSha256"])


@dataclass
class CallLog:
    """Every API call made through `clients`, as operation names (botocore before-call hooks)."""

    calls: list[str] = field(default_factory=list)

    def attach(self, clients: Clients) -> CallLog:
        for service in SERVICES:
            clients.client(service).meta.events.register("before-call.*.*", self._record)
        return self

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}:{model.name}")

    @property
    def mutating(self) -> list[str]:
        return [c for c in self.calls if not c.split(":")[1].startswith(READ_PREFIXES)]


def inventory(clients: Clients) -> dict[str, list[str]]:
    """Everything the tests' bad inputs must not have created."""
    return {
        "buckets": [b["Name"] for b in clients.client("s3").list_buckets().get("Buckets", [])],
        "roles": [r["RoleName"] for r in clients.client("iam").list_roles().get("Roles", [])],
        "projects": clients.client("codebuild").list_projects().get("projects", []),
        "pipelines": [p["name"] for p in clients.client("codepipeline").list_pipelines().get("pipelines", [])],
        "log groups": [g["logGroupName"] for g in clients.client("logs").describe_log_groups().get("logGroups", [])],
    }
