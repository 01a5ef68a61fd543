"""`mlpipe status`: one view of every resource of the stage."""

from __future__ import annotations

import typer

from mlpipe.cli.context import options

HELP = """Show every resource of the stage (exists, in sync with mlpipe.yaml or drifted): what deploy
creates, then what train creates (the permissions boundary, model bucket, SageMaker role, endpoint,
its configs and models), the queue
depths (waiting, in flight, dead-letter), the function's state, a problem AWS reports on the event
source mapping (a State other than Enabled, a LastProcessingResult starting with PROBLEM) and its
fix, the endpoint's status, the alarms' states (OK, ALARM, INSUFFICIENT_DATA; `mlpipe tail alarms`
shows their history) and, once `bootstrap-pipeline` ran, the CI/CD resources and the latest
pipeline run. The exit code is 0 whatever the resources' state.

Examples:

\b
  mlpipe status
  mlpipe --stage prod --output json status
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("status", help=HELP)
    def status_command(ctx: typer.Context) -> None:
        from mlpipe.cli.render import print_json, stdout, table
        from mlpipe.lambda_package import project_package
        from mlpipe.ops.status import status

        opts = options(ctx)
        loaded = opts.load()
        result = status(loaded.config, opts.clients(loaded), project_package(loaded.project_dir))
        if opts.json:
            print_json(result.to_dict())
            return
        rows = [(r.kind, r.name, r.state, r.detail) for r in result.resources]
        table(f"{result.app}/{result.stage}", ["resource", "name", "state", "detail"], rows)
        rows = [(r.kind, r.name, r.state, r.detail) for r in result.model_resources]
        table(f"{result.app}/{result.stage} model (mlpipe train)", ["resource", "name", "state", "detail"], rows)

        def shown(value: object) -> str:
            return "-" if value is None else str(value)

        q = result.queues
        stdout.print(f"queues: {shown(q.get('trigger'))} waiting, {shown(q.get('in_flight'))} in flight, "
                     f"{shown(q.get('dlq'))} in the dead-letter queue")  # fmt: skip
        stdout.print(f"function: {shown(result.function_state)}")
        if result.mapping and result.mapping.problem:  # what AWS reports on the mapping: not polling, or failing
            stdout.print(f"event source mapping: {result.mapping.problem}", markup=False)
            stdout.print(f"  fix: {result.mapping.hint}", markup=False)
        stdout.print(f"endpoint: {shown(result.endpoint_status)}  model: {shown(result.model_version)}")
        if result.alarms:
            states = ", ".join(f"{name} {state}" for name, state in result.alarms.items())
            stdout.print(f"alarms: {states}")
        if result.pipeline_resources:
            rows = [(r.kind, r.name, r.state, r.detail) for r in result.pipeline_resources]
            table(f"{result.app} CI/CD", ["resource", "name", "state", "detail"], rows)
            stdout.print(f"pipeline: latest run {shown(result.pipeline_run)}")
        if not result.deployed:
            stdout.print("not deployed: run `mlpipe deploy`")
        elif not result.in_sync:
            stdout.print("differs from mlpipe.yaml: `mlpipe deploy --dry-run` shows what deploy would change")
