"""`mlpipe init`: scaffold a commented mlpipe.yaml."""

from __future__ import annotations

import typer

from mlpipe.cli.context import options

HELP = """Write a commented mlpipe.yaml with every setting and its default into the current directory.
An existing file is kept unless --force. (The pipeline's buildspec is not a file of the project:
bootstrap-pipeline sets it on the CodeBuild project.)

Examples:

\b
  mlpipe init
  mlpipe init --app house-prices
  mlpipe --stage prod init        (writes stage: prod)
  mlpipe --config infra/mlpipe.yaml init --force
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("init", help=HELP)
    def init_command(
        ctx: typer.Context,
        app_name: str | None = typer.Option(
            None, "--app", "-a", help="Application name (default: from the directory's name)."
        ),
        force: bool = typer.Option(False, "--force", "-f", help="Overwrite existing files."),
    ) -> None:
        from mlpipe.ops.scaffold import scaffold

        opts = options(ctx)
        result = scaffold(opts.config_path, app=app_name, force=force, stage=opts.stage)
        if opts.json:
            from mlpipe.cli.render import print_json

            print_json(result.to_dict())
            return
        from mlpipe.cli.render import stdout

        for path in result.written:
            stdout.print(f"wrote {path}")
        where = f"app '{result.app}'" + (f", stage '{result.stage}'" if result.stage != "dev" else "")
        stdout.print(f"{where}: next, `mlpipe train` then `mlpipe deploy` (or try `mlpipe demo`)")
