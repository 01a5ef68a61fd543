"""The README a newcomer reads: its first lines are the two set-up commands, every command of the
CLI has help with an example and appears in it, and its configuration reference is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlpipe.cli import docs
from mlpipe.cli.app import run

README = Path(__file__).resolve().parents[2] / "README.md"
TEXT = README.read_text(encoding="utf-8")


def _commands() -> list[tuple[str, ...]]:
    import typer.main

    from mlpipe.cli.app import app

    def walk(group: object, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        if not hasattr(group, "commands"):
            return [prefix]
        out: list[tuple[str, ...]] = []
        for name, command in sorted(group.commands.items()):
            if not getattr(command, "hidden", False):
                out += walk(command, (*prefix, name))
        return out

    return walk(typer.main.get_command(app), ())


COMMANDS = _commands()


def test_the_readme_starts_with_exactly_the_two_setup_commands() -> None:
    first_block = re.search(r"```\w*\n(.*?)```", TEXT, re.S)
    assert first_block is not None and TEXT.index("```") < TEXT.index("\n## ")
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_the_makefile_targets_create_the_environment_themselves() -> None:
    makefile = (README.parent / "Makefile").read_text()
    for target in ("demo", "test", "docs"):
        rule = re.search(rf"^{target}:(.*)$", makefile, re.M)
        assert rule is not None, target
        needs = rule.group(1).split()
        assert "$(STAMP)" in needs or {"lint", "typecheck"} <= set(needs), f"make {target} does not install first"
    assert re.search(r"^\$\(STAMP\):.*\n\t\$\(PYTHON\) -m venv", makefile, re.M)


def test_every_command_is_registered() -> None:
    names = {" ".join(c) for c in COMMANDS}
    expected = {"demo", "iam-policy", "init", "train", "deploy", "send", "status", "destroy", "redrive"}
    expected |= {"tail logs", "tail dlq", "tail pipeline", "bootstrap-pipeline", "config schema", "config show"}
    expected |= {"local up", "local down", "local status"}
    assert expected <= names


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example_and_is_in_the_readme(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*path, "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "Example" in help_text, f"`mlpipe {' '.join(path)} --help` shows no example"
    assert f"mlpipe {' '.join(path)}" in help_text, "the example does not show the command itself"
    leaf = " ".join(path)
    in_readme = f"mlpipe {leaf}" in TEXT or (len(path) == 2 and re.search(rf"mlpipe {path[0]} .*\b{path[1]}\b", TEXT))
    assert in_readme, f"`mlpipe {leaf}` is not in the README"


def test_the_configuration_reference_is_current() -> None:
    assert docs.with_reference(TEXT) == TEXT, "README's configuration reference is stale: run `make docs`"
    assert docs.main(["--check"]) == 0


def test_the_reference_lists_every_key_with_its_default() -> None:
    from mlpipe.config import Config

    keys = []
    for name, field in Config.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Config.__mro__[1]):
            keys += [f"{name}.{sub}" for sub in annotation.model_fields]
        else:
            keys.append(name)
    block = TEXT[TEXT.index(docs.BEGIN) : TEXT.index(docs.END)]
    for key in keys:
        assert f"| `{key}` |" in block, key
    assert "| `function.timeout_s` | int | `30` | 5 to 900 |" in block
    assert "| `app` | string | required |" in block


def test_a_stale_reference_is_detected() -> None:
    stale = TEXT.replace("| `function.timeout_s` | int | `30` |", "| `function.timeout_s` | int | `31` |")
    assert docs.with_reference(stale) == TEXT


def test_the_readme_documents_what_users_need() -> None:
    for needle in (
        "mlpipe --install-completion",
        "mlpipe config schema",
        "mlpipe config show",
        "NO_COLOR",
        "--output json",
        "mlpipe iam-policy",
        "mlpipe destroy",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "Cost warning",
        "## Troubleshooting",
    ):
        assert needle in TEXT, needle


def test_after_make_demo_the_user_is_told_how_to_get_mlpipe_on_path(tmp_path: Path) -> None:
    from mlpipe.cli.demo import path_hint

    makefile = (README.parent / "Makefile").read_text()
    demo_rule = makefile[makefile.index("\ndemo:") :].split("\n\n")[0]
    assert "source $(VENV)/bin/activate" in demo_rule and "$(VENV)/bin/mlpipe" in demo_rule
    assert "source .venv/bin/activate" in TEXT and ".venv/bin/mlpipe" in TEXT
    venv_python = str(tmp_path / ".venv" / "bin" / "python")
    hint = path_hint(which=lambda name: None, executable=venv_python, cwd=tmp_path)
    assert hint == (
        "`mlpipe` is not on your PATH: run `source .venv/bin/activate` first "
        "(or type .venv/bin/mlpipe instead of mlpipe)"
    )
    on_path = str(tmp_path / ".venv" / "bin" / "mlpipe")
    assert path_hint(which=lambda name: on_path, executable=venv_python, cwd=tmp_path) is None


def test_the_policy_size_claim_is_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README says the whole policy is too long for one managed policy and that iam-policy
    says how to split it: both as a real run prints them."""
    assert "longer than one customer managed policy may hold (6,144" in TEXT
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: house\n")
    assert run(["--region", "eu-west-1", "iam-policy", "--account", "123456789012"]) == 0
    out, err = capsys.readouterr()
    assert len(out) > 6144 and "over the 6144 one managed policy may hold" in err and "--commands" in err


def test_local_logs_claims_only_what_the_log_holds(capsys: pytest.CaptureFixture[str]) -> None:
    """The server's log file has start-up lines, warnings and errors; requests are printed only in
    the terminal of `local up --foreground --verbose` (the background server runs without it)."""
    assert run(["local", "logs", "--help"]) == 0
    assert "(not each request)" in " ".join(capsys.readouterr().out.split())
    assert "every request only with\n`mlpipe local up --foreground --verbose`" in TEXT


def test_the_readme_policy_split_example_is_what_iam_policy_prints() -> None:
    """The README's example of splitting the operator part is `split_commands`' answer for its app."""
    from mlpipe.config import Config
    from mlpipe.names import Names
    from mlpipe.policies.operator import split_commands

    names = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
    groups = split_commands(Config(app="house"), names)
    paragraph = " ".join(TEXT[TEXT.index("`mlpipe iam-policy` then says how to split it") :].split("\n\n")[0].split())
    shown = re.findall(r"`--commands ([a-z,-]+)`", paragraph)
    assert shown == [",".join(g) for g in groups], paragraph
