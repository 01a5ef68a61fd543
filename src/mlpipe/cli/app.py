"""The `mlpipe` command: global options, command registration, and error handling.

Each command lives in its own module with a `register(app, groups)` function. Modules import
their use cases inside the command functions, so `mlpipe --help` stays fast and light.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import typer.core

from mlpipe import __version__, interrupts
from mlpipe.cli.context import GlobalOptions
from mlpipe.errors import Interrupted, MlpipeError

COMMAND_MODULES = (
    "init",
    "train",
    "deploy",
    "status",
    "send",
    "tail",
    "redrive",
    "destroy",
    "pipeline",
    "local",
    "demo",
    "config_cmd",
    "iam_policy",
)


class _RootGroup(typer.core.TyperGroup):
    """Typer turns a KeyboardInterrupt into a silent `Exit(130)` (typer.core._main): caught here,
    inside it, as `Interrupted`, so `run` reports it like any error (one line, or the JSON envelope).
    Use cases that know how far they got raise their own `Interrupted` first."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted("") from exc  # `run` names the command


app = typer.Typer(
    name="mlpipe",
    cls=_RootGroup,
    help="From a CSV file to a serverless XGBoost inference architecture on AWS, with CI/CD.\n\n"
    "Try it offline first: `mlpipe demo` runs everything on the embedded AWS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no rich import on start-up, and cacheable (cli/entry.py)
    context_settings={"help_option_names": ["-h", "--help"]},
)
groups = {
    "tail": typer.Typer(
        help="Follow what the architecture does: logs, dead-letter queue, pipeline runs.",
        no_args_is_help=True,
    ),
    "local": typer.Typer(
        help="The embedded AWS: the whole architecture offline, no Docker, no account.", no_args_is_help=True
    ),
    "config": typer.Typer(help="Inspect mlpipe.yaml: its JSON schema and the effective values.", no_args_is_help=True),
}
app.add_typer(groups["tail"], name="tail")
app.add_typer(groups["local"], name="local")
app.add_typer(groups["config"], name="config")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlpipe {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Path = typer.Option(
        Path("mlpipe.yaml"), "--config", "-c", help="Path to mlpipe.yaml.", envvar="MLPIPE_CONFIG"
    ),
    stage: str | None = typer.Option(None, "--stage", "-s", help="Stage to act on (overrides mlpipe.yaml)."),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile."),
    region: str | None = typer.Option(None, "--region", help="AWS region."),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help="AWS API endpoint (implies local)."),
    local: bool = typer.Option(False, "--local", help="Target the embedded AWS (`mlpipe local up`)."),
    output: str = typer.Option("text", "--output", "-o", help="Output format: text or json."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks.", envvar="MLPIPE_DEBUG"),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    if output not in ("text", "json"):
        raise typer.BadParameter(f"'{output}' is not one of: text, json", param_hint="--output")
    ctx.obj = GlobalOptions(
        config_path=config,
        stage=stage,
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        local=local,
        output=output,
        debug=debug,
    )


for _name in COMMAND_MODULES:
    importlib.import_module(f"mlpipe.cli.{_name}").register(app, groups)


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("MLPIPE_DEBUG", "") not in ("", "0", "false")


OUTPUT_FLAGS = ("-o", "--output")


def hoist_output(argv: list[str]) -> list[str]:
    """`--output/-o` is a global option, accepted after the subcommand too (as the aws CLI does):
    every occurrence moves to the front, where the root callback parses it. `--` ends the scan."""
    hoisted: list[str] = []
    rest: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            rest += [token, *tokens]
            break
        if token in OUTPUT_FLAGS:
            hoisted += [token, next(tokens, "")]
        elif token.startswith("--output="):
            hoisted.append(token)
        elif token.startswith("-o") and not token.startswith("--") and len(token) > 2:
            hoisted += ["-o", token[2:]]
        else:
            rest.append(token)
    return hoisted + rest  # a trailing `-o` got "" as its value: the root callback says what is allowed


def output_format(argv: list[str]) -> str:
    """The --output value the root callback will see (the last one wins), before any parsing."""
    value = "text"
    for i, token in enumerate(argv):
        if token == "--":
            break
        if token in OUTPUT_FLAGS and i + 1 < len(argv):
            value = argv[i + 1]
        elif token.startswith("--output="):
            value = token.split("=", 1)[1]
    return value


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: every error becomes one line plus a hint (with
    `-o json`, one JSON object on stderr: code, message, hint, exit_code); Ctrl-C exits 130 (see
    mlpipe.interrupts for what it lets finish first)."""
    typed = sys.argv[1:] if argv is None else argv
    argv = hoist_output(typed)
    as_json = output_format(argv) == "json"
    try:
        with interrupts.handling(_held_notice(as_json)):
            result = app(args=argv, prog_name="mlpipe", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (KeyboardInterrupt, typer.Abort):  # before or after the command ran, or at a prompt
        return _report_interrupted(Interrupted(""), typed, as_json)
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group named alone: its help, as typer shows it
            exc.show()  # type: ignore[attr-defined]
            return exc.exit_code
        message = exc.format_message() + _given(exc, argv)
        return _report("UsageError", message, _usage_hint(exc, argv), exc.exit_code, as_json)
    except Exception as exc:
        if _debug_requested(argv):
            import traceback

            traceback.print_exc()
        err = _as_mlpipe_error(exc, argv)
        if err is None:
            message, hint = f"unexpected {type(exc).__name__}: {exc}", "run again with --debug for the traceback"
            return _report("InternalError", message, hint + ", and report it", 1, as_json)
        if isinstance(err, Interrupted):
            return _report_interrupted(err, typed, as_json)
        return _report(type(err).__name__, err.message, err.hint, err.exit_code, as_json)
    return result if isinstance(result, int) else 0


def _held_notice(as_json: bool) -> Callable[[str], None]:
    """What the user sees when a Ctrl-C waits for work that must not be cut (a warning line, or a
    JSON warning object with `-o json`). Runs inside the signal handler: one unbuffered write, so it
    cannot collide with a print the handler interrupted."""

    def notify(what: str) -> None:
        text = f"Ctrl-C: finishing {what} first, so nothing is left half-done; press Ctrl-C again to stop at once"
        line = (json.dumps({"warning": text}) if as_json else f"Warning: {text}") + "\n"
        try:
            os.write(sys.stderr.fileno(), line.encode())
        except (AttributeError, OSError, ValueError):  # a stderr without a descriptor (captured in tests)
            sys.stderr.write(line)

    return notify


def _report_interrupted(err: Interrupted, typed: list[str], as_json: bool) -> int:
    """One line: how far the command got and, when running it again finishes the work, that command."""
    import shlex

    message, hint = err.message or f"interrupted before `{command_path(typed)}` finished", err.hint
    if hint is None and err.rerun:
        again = shlex.join(["mlpipe", *typed])
        hint = f"run `{again}` again to finish: it is idempotent and continues where this run stopped"
    if as_json:
        from mlpipe.cli.render import error_json

        error_json("Interrupted", message, hint, err.exit_code)
    else:
        from mlpipe.cli.render import interrupted

        interrupted(message, hint)
    return err.exit_code


def _given(exc: Exception, argv: list[str]) -> str:
    """`, got '0'`: typer's range and type errors do not repeat the value the user typed."""
    param = getattr(exc, "param", None)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    opts = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
    for i, token in enumerate(argv):
        for opt in opts:
            value = argv[i + 1] if token == opt and i + 1 < len(argv) else None
            if token.startswith(opt + "="):
                value = token.split("=", 1)[1]
            if value is not None and repr(value) not in message:
                return f" (got {value!r})"
    return ""


def _usage_hint(exc: Exception, argv: list[str]) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None and ctx.parent is not None else command_path(argv)
    return f"`{path} --help` lists its options"


def command_path(argv: list[str]) -> str:
    """`mlpipe tail logs` for `mlpipe -o json tail logs --since x`: the commands named in argv."""
    command: Any = typer.main.get_command(app)
    path = ["mlpipe"]
    for token in argv:
        if not hasattr(command, "commands") or token.startswith("-"):
            continue
        sub = command.commands.get(token)
        if sub is None:
            continue
        command = sub
        path.append(token)
    return " ".join(path)


def _report(code: str, message: str, hint: str | None, exit_code: int, as_json: bool) -> int:
    from mlpipe.cli.render import error, error_json

    if as_json:
        error_json(code, message, hint, exit_code)
    else:
        error(message, hint)
    return exit_code


def _as_mlpipe_error(exc: Exception, argv: list[str]) -> MlpipeError | None:
    if isinstance(exc, MlpipeError):
        return exc
    from mlpipe.aws.sdk import raised_by_sdk

    if raised_by_sdk(exc):
        from mlpipe.aws.clients import resolve_target
        from mlpipe.aws.errors import translate

        # What a use case did not translate itself: name the endpoint the user gave, if any.
        url = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--endpoint-url"), None)
        return translate(exc, resolve_target(None, None, None, url))
    return None


def main() -> None:
    sys.exit(run())
