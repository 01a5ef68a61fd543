"""An event source mapping's problems, as AWS shows them, through the embedded AWS and `mlpipe status`.

AWS gives an SQS mapping no LastProcessingResult and `StateTransitionReason: USER_INITIATED`, whatever
its poller meets (docs/CONTRACTS.md, "Event source mapping state"): a role that may no longer receive
leaves the mapping Enabled and the message waiting; `mlpipe status` shows the role's drift and the
waiting message, and `mlpipe deploy` repairs it. A mapping that does not poll (State Disabled) is a
problem `mlpipe status` names, with its fix. No sleeps: each step waits on server-side evidence.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from local_helpers import FEATURES, queue_depth, wait_for
from test_local_logs_role import _mapped, _processed

from mlpipe.aws.clients import Clients
from mlpipe.cli.app import run
from mlpipe.config import Config
from mlpipe.local.ext.mapping_runner import KEY
from mlpipe.local.mapping_runner import MappingRunner
from mlpipe.local.state import ServerState, write_state
from mlpipe.ops import model_store
from mlpipe.ops.deploy import deploy
from mlpipe.ops.send import SendInput, send
from mlpipe.plan.iam import INLINE_POLICY
from mlpipe.reporter import ListReporter

RAW = {"app": "esmstate", "target": "local", "function": {"timeout_s": 5}, "queue": {"visibility_timeout_s": 30}}


@pytest.fixture(autouse=True)
def _short_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.1")


@pytest.fixture
def deployed(clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """RAW deployed, and the project directory (mlpipe.yaml) the CLI runs in."""
    config = Config.model_validate(RAW)
    names = clients.names(config.app, config.stage)
    clients.client("s3").create_bucket(Bucket=names.model_bucket)
    model_store.write_current(clients, names, {"version": "v1", "feature_count": FEATURES})
    deploy(config, clients, ListReporter())
    (tmp_path / "mlpipe.yaml").write_text(json.dumps(RAW))
    monkeypatch.chdir(tmp_path)
    return config


def _runner_mapping(server: Any, uuid: str) -> dict[str, Any]:
    runner: MappingRunner = server.ctx.state[KEY]
    return next((m for m in runner.status()["mappings"] if m["uuid"] == uuid), {})


def _status(endpoint_url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = run(["--endpoint-url", endpoint_url, *extra, "status"])
    return code, capsys.readouterr().out


def _status_json(endpoint_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out = _status(endpoint_url, capsys, "--output", "json")
    assert code == 0  # status reports; drift and problems do not change its exit code
    return json.loads(out)  # type: ignore[no-any-return]


def _row(state: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(r for r in state["resources"] if r["kind"] == kind)


def _as_aws_reports_sqs(mapping: dict[str, Any], state: str) -> None:
    assert "LastProcessingResult" not in mapping  # AWS gives SQS mappings none
    assert (mapping["State"], mapping["StateTransitionReason"]) == (state, "USER_INITIATED")


def test_a_role_refused_by_the_queue_shows_as_on_aws_and_deploy_repairs_it(
    deployed: Config,
    clients: Clients,
    endpoint_url: str,
    embedded_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = clients.names(deployed.app, deployed.stage)
    lam, iam, sqs = clients.client("lambda"), clients.client("iam"), clients.client("sqs")
    uuid = lam.list_event_source_mappings(FunctionName=names.function)["EventSourceMappings"][0]["UUID"]
    _as_aws_reports_sqs(lam.get_event_source_mapping(UUID=uuid), "Enabled")

    # Someone edits the role's policy: the mapping's poller may no longer receive.
    document = iam.get_role_policy(RoleName=names.lambda_role, PolicyName=INLINE_POLICY)["PolicyDocument"]
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "sqs:ReceiveMessage"] or ["sqs:GetQueueAttributes"]
    iam.put_role_policy(RoleName=names.lambda_role, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(document))
    send(deployed, clients, ListReporter(), SendInput(payload="1,2,3", validate=False))
    wait_for(
        lambda: "sqs:ReceiveMessage" in _runner_mapping(embedded_server, uuid).get("last_error", ""),
        15,
        "the poller refused",
    )

    # What AWS reports on the mapping does not change: Enabled, no LastProcessingResult.
    _as_aws_reports_sqs(lam.get_event_source_mapping(UUID=uuid), "Enabled")
    listed = lam.list_event_source_mappings(EventSourceArn=names.queue_arn(names.trigger_queue))
    _as_aws_reports_sqs(listed["EventSourceMappings"][0], "Enabled")
    # `mlpipe status` shows the cause (the role's policy drifted) and the effect (the message waits).
    state = _status_json(endpoint_url, capsys)
    assert (_row(state, "iam-role")["state"], _row(state, "iam-role")["detail"]) == ("drifted", "inline policy changed")
    assert state["mapping"]["problem"] is None and state["mapping"]["state"] == "Enabled"
    assert state["queues"]["trigger"] == 1 and not state["in_sync"]

    # `mlpipe deploy` rewrites the policy: the waiting message is received and processed.
    deploy(deployed, clients, ListReporter())
    wait_for(lambda: _runner_mapping(embedded_server, uuid).get("processed") == 1, 15, "the message processed")
    url = sqs.get_queue_url(QueueName=names.trigger_queue)["QueueUrl"]
    assert queue_depth(sqs, url) == 0
    state = _status_json(endpoint_url, capsys)
    assert state["in_sync"] and state["mapping"]["problem"] is None


def test_status_names_a_mapping_that_does_not_poll_and_deploy_enables_it_again(
    deployed: Config,
    clients: Clients,
    endpoint_url: str,
    embedded_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = clients.names(deployed.app, deployed.stage)
    lam = clients.client("lambda")
    uuid = lam.list_event_source_mappings(FunctionName=names.function)["EventSourceMappings"][0]["UUID"]
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    _as_aws_reports_sqs(lam.get_event_source_mapping(UUID=uuid), "Disabled")

    state = _status_json(endpoint_url, capsys)
    mapping = state["mapping"]
    assert (mapping["uuid"], mapping["state"], mapping["last_processing_result"]) == (uuid, "Disabled", None)
    assert mapping["problem"] == "State Disabled (USER_INITIATED)"
    assert mapping["hint"].startswith("re-run `mlpipe deploy`")
    row = _row(state, "event-source-mapping")
    assert row["state"] == "drifted" and row["detail"].endswith("; State Disabled (USER_INITIATED)")
    code, out = _status(endpoint_url, capsys)
    assert code == 0
    assert "event source mapping: State Disabled (USER_INITIATED)\n  fix: re-run `mlpipe deploy`" in out

    deploy(deployed, clients, ListReporter())
    _as_aws_reports_sqs(lam.get_event_source_mapping(UUID=uuid), "Enabled")
    send(deployed, clients, ListReporter(), SendInput(payload="1,2,3", validate=False))
    wait_for(lambda: _runner_mapping(embedded_server, uuid).get("processed") == 1, 15, "the message processed")
    state = _status_json(endpoint_url, capsys)
    assert state["in_sync"] and state["mapping"]["problem"] is None
    code, out = _status(endpoint_url, capsys)
    assert "event source mapping:" not in out


def test_local_status_shows_the_log_lines_a_role_lost(
    endpoint_url: str, embedded_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    url, uuid = _mapped(endpoint_url, "unlogged", logs=False)
    assert _processed(endpoint_url, embedded_server, url, uuid, "one", 1)["logs_dropped"] == 1
    # `mlpipe local status` reads the recorded server: record the session's own (this process).
    monkeypatch.setenv("MLPIPE_CACHE_DIR", str(tmp_path))
    operator = embedded_server.operator
    port = int(urlsplit(endpoint_url).port or 0)
    write_state(ServerState(os.getpid(), port, "127.0.0.1", "", operator.access_key_id, operator.secret_access_key))
    capsys.readouterr()
    assert run(["local", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "logs dropped" in line)
    row = next(line for line in lines if line.startswith("unlogged-fn"))
    assert row[header.index("logs dropped") :].split()[0] == "1"  # off a terminal: aligned plain columns
