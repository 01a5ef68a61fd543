"""`mlpipe redrive`: the dead-letter queue's messages back to the trigger queue."""

from __future__ import annotations

import typer

from mlpipe.cli.context import options


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command(
        "redrive",
        help="Move the dead-letter queue's messages back to the trigger queue (an SQS message move task), "
        "and report how many moved. Refuses while a move task is already running.\n\n"
        "Example: mlpipe redrive --rate 50",
    )
    def redrive_command(
        ctx: typer.Context,
        rate: int | None = typer.Option(None, "--rate", help="Messages per second (1-500); SQS decides if unset."),
        wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the move task finishes."),
        timeout: float = typer.Option(600.0, "--timeout", help="Seconds to wait for the task."),
    ) -> None:
        from mlpipe.cli.render import print_json, stdout
        from mlpipe.ops.redrive import redrive

        opts = options(ctx)
        loaded = opts.load()
        result = redrive(loaded.config, opts.clients(loaded), opts.reporter(), rate=rate, wait=wait, timeout_s=timeout)
        if opts.json:
            print_json(result.to_dict())
        elif result.status == "NOTHING":
            stdout.print(f"{result.source} is empty: nothing moved")
        elif result.status == "RUNNING" and not wait:
            stdout.print(f"moving ~{result.to_move} message(s) to {result.destination} (task {result.task_handle})")
        else:
            stdout.print(
                f"{result.status.lower()}: moved {result.moved} of ~{result.to_move} message(s) "
                f"from {result.source} to {result.destination}"
            )
