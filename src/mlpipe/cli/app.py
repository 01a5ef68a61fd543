"""The `mlpipe` command: global options, command registration, and error handling.

Each command lives in its own module with a `register(app, groups)` function. Modules import
their use cases inside the command functions, so `mlpipe --help` stays fast and light.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import typer

from mlpipe import __version__
from mlpipe.cli.context import GlobalOptions
from mlpipe.errors import MlpipeError

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

app = typer.Typer(
    name="mlpipe",
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


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: mlpipe errors become one line plus a hint."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        app(args=argv, prog_name="mlpipe", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from mlpipe.cli.render import error

        if _debug_requested(argv):
            import traceback

            traceback.print_exc()
        err = _as_mlpipe_error(exc)
        if err is None:
            error(
                f"unexpected {type(exc).__name__}: {exc}",
                "run again with --debug for the traceback, and report it",
            )
            return 1
        error(err.message, err.hint)
        return err.exit_code
    return 0


def _as_mlpipe_error(exc: Exception) -> MlpipeError | None:
    if isinstance(exc, MlpipeError):
        return exc
    if type(exc).__module__.startswith("botocore"):
        from mlpipe.aws.errors import translate

        return translate(exc)
    return None


def main() -> None:
    sys.exit(run())
