"""Every command a hint (or an error message, or the demo's printed steps) names must be one that
runs: each `mlpipe ...` command line found in the source is parsed by the real CLI parser. Issue
12: `mlpipe --stage prod send` hinted `run mlpipe deploy --stage prod`, which is not an option
there. Hints are collected from every string literal of src/mlpipe, so a new raise site is covered
without being listed here."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from mlpipe.cli.app import app, hoist_output

SRC = Path(__file__).resolve().parents[2] / "src" / "mlpipe"
BACKTICKED = re.compile(r"`(mlpipe(?: [^`]*)?)`")
LEADING = re.compile(r"^(?:e\.g\. |run )?(mlpipe (?:[a-z-]+)(?: [^;()]*)?)$")


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's placeholders become a sample value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "1" for v in node.values)  # type: ignore[misc]
    return None


def collect() -> list[tuple[str, str]]:
    """(where, command line) for every mlpipe command named in a string of the source."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body and isinstance(n.body[0], ast.Expr)
        }
        parts_of_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        hints = {id(k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "hint"}
        for node in ast.walk(tree):
            text = _text(node)
            if text is None or id(node) in docstrings | parts_of_fstrings or "mlpipe" not in text:
                continue
            where = f"{path.relative_to(SRC)}:{getattr(node, 'lineno', '?')}"
            commands = BACKTICKED.findall(text)
            if id(node) in hints:  # a hint may be a bare command line: "mlpipe destroy --pipeline --yes"
                commands += [m.group(1) for m in [LEADING.match(text.strip())] if m]
            for command in commands:
                for part in re.split(r"\s*(?:&&|\|\||\|)\s*", command):
                    part = part.split(" > ")[0].strip()
                    if part.startswith("mlpipe") and _names_a_command(part):
                        found.append((where, part))
    return found


COMMANDS = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _names_a_command(line: str) -> bool:
    """`mlpipe deploy ...` or `mlpipe --stage x ...`, not prose such as "mlpipe never adopts..."."""
    words = line.split()
    return len(words) > 1 and (words[1] in COMMANDS or words[1].startswith("-"))


def _demo_steps() -> list[tuple[str, str]]:
    from mlpipe.ops.demo import DemoRequest
    from mlpipe.ops.demo_steps import commands_by_hand, commands_on_aws

    steps = commands_by_hand(Path("/tmp/p"), DemoRequest(data="d.csv", target="y"), removed=True, first_row="1,2")
    steps += commands_by_hand(Path("/tmp/p"), DemoRequest(keep=True)) + commands_on_aws(DemoRequest())
    return [
        ("demo: " + what, part.split(" > ")[0].strip())
        for what, command in steps
        for part in command.split("&&")
        if part.strip().startswith("mlpipe")
    ]


def parse(argv: list[str]) -> None:
    """What typer does before running anything: every group and command parses its arguments."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("mlpipe", hoist_output(argv))
    while hasattr(command, "commands"):
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not args:
            return  # a group alone: its help
        name, rest = args[0], args[1:]
        sub = command.get_command(ctx, name)
        assert sub is not None, f"no command {name!r}"
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


HINTS = collect() + _demo_steps()


def test_hints_are_found() -> None:
    assert len(HINTS) >= 30, HINTS
    assert any("queues.py" in where for where, _ in HINTS)  # the --stage hint of issue 12


@pytest.mark.parametrize(("where", "command"), HINTS, ids=[f"{w}: {c}" for w, c in HINTS])
def test_every_hinted_command_parses(where: str, command: str) -> None:
    argv = shlex.split(command)[1:]
    try:
        parse(argv)
    except Exception as exc:  # typer's usage errors, an unknown command
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        pytest.fail(f"{where}: `{command}` does not parse: {message}")


def test_a_broken_hint_would_be_caught() -> None:
    with pytest.raises(Exception, match="No such option"):
        parse(["deploy", "--stage", "prod"])
