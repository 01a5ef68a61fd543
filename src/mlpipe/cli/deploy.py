"""`mlpipe deploy`: create or update the inference architecture."""

from __future__ import annotations

import typer

from mlpipe.cli.context import options

HELP = """Create or update the inference architecture for the stage: trigger queue and dead-letter
queue, the function's IAM role, the Lambda function (zip built from the project's handler/ directory if
it has a handler.py, else from mlpipe's bundled handler), its log
group, the SQS event source mapping and the DLQ alarm. Idempotent: a second run changes nothing, and
a run that was interrupted is finished by running it again.

Examples:

\b
  mlpipe deploy --dry-run
  mlpipe deploy
  mlpipe --stage prod deploy
  mlpipe --local --output json deploy
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("deploy", help=HELP)
    def deploy_command(
        ctx: typer.Context,
        dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Show the plan; make read calls only."),
    ) -> None:
        from mlpipe.cli.plan_view import show_plan_outcome
        from mlpipe.cli.render import print_json
        from mlpipe.lambda_package import project_package
        from mlpipe.ops.deploy import deploy

        opts = options(ctx)
        loaded = opts.load()
        package = project_package(loaded.project_dir)
        result = deploy(loaded.config, opts.clients(loaded), opts.reporter(), dry_run=dry_run, package=package)
        if opts.json:
            print_json(result.to_dict())
            return
        where = f"{result.names.app}/{result.names.stage}"
        show_plan_outcome(where, result.plan, dry_run, "Deployed", f"trigger queue: {result.names.trigger_queue}")
