"""`mlpipe local up --operator-policy ...` and `--no-iam` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import free_port


def mlpipe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mlpipe", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def status() -> dict[str, object]:
    return dict(json.loads(mlpipe("--output", "json", "local", "status").stdout)["iam"])


def test_operator_policy_and_no_iam_reach_the_server(tmp_path: Path) -> None:
    (tmp_path / "mlpipe.yaml").write_text("app: house\n")
    port = str(free_port())
    try:
        started = mlpipe("local", "up", "--port", port, "--operator-policy", "iam-policy", cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        assert status()["enabled"] is True and str(status()["operator"]).startswith("policy (")
        # The operator may do what `mlpipe iam-policy` allows, and nothing else.
        listed = mlpipe("--local", "--config", str(tmp_path / "mlpipe.yaml"), "status")
        assert listed.returncode == 0, listed.stderr
    finally:
        assert mlpipe("local", "down").returncode == 0
    try:
        assert mlpipe("local", "up", "--port", port, "--no-iam").returncode == 0
        assert status() == {"enabled": False, "operator": "full"}
    finally:
        assert mlpipe("local", "down").returncode == 0


def test_a_bad_operator_policy_is_one_clear_line_and_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text('{"Version": "2012-10-17"}')
    result = mlpipe("local", "up", "--port", str(free_port()), "--operator-policy", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "no Statement" in result.stderr and "Traceback" not in result.stderr
    assert "not running" in mlpipe("local", "status").stderr
