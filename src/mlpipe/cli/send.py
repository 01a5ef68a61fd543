"""`mlpipe send`: put rows on the trigger queue; --wait shows what the function made of them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mlpipe.cli.context import options

if TYPE_CHECKING:
    from mlpipe.ops.send import SendInput, SendResult

HELP = """Send inputs to the trigger queue: one row, a JSON body, or a whole CSV file.

Rows are checked by the function's own rules before anything is sent (missing values: empty,
NA, NaN, ?, null). Files (comma, semicolon with decimal comma, tab or pipe: detected) go out with
SendMessageBatch, several calls in flight; a header row matches columns to the model's features by
name, in any order. --wait shows each message's prediction (label and probability for a
classifier), or why it ended in the dead-letter queue.

Examples:

\b
  mlpipe send --payload "0.02,18,2.3,0,0.5,6.5,65,4.1,1,296,15,397,5" --wait
  mlpipe send --file rows.csv --rows-per-message 50
  cat rows.csv | mlpipe send --file -
  mlpipe send --json '{"instances": [[0.02,18,2.3,0,0.5,6.5,65,4.1,1,296,15,397,5]]}'
  mlpipe send --json '{"features": {"CRIM": 0.02, "ZN": 18, "INDUS": 2.3, "CHAS": 0,
    "NOX": 0.5, "RM": 6.5, "AGE": 65, "DIS": 4.1, "RAD": 1, "TAX": 296, "PTRATIO": 15,
    "B": 397, "LSTAT": 5}}'
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("send", help=HELP)
    def send_command(
        ctx: typer.Context,
        payload: str | None = typer.Option(None, "--payload", "-p", help="One CSV row of features."),
        json_body: str | None = typer.Option(None, "--json", help="A message body, sent as is."),
        file: str | None = typer.Option(None, "--file", "-f", help="CSV file, one row per line ('-' for stdin)."),
        rows_per_message: int = typer.Option(1, "--rows-per-message", "-n", help="Rows per message (files)."),
        validate: bool = typer.Option(True, "--validate/--no-validate", help="Check rows before sending."),
        wait: bool = typer.Option(False, "--wait", "-w", help="Wait for the predictions (or DLQ reasons)."),
        timeout: float = typer.Option(60.0, "--timeout", help="Seconds --wait waits."),
        workers: int = typer.Option(4, "--workers", help="SendMessageBatch calls in flight.", min=1, max=32),
        delimiter: str | None = typer.Option(None, "--delimiter", help="Files: , ; tab or | (detected if unset)."),
        decimal: str | None = typer.Option(None, "--decimal", help="Files: decimal mark, . or , (detected)."),
        header: bool | None = typer.Option(None, "--header/--no-header", help="Files: first line names columns."),
    ) -> None:
        from mlpipe.ops.send import SendInput, send
        from mlpipe.tabular import decimal_option, delimiter_option

        opts = options(ctx)
        request = SendInput(
            payload=payload,
            json_body=json_body,
            text=_read_input(file) if file is not None else None,
            source=("stdin" if file == "-" else file) if file is not None else ("--json" if json_body else "--payload"),
            rows_per_message=rows_per_message,
            validate=validate,
            delimiter=delimiter_option(delimiter),
            decimal=decimal_option(decimal),
            header=header,
        )
        loaded = opts.load()
        reporter = _progress_reporter(opts.json)
        try:
            result = send(
                loaded.config, opts.clients(loaded), reporter, request, wait=wait, timeout_s=timeout, workers=workers
            )
        finally:
            reporter.close()  # an error must not leave a live progress bar on the terminal
        _render(result, request, opts.json, timeout)


def _read_input(file: str) -> str:
    from mlpipe.errors import UsageError

    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file", hint="check the path given to --file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: cannot read: {exc}") from None


def _progress_reporter(quiet: bool) -> Any:
    from mlpipe.cli.render import RichReporter, stderr

    class ProgressReporter(RichReporter):
        """A rich progress bar with rate for long sends, on a terminal only."""

        def __init__(self) -> None:
            super().__init__(quiet=quiet)
            self._bars: dict[str, object] = {}

        def progress(self, label: str, completed: int, total: int | None) -> None:
            if self.quiet or not stderr.is_terminal or (total or 0) < 100:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            bar = self._bars.get(label)
            if bar is None:
                bar = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("[cyan]{task.fields[rate]}"),
                    TimeRemainingColumn(),
                    console=stderr,
                    transient=False,
                )
                bar.start()
                bar.add_task(label, total=total, rate="")
                self._bars[label] = bar
            assert isinstance(bar, Progress)
            task = bar.tasks[0]
            speed = task.speed or 0.0
            bar.update(task.id, completed=completed, rate=f"{speed:,.0f} msg/s" if speed else "")
            if total is not None and completed >= total:
                bar.stop()
                del self._bars[label]

        def close(self) -> None:
            for bar in self._bars.values():
                bar.stop()  # type: ignore[attr-defined]
            self._bars.clear()

    return ProgressReporter()


def _render(result: SendResult, request: SendInput, as_json: bool, timeout: float) -> None:
    from mlpipe.cli.render import print_json, stdout
    from mlpipe.errors import DeliveryError
    from mlpipe.ops.rows import describe_lines, describe_predictions

    if as_json:
        print_json(result.to_dict())
    elif not result.outcomes:
        if result.messages == 1:
            stdout.print(f"message id: {next(iter(result.message_ids.values()))}")
        else:
            stdout.print(
                f"{result.rows} row(s) in {result.messages} message(s), {result.requests} request(s), "
                f"{result.elapsed_s:.2f}s"
            )
    for outcome in result.outcomes if not as_json else []:
        where = f"{request.source}:{describe_lines(outcome.lines)}" if request.text is not None else "result"
        if outcome.status == "prediction":
            values = describe_predictions(outcome.predictions, outcome.classes)
            latency = f"  ({outcome.latency_ms} ms)" if outcome.latency_ms is not None else ""
            stdout.print(f"{where}: {values}{latency}")
        elif outcome.in_dlq:
            stdout.print(f"{where}: in the dead-letter queue: {outcome.reason}")
        else:
            stdout.print(
                f"{where}: no result within {timeout:g}s" + (f" (last: {outcome.reason})" if outcome.reason else "")
            )
    unfinished = result.unfinished
    if unfinished:
        dead = sum(1 for o in unfinished if o.in_dlq)
        raise DeliveryError(
            f"{len(unfinished)} of {len(result.outcomes)} message(s) gave no prediction "
            f"({dead} in the dead-letter queue, {len(unfinished) - dead} still pending)",
            hint="`mlpipe tail dlq` shows why; `mlpipe tail logs` shows what the function did",
        )
