"""`mlpipe status`: one view of every resource of the stage."""

from __future__ import annotations

import typer

from mlpipe.cli.context import options

HELP = """Show every resource of the stage (exists, in sync with mlpipe.yaml or drifted), the queue
depths (waiting, in flight, dead-letter), the function's state and the endpoint's status.

Examples:
  mlpipe status
  mlpipe --stage prod --output json status
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("status", help=HELP)
    def status_command(ctx: typer.Context) -> None:
        from mlpipe.cli.render import print_json, stdout, table
        from mlpipe.ops.status import status

        opts = options(ctx)
        loaded = opts.load()
        result = status(loaded.config, opts.clients(loaded))
        if opts.json:
            print_json(result.to_dict())
            return
        rows = [(r.kind, r.name, r.state, r.detail) for r in result.resources]
        table(f"{result.app}/{result.stage}", ["resource", "name", "state", "detail"], rows)

        def shown(value: object) -> str:
            return "-" if value is None else str(value)

        q = result.queues
        stdout.print(f"queues: {shown(q.get('trigger'))} waiting, {shown(q.get('in_flight'))} in flight, "
                     f"{shown(q.get('dlq'))} in the dead-letter queue")  # fmt: skip
        stdout.print(f"function: {shown(result.function_state)}")
        stdout.print(f"endpoint: {shown(result.endpoint_status)}  model: {shown(result.model_version)}")
        if not result.deployed:
            stdout.print("not deployed: run `mlpipe deploy`")
        elif not result.in_sync:
            stdout.print("differs from mlpipe.yaml: `mlpipe deploy --dry-run` shows what deploy would change")
