"""`mlpipe destroy`: remove everything the stage's deploy and train created."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from mlpipe.cli.context import options

if TYPE_CHECKING:
    from mlpipe.plan.model import Change

HELP = """Delete everything mlpipe created for the stage: event source mapping, function, log group,
alarm, queues, role, and the SageMaker endpoint with its configs and models and the model bucket
(emptied), so nothing keeps costing money. Only resources tagged for this app and stage are touched.
With --pipeline, the app's CI/CD (pipeline, build projects, roles; the repository and artifact
bucket only when empty, or with --force) goes too. Asks for confirmation unless --yes.

Examples:

\b
  mlpipe destroy --dry-run
  mlpipe destroy --yes
  mlpipe --stage dev --local destroy -y
  mlpipe destroy --pipeline --force --yes
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("destroy", help=HELP)
    def destroy_command(
        ctx: typer.Context,
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
        dry_run: bool = typer.Option(False, "--dry-run", "-n", help="List what would be deleted; delete nothing."),
        pipeline: bool = typer.Option(False, "--pipeline", help="Also delete the app's CI/CD pipeline."),
        force: bool = typer.Option(
            False, "--force", help="With --pipeline: delete the repository and artifact bucket even if not empty."
        ),
    ) -> None:
        from mlpipe.cli.plan_view import plan_table
        from mlpipe.cli.render import print_json, stdout
        from mlpipe.errors import UsageError
        from mlpipe.ops.destroy import destroy

        opts = options(ctx)
        loaded = opts.load()
        clients = opts.clients(loaded)
        reporter = opts.reporter()
        if not (yes or dry_run) and not sys.stdin.isatty():
            raise UsageError("destroy deletes resources and needs confirmation", hint="pass --yes to confirm")
        if force and not pipeline:
            raise UsageError("--force only applies with --pipeline", hint="mlpipe destroy --pipeline --force --yes")
        preview = destroy(loaded.config, clients, reporter, dry_run=True, pipeline=pipeline, force=force)
        where = f"{preview.names.app}/{preview.names.stage}"
        if dry_run or preview.plan.is_empty:
            if opts.json:
                print_json(preview.to_dict())
                return
            if preview.plan.is_empty:
                stdout.print(f"nothing to destroy for {where}")
            else:
                plan_table(f"Would delete for {where} (dry run)", preview.plan, show_noop=False)
            _print_kept(preview.kept)
            return
        if not yes:
            plan_table(f"Will delete for {where}", preview.plan, show_noop=False)
            if not typer.confirm(f"Delete these {len(preview.plan.pending)} resource(s)?", default=False):
                raise typer.Exit(1)
        result = destroy(loaded.config, clients, reporter, pipeline=pipeline, force=force)
        if opts.json:
            print_json(result.to_dict())
            return
        stdout.print(f"deleted {len(result.deleted)} resource(s) of {where}")
        _print_kept(result.kept)


def _print_kept(kept: list[Change]) -> None:
    from mlpipe.cli.render import stdout

    for change in kept:
        stdout.print(f"kept {change.kind} {change.name}: {change.detail.removeprefix('kept: ')}")
