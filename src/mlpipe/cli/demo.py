"""`mlpipe demo`: train -> deploy -> pipeline -> send -> predictions, offline, in one command.

Drawn live with rich on a terminal; plain lines (one per stage and per result) anywhere else, so
CI logs and pipes stay readable; `--output json` prints only the result.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mlpipe.cli.context import options

if TYPE_CHECKING:
    from mlpipe.ops.demo import DemoResult, RowOutcome

HELP = """Run the whole mission offline on the embedded AWS, in under a minute: create a scratch
project (mlpipe.yaml with target: local), start the embedded AWS unless it runs, train XGBoost on
the bundled dataset (or --data), deploy the queues and the function, bootstrap the CI/CD pipeline,
send a few rows and one malformed message, then show the predictions arriving in the function's
logs, the malformed message in the dead-letter queue with its reason, the status of every resource,
and the commands that do each step by hand, here and on AWS.

Without --keep the demo removes its resources from the embedded AWS (nothing of it is in the state
a later `mlpipe local up` restores), stops the embedded AWS it started (only that one) and removes
its scratch project; with --keep all stay, for exploring with the printed commands.

Examples:

\b
  mlpipe demo
  mlpipe demo --keep --dir ./demo-project
  mlpipe demo --data tests/data/boston_train.csv --target 0
  mlpipe -o json demo
