"""Output modes of the CLI: `-o json` prints exactly one JSON document (JSON Lines for a stream) on
every command, and NO_COLOR or no terminal mean no escape codes at all."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

AWS_ACCOUNT = "987654321098"


REPORTING = [
    ["status"],
    ["deploy", "--dry-run"],
    ["destroy", "--dry-run"],
    ["config", "show"],
    ["iam-policy", "--account", AWS_ACCOUNT],
]


@pytest.mark.parametrize("argv", REPORTING, ids=[" ".join(a) for a in REPORTING])
def test_output_json_on_reporting_commands(argv: list[str], endpoint_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: house\n")
    env = {**os.environ, "NO_COLOR": "1", "AWS_ENDPOINT_URL": endpoint_url}
    done = subprocess.run(
        [sys.executable, "-m", "mlpipe", "--config", str(config), "-o", "json", *argv],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # stdout is exactly one JSON document
    assert "\x1b[" not in done.stdout + done.stderr


def test_no_color_and_no_terminal_mean_plain_text(endpoint_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: house\n")
    script = (
        "import sys; from rich.console import Console; import mlpipe.cli.render as r; "
        "r.stdout = Console(force_terminal=True, highlight=False, soft_wrap=True); "
        "r.stderr = Console(stderr=True, force_terminal=True, highlight=False, soft_wrap=True); "
        "from mlpipe.cli.app import run; sys.exit(run(sys.argv[1:]))"
    )
    env = {**os.environ, "NO_COLOR": "1", "AWS_ENDPOINT_URL": endpoint_url}
    done = subprocess.run(
        [sys.executable, "-c", script, "--config", str(config), "deploy", "--dry-run"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Plan for house/dev" in done.stdout
    assert not re.search(r"\x1b\[[0-9;]*3\dm|\x1b\[38;", done.stdout + done.stderr)  # no colour codes at all


AFTER_DEPLOY = [
    ["send", "--payload", "1,2,3"],
    ["tail", "logs", "--since", "5m"],
    ["tail", "dlq"],
    ["redrive", "--timeout", "20"],
    ["bootstrap-pipeline", "--dry-run"],
    ["train", "--dry-run"],
]


def test_output_json_on_the_commands_that_need_a_deployment(
    endpoint_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlpipe.cli.app import run

    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: house\n")
    base = ["--endpoint-url", endpoint_url, "--config", str(config), "-o", "json"]
    assert run([*base, "deploy"]) == 0
    json.loads(capsys.readouterr().out)
    for argv in AFTER_DEPLOY:
        assert run([*base, *argv]) == 0, argv
        captured = capsys.readouterr()
        if argv[:2] == ["tail", "logs"]:  # a stream: one JSON object per log event (JSON Lines)
            assert all(isinstance(json.loads(line), dict) for line in captured.out.splitlines())
        else:
            json.loads(captured.out)  # exactly one JSON document on stdout, whatever went to stderr
        assert "\x1b[" not in captured.out + captured.err
