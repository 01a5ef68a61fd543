"""Every command has help with an example; help and the deploy path stay light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipe.cli.app import run

HEAVY = ("xgboost", "sklearn", "pandas", "sagemaker", "moto", "numpy", "pyarrow")


def _leaf_commands() -> list[tuple[str, ...]]:
    import typer.main

    from mlpipe.cli.app import app

    def walk(group: object, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        if not hasattr(group, "commands"):
            return [prefix]
        commands = group.commands  # an empty group is a placeholder still being built: nothing to check
        out: list[tuple[str, ...]] = []
        for name, command in sorted(commands.items()):
            if not getattr(command, "hidden", False):
                out += walk(command, (*prefix, name))
        return out

    return walk(typer.main.get_command(app), ())


COMMANDS = _leaf_commands()


def test_the_issue_commands_exist() -> None:
    assert {("init",), ("deploy",), ("status",), ("destroy",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert f"mlpipe {' '.join(path)}" in text or "Usage: mlpipe" in text
    assert "Example" in text, f"`mlpipe {' '.join(path)} --help` shows no example"


def _modules_after(argv: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    code = (
        "import sys, json\n"
        "from mlpipe.cli.app import run\n"
        f"rc = run({argv!r})\n"
        f"print(json.dumps({{'rc': rc, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _light_env(home: Path) -> dict[str, str]:
    """A bare environment plus the embedded AWS's keys (exported by the `endpoint_url` fixture)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "NO_COLOR": "1", "AWS_EC2_METADATA_DISABLED": "true"}
    keep = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PYTHONPATH")  # PYTHONPATH: a worktree's sources
    return env | {name: os.environ[name] for name in keep if name in os.environ}


@pytest.mark.parametrize("argv", [["--help"], ["deploy", "--help"], ["destroy", "--help"]])
def test_help_imports_no_heavy_package(argv: list[str]) -> None:
    assert _modules_after(argv) == {"rc": 0, "heavy": []}


def test_deploy_path_imports_no_heavy_package(endpoint_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: light\n")
    env = _light_env(tmp_path)
    result = _modules_after(["--endpoint-url", endpoint_url, "--config", str(config), "deploy", "--dry-run"], env)
    assert result == {"rc": 0, "heavy": []}


def test_help_shows_no_python_types_as_metavars() -> None:
    texts = json.loads((Path(__file__).resolve().parents[2] / "src/mlpipe/cli/help.json").read_text())
    assert not [path for path, text in texts.items() if "<list[" in text or "<dict[" in text]
    assert "--param KEY=VALUE" in texts["train"]


def test_send_help_examples_fit_the_tutorial_model() -> None:
    """The examples must be rows the tutorial's model (13 features) predicts, not poison."""
    import itertools
    import re
    import shlex

    from conftest import BOSTON_CSV

    features = len(BOSTON_CSV.read_text().splitlines()[0].split(",")) - 2  # minus the index and the target
    texts = json.loads((Path(__file__).resolve().parents[2] / "src/mlpipe/cli/help.json").read_text())
    rows = []
    # An example may go on over indented lines (a long --json body): join them first.
    examples = re.sub(r"\n {4,}(?=\S)", " ", texts["send"].split("Examples:")[1].split("Options:")[0])
    for line in examples.splitlines():
        words = shlex.split(line.strip()) if line.strip().startswith("mlpipe send") else []
        for flag, value in itertools.pairwise(words):
            if flag == "--payload":
                rows.append(value.split(","))
            elif flag == "--json":
                body = json.loads(value)
                rows += body.get("instances", []) + ([body["payload"].split(",")] if "payload" in body else [])
                rows += [list(body["features"])] if "features" in body else []
    assert rows and all(len(row) == features for row in rows), rows
    assert re.search(r"--json '\{\"instances\"", texts["send"])


def test_send_path_imports_no_heavy_package(endpoint_url: str, tmp_path: Path) -> None:
    """`send` reads files (dialects, headers, the function's rules) with the standard library only."""
    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: light\ntarget: local\n")
    rows = tmp_path / "rows.csv"
    rows.write_text("a;b;c\n1,5;NA;3\n")
    env = _light_env(tmp_path)
    common = ["--endpoint-url", endpoint_url, "--config", str(config)]
    assert _modules_after([*common, "deploy"], env)["rc"] == 0
    assert _modules_after([*common, "send", "--file", str(rows)], env) == {"rc": 0, "heavy": []}