"""

FEATURES_SHOWN = 44  # characters of a row's features in the predictions table
COMMAND_COLUMN = 72  # by-hand commands longer than this get their comment on a line of its own


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("demo", help=HELP)
    def demo_command(
        ctx: typer.Context,
        data: str | None = typer.Option(None, "--data", "-d", help="Your CSV (default: the bundled dataset)."),
        target: str | None = typer.Option(None, "--target", "-t", help="Target column of --data (default: the last)."),
        keep: bool = typer.Option(False, "--keep", help="Leave the embedded AWS and the project running."),
        directory: Path | None = typer.Option(None, "--dir", help="Project directory (default: a scratch one)."),
        rows: int = typer.Option(5, "--rows", min=1, max=50, help="Rows to send."),
        port: int | None = typer.Option(
            None, "--port", min=0, max=65535, help="Port of the embedded AWS if the demo starts it (0: any free)."
        ),
        timeout: float = typer.Option(40.0, "--timeout", min=1, help="Seconds to wait for each result."),
    ) -> None:
        from mlpipe.cli.render import print_json
        from mlpipe.ops.demo import DemoRequest

        opts = options(ctx)
        request = DemoRequest(directory, data, target, rows, keep, timeout)
        server = _server_control(port)
        if opts.json:
            print_json(_run_demo(request, server, _display(quiet=True)).to_dict())
            return
        display = _display(quiet=False)
        with display:
            result = _run_demo(request, server, display)
        _summary(result)


def _run_demo(request: Any, server: Any, display: Any) -> Any:
    """The demo; a Ctrl-C says so in its own terms (a stage's "N of M changes" means nothing here)."""
    from mlpipe.cli.embedded import RecordedEmbeddedAws
    from mlpipe.errors import Interrupted
    from mlpipe.ops.demo import run_demo

    try:
        return run_demo(request, server, display, display, embedded=RecordedEmbeddedAws())
    except (KeyboardInterrupt, Interrupted) as exc:
        raise Interrupted(
            "interrupted: the demo stopped before it finished", hint="run `mlpipe demo` again: it starts afresh"
        ) from exc


def _server_control(port: int | None) -> Any:
    from mlpipe.cli.demo_server import RecordedServer

    return RecordedServer(port)


def _display(quiet: bool) -> Any:
    from mlpipe.cli.render import stdout

    if not quiet and stdout.is_terminal:
        return _LiveDisplay()
    return _PlainDisplay(quiet)


class _PlainDisplay:
    """One line per stage and per result, as they happen: for logs, pipes and CI."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.monotonic()

    def __enter__(self) -> _PlainDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _line(self, text: str) -> None:
        from mlpipe.cli.render import stdout

        if not self.quiet:
            stdout.print(f"[dim][{time.monotonic() - self.started:5.1f}s][/] {text}", highlight=False)

    # Reporter: the other use cases' steps are too fine-grained for a plain log; warnings are not.
    def step(self, message: str) -> None:
        pass

    def done(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        from mlpipe.cli.render import RichReporter

        RichReporter().warn(message)

    def progress(self, label: str, completed: int, total: int | None) -> None:
        pass

    # DemoListener
    def stage(self, name: str) -> None:
        pass

    def stage_done(self, name: str, summary: str, seconds: float) -> None:
        from rich.markup import escape

        self._line(f"[green]✓[/] {name} ({seconds:.1f}s): {escape(summary)}")

    def outcome(self, outcome: RowOutcome) -> None:
        from rich.markup import escape

        self._line(escape(_outcome_line(outcome)))


class _LiveDisplay(_PlainDisplay):
    """The stages as a checklist with a spinner on the current one, and the results as they arrive."""

    def __init__(self) -> None:
        super().__init__(quiet=False)
        from rich.live import Live
        from rich.spinner import Spinner

        from mlpipe.cli.render import stdout

        self.finished: list[tuple[str, float, str]] = []
        self.current: str | None = None
        self.activity = ""
        self.outcomes: list[RowOutcome] = []
        self.spinner = Spinner("dots")
        self.live = Live(console=stdout, refresh_per_second=10, get_renderable=self._render)

    def __enter__(self) -> _LiveDisplay:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.current = None
        self.live.stop()

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        steps = Table.grid(padding=(0, 1))
        for name, seconds, summary in self.finished:
            steps.add_row(Text("✓", style="green"), Text(name, style="bold"), f"{seconds:5.1f}s", Text(summary))
        if self.current:
            self.spinner.update(text=Text(self.activity, style="dim"))
            steps.add_row(self.spinner, Text(self.current, style="bold"), "", "")
        parts: list[Any] = [steps]
        if self.outcomes:
            parts.append(_outcomes_table(self.outcomes))
        return Group(*parts)

    def step(self, message: str) -> None:
        self.activity = message

    def done(self, message: str) -> None:
        self.activity = message

    def warn(self, message: str) -> None:
        from rich.markup import escape

        self.live.console.print(f"[yellow]Warning:[/] {escape(message)}")

    def stage(self, name: str) -> None:
        self.current, self.activity = name, ""

    def stage_done(self, name: str, summary: str, seconds: float) -> None:
        self.finished.append((name, seconds, summary))
        self.current = None

    def outcome(self, outcome: RowOutcome) -> None:
        self.outcomes.append(outcome)


def _outcome_line(o: RowOutcome) -> str:
    if o.status == "prediction":
        actual = f" (actual {o.actual:.4g})" if o.actual is not None else ""
        latency = f", {o.latency_ms:.0f} ms" if o.latency_ms is not None else ""
        return f"prediction {o.label}: {_fmt(o.prediction)}{actual}{latency}  <- {o.body}"
    if o.status == "poison":
        return f"dead-letter {o.label}: {o.reason}  <- {o.body}"
    return f"no result for {o.label}  <- {o.body}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _outcomes_table(outcomes: list[RowOutcome]) -> Any:
    from rich.table import Table

    t = Table(title="from the function's log group", header_style="bold", title_justify="left")
    t.add_column("message", no_wrap=True)
    t.add_column("sent", no_wrap=True, overflow="ellipsis", max_width=FEATURES_SHOWN)
    t.add_column("prediction", overflow="fold")
    t.add_column("actual", no_wrap=True)
    t.add_column("latency", no_wrap=True, justify="right")
    for o in outcomes:
        sent = o.body
        if o.status == "poison":
            t.add_row(o.label, sent, f"[red]to the DLQ:[/] {o.reason}", "", "")
        else:
            latency = "" if o.latency_ms is None else f"{o.latency_ms:.0f} ms"
            t.add_row(o.label, sent, f"[green]{_fmt(o.prediction)}[/]", _fmt(o.actual), latency)
    return t


def _summary(result: DemoResult) -> None:
    from rich.markup import escape

    from mlpipe.cli.render import stdout, table

    stdout.print()
    for message in result.dlq:
        stdout.print(
            f"[bold]dead-letter queue[/] ({result.dlq_depth} message(s)): {escape(message['body'])}\n"
            f"  reason: [red]{escape(message['reason'])}[/]  (`mlpipe tail dlq` shows it; `mlpipe redrive` resends)"
        )
    pipe = result.pipeline
    if pipe:
        actions = ", ".join(f"{a['stage']} {a['status']}" for a in pipe.get("actions", []))
        stdout.print(
            f"[bold]pipeline[/] {pipe['pipeline']}: run {pipe.get('status', 'not started')}"
            + (f" on commit {pipe['revision']}" if pipe.get("revision") else "")
            + (f" ({actions})" if actions else "")
        )
    status = result.status
    if status is not None:
        stdout.print()
        resources = status.every_resource
        rows = [(r.kind, r.name, r.state) for r in resources]
        table(f"mlpipe status: {status.app}/{status.stage}", ["resource", "name", "state"], rows)
        q = status.queues
        stdout.print(
            f"queues: {q.get('trigger')} waiting, {q.get('in_flight')} in flight, {q.get('dlq')} in the "
            f"dead-letter queue; function {status.function_state}; endpoint {status.endpoint_status}, "
            f"model {status.model_version}"
        )
    hint = path_hint()
    if hint:
        stdout.print()
        stdout.print(escape(hint))
    _commands("Each step by hand, on the embedded AWS:", result.by_hand)
    _commands("The same project on AWS (endpoints cost money until `mlpipe destroy`):", result.on_aws)
    stdout.print()
    if result.kept:
        stdout.print(f"Done in {result.seconds:.1f}s. Kept: the project in {result.directory} and the embedded AWS "
                     f"at {result.endpoint_url} (`mlpipe local down` stops it).")  # fmt: skip
    else:
        stopped = (
            "removed its resources and stopped the embedded AWS it started"
            if result.server_started
            else "removed its resources and left the embedded AWS running"
        )
        stdout.print(f"Done in {result.seconds:.1f}s; the demo {stopped}. `mlpipe demo --keep` keeps it all.")


def _commands(title: str, commands: list[tuple[str, str]]) -> None:
    from rich.markup import escape

    from mlpipe.cli.render import stdout

    stdout.print()
    stdout.print(f"[bold]{title}[/]")
    # Comments line up after the commands, unless a command is long (a row of features): then the
    # comment goes on its own line above it, so that no line is padded to the longest.
    width = max((len(command) for _, command in commands if len(command) <= COMMAND_COLUMN), default=0)
    for what, command in commands:
        if len(command) > COMMAND_COLUMN:
            stdout.print(f"  [dim]# {escape(what)}[/]", highlight=False)
            stdout.print(f"  {escape(command)}", highlight=False)
        else:
            stdout.print(f"  {escape(command.ljust(width))}  [dim]# {escape(what)}[/]", highlight=False)


def path_hint(which: Any = None, executable: str | None = None, cwd: Path | None = None) -> str | None:
    """How to run the printed commands when `mlpipe` is not on PATH (after `make demo`, it lives
    in .venv/bin): None when it is."""
    import shutil
    import sys

    which = which or shutil.which
    here = Path(executable or sys.executable).parent
    found = which("mlpipe")
    if found and Path(found).resolve().parent == here.resolve():
        return None
    script = here / "mlpipe"
    try:
        shown = script.relative_to(cwd or Path.cwd())
    except ValueError:
        shown = script
    return (
        f"`mlpipe` is not on your PATH: run `source {shown.parent}/activate` first (or type {shown} instead of mlpipe)"
    )
