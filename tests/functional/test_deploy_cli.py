"""The deploy / status / destroy commands end to end through the CLI, against the embedded AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlpipe.aws.clients import Clients
from mlpipe.cli.app import run


@pytest.fixture(autouse=True)
def _short_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded AWS keeps a new function Pending for a while; deploy waits either way, so keep it short here."""
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.1")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.chdir(tmp_path)
    assert run(["init", "--app", "cli"]) == 0
    capsys.readouterr()
    return tmp_path


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    code = run(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)  # type: ignore[no-any-return]


# What a fresh deploy creates: 2 queues, the stage's permissions boundary, role, log group,
# function, mapping, alarm topic, 3 alarms.
RESOURCES = 11


# ~9 s: seven CLI runs, each with fresh clients
def test_dry_run_deploy_status_destroy(
    project: Path, endpoint_url: str, clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--endpoint-url", endpoint_url, "--output", "json"]
    plan = _json([*base, "deploy", "--dry-run"], capsys)
    assert plan["dry_run"] is True and plan["plan"]["summary"]["create"] == RESOURCES
    assert clients.client("sqs").list_queues().get("QueueUrls", []) == []

    deployed = _json([*base, "deploy"], capsys)
    assert deployed["plan"]["summary"]["create"] == RESOURCES and deployed["api_calls"] >= 12
    assert deployed["package"]["bytes"] <= 16 * 1024

    state = _json([*base, "status"], capsys)
    assert state["deployed"] and state["in_sync"]
    assert state["queues"] == {"trigger": 0, "in_flight": 0, "dlq": 0}

    (project / "mlpipe.yaml").write_text(
        (project / "mlpipe.yaml").read_text().replace("memory_mb: 256", "memory_mb: 512")
    )
    drift = _json([*base, "deploy", "--dry-run"], capsys)
    (function,) = [c for c in drift["plan"]["changes"] if c["action"] != "noop"]
    assert function["kind"] == "lambda-function" and "MemorySize 256 -> 512" in function["detail"]
    assert function["calls"] == ["lambda:update_function_configuration"]
    assert run(["--endpoint-url", endpoint_url, "deploy", "--dry-run"]) == 0
    assert "~ update" in capsys.readouterr().out

    gone = _json([*base, "destroy", "--yes"], capsys)
    assert gone["plan"]["summary"]["delete"] == RESOURCES
    assert run(["--endpoint-url", endpoint_url, "destroy", "--yes"]) == 0
    assert "nothing to destroy" in capsys.readouterr().out


@pytest.mark.parametrize("answer", ["n", "y"])
def test_destroy_asks_on_a_terminal(
    answer: str,
    project: Path,
    endpoint_url: str,
    clients: Clients,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io

    from mlpipe.config import load_config
    from mlpipe.ops.deploy import deploy
    from mlpipe.reporter import ListReporter

    deploy(load_config(project / "mlpipe.yaml", env={}).config, clients, ListReporter())
    stdin = io.StringIO(f"{answer}\n")
    stdin.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", stdin)
    code = run(["--endpoint-url", endpoint_url, "destroy"])
    out = capsys.readouterr().out
    assert "Will delete" in out and f"Delete these {RESOURCES} resource(s)?" in out
    queues = clients.client("sqs").list_queues().get("QueueUrls", [])
    if answer == "n":
        assert code == 1 and len(queues) == 2
    else:
        assert code == 0 and queues == [] and f"deleted {RESOURCES} resource(s)" in out
