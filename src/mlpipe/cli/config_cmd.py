"""`mlpipe config schema` and `mlpipe config show`."""

from __future__ import annotations

import typer

from mlpipe.cli.context import options


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    config_app = groups["config"]

    @config_app.command(
        "schema",
        help="Print the JSON schema of mlpipe.yaml, for editor validation.\n\n"
        "Example: mlpipe config schema > mlpipe.schema.json",
    )
    def schema() -> None:
        from mlpipe.cli.render import print_json
        from mlpipe.config import config_schema

        print_json(config_schema())

    @config_app.command(
        "show",
        help="Show the effective configuration and where each value comes from "
        "(option, MLPIPE_* environment variable, file:line, or default).\n\n"
        "Example: mlpipe --stage prod config show",
    )
    def show(ctx: typer.Context) -> None:
        from mlpipe.cli.render import print_json, table
        from mlpipe.ops.config_view import effective_values

        opts = options(ctx)
        rows = effective_values(opts.load())
        if opts.json:
            print_json({key: {"value": value, "source": source} for key, value, source in rows})
            return
        table("Effective configuration", ["key", "value", "source"], rows)
