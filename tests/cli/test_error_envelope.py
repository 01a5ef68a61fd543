"""The error contract of `--output json` (docs/CONTRACTS.md, "CLI error envelope"): whatever the
command and wherever `-o json` stands, a failure writes exactly one JSON object on stderr,
{"code", "message", "hint", "exit_code"}, nothing on stdout, and exits with that exit_code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from mlpipe.cli.app import app, hoist_output, run

ENVELOPE_KEYS = ["code", "message", "hint", "exit_code"]


def _leaf_commands() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _leaf_commands()
# Commands that read mlpipe.yaml, with the arguments that get them that far.
NEEDS_CONFIG = {
    ("train",): (),
    ("deploy",): (),
    ("status",): (),
    ("send",): ("--payload", "1,2"),
    ("redrive",): (),
    ("destroy",): ("--yes",),
    ("bootstrap-pipeline",): (),
    ("iam-policy",): (),
    ("tail", "logs"): (),
    ("tail", "dlq"): (),
    ("tail", "pipeline"): (),
    ("config", "show"): (),
}


def envelope(err: str) -> dict[str, Any]:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    value = json.loads(lines[0])
    assert isinstance(value, dict) and list(value) == ENVELOPE_KEYS, value
    assert isinstance(value["message"], str) and "\n" not in value["message"] and "Traceback" not in err
    return value


def test_every_command_is_covered() -> None:
    assert len(COMMANDS) >= 19 and set(NEEDS_CONFIG) <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_usage_error_is_one_envelope_for_every_command(
    path: tuple[str, ...], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["-o", "json", *path, "--no-such-flag"] if where == "before" else [*path, "--no-such-flag", "-o", "json"]
    code = run(argv)
    out, err = capsys.readouterr()
    value = envelope(err)
    assert out == ""
    assert (code, value["exit_code"], value["code"]) == (2, 2, "UsageError")
    assert "--no-such-flag" in value["message"] and f"`mlpipe {' '.join(path)} --help`" in value["hint"]


@pytest.mark.parametrize("path", list(NEEDS_CONFIG), ids=[" ".join(p) for p in NEEDS_CONFIG])
def test_a_config_error_is_one_envelope_after_the_subcommand_too(
    path: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no mlpipe.yaml here
    code = run([*path, *NEEDS_CONFIG[path], "--output", "json"])
    out, err = capsys.readouterr()
    value = envelope(err)
    assert out == "" and code == value["exit_code"] == 3
    assert value == {
        "code": "ConfigError",
        "message": "mlpipe.yaml: no such file",
        "hint": value["hint"],
        "exit_code": 3,
    }
    assert "mlpipe init" in value["hint"]


def test_text_errors_are_one_line_and_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["tail", "logs", "--no-such-flag"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("Error: No such option: --no-such-flag"), err
    assert err[1] == "Hint: `mlpipe tail logs --help` lists its options"


@pytest.mark.parametrize(
    ("argv", "hoisted"),
    [
        (["tail", "logs", "--output", "json"], ["--output", "json", "tail", "logs"]),
        (["tail", "logs", "-o", "json", "--since", "5m"], ["-o", "json", "tail", "logs", "--since", "5m"]),
        (["status", "--output=json"], ["--output=json", "status"]),
        (["status", "-ojson"], ["-o", "json", "status"]),
        (["send", "--payload", "1", "--", "-o", "json"], ["send", "--payload", "1", "--", "-o", "json"]),
        (["status", "-o"], ["-o", "", "status"]),  # the root says '' is not one of text, json
    ],
)
def test_output_is_a_global_option_anywhere(argv: list[str], hoisted: list[str]) -> None:
    assert hoist_output(argv) == hoisted


def test_output_after_the_subcommand_gives_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: shop\n")
    assert run(["config", "show", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["app"]["value"] == "shop"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["--endpoint-url", "http://127.0.0.1:9/", "status"],
            None,
            "cannot reach the embedded AWS at http://127.0.0.1:9",
        ),
        (["status"], "http://127.0.0.1:8", "cannot reach the embedded AWS at http://127.0.0.1:8"),
        (["status"], None, "cannot reach AWS endpoint"),
    ],
    ids=["option", "AWS_ENDPOINT_URL", "aws"],
)
def test_a_botocore_error_no_use_case_translated_names_the_target_resolve_target_decides(
    argv: list[str], env: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.exceptions

    from mlpipe.cli.app import _as_mlpipe_error

    if env:
        monkeypatch.setenv("AWS_ENDPOINT_URL", env)
    else:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    error = _as_mlpipe_error(botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/"), argv)
    assert error is not None and str(error).startswith(message)
