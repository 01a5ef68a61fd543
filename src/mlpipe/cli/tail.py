"""`mlpipe tail logs`, `tail dlq` and `tail alarms` (`tail pipeline` is registered by cli/pipeline.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from mlpipe.cli.context import options

if TYPE_CHECKING:
    from mlpipe.ops.logevents import LogEvent


def logs(
    ctx: typer.Context,
    since: str = typer.Option("10m", "--since", help="How far back: 30s, 10m, 1h, 2d, or an ISO-8601 time."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep showing new lines (Ctrl-C stops)."),
    pattern: str | None = typer.Option(None, "--filter", help="CloudWatch Logs filter pattern, passed through."),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop following after this long."),
) -> None:
    from mlpipe.errors import UsageError
    from mlpipe.ops.since import parse_since
    from mlpipe.ops.tail import tail_logs

    if max_seconds is not None and max_seconds < 0:
        raise UsageError(f"--max-seconds {max_seconds:g}: must not be negative")
    opts = options(ctx)
    since_ms = parse_since(since)
    loaded = opts.load()
    sink = _print_raw if opts.json else _print_readable
    try:
        tail_logs(
            loaded.config,
            opts.clients(loaded),
            opts.reporter(),
            sink,
            since_ms,
            pattern=pattern,
            follow=follow,
            max_seconds=max_seconds,
        )
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def dlq(
    ctx: typer.Context,
    limit: int = typer.Option(10, "--limit", "-n", help="At most this many messages.", min=1, max=1000),
) -> None:
    from mlpipe.cli.render import print_json, stdout
    from mlpipe.ops.tail import tail_dlq

    opts = options(ctx)
    loaded = opts.load()
    result = tail_dlq(loaded.config, opts.clients(loaded), opts.reporter(), limit=limit)
    if opts.json:
        print_json(
            {
                "queue": result.queue,
                "depth": result.approximate_depth,
                "messages": [m.to_dict() for m in result.messages],
            }
        )
        return
    if not result.messages:
        stdout.print(f"{result.queue} is empty")
        return
    stdout.print(f"{result.queue}: {len(result.messages)} of ~{result.approximate_depth} message(s)", markup=False)
    for m in result.messages:
        cid = f"  id {m.correlation_id}" if m.correlation_id else ""
        stdout.print(
            f"{_clock(m.sent_ms)}  {m.message_id}  receives {m.receive_count}{cid}\n"
            f"    reason: {m.reason}\n    body:   {_excerpt(m.body, 100)}",
            markup=False,
        )


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    tail = groups["tail"]
    tail.command(
        "logs",
        help="Show the prediction function's log lines: predictions (message id, prediction, latency), "
        "poison messages, retries.\n\n"
        "Examples:\n\n"
        "  mlpipe tail logs --since 1h --filter poison\n\n"
        "  mlpipe tail logs --follow\n\n"
        "  mlpipe -o json tail logs --since 2026-11-26T14:00:00Z",
    )(logs)
    tail.command(
        "dlq",
        help="List the dead-letter queue's messages with why they failed, without consuming them.\n\n"
        "Example: mlpipe tail dlq --limit 50",
    )(dlq)
    _register_alarms(tail)


def _register_alarms(tail: typer.Typer) -> None:
    @tail.command(
        "alarms",
        help="Show the stage's alarms (DLQ not empty, function errors, oldest message age): their state, "
        "their recent history (state changes, notifications published) and the e-mails delivered.\n\n"
        "Examples:\n\n"
        "  mlpipe tail alarms\n\n"
        "  mlpipe -o json tail alarms --since 1d",
    )
    def alarms(
        ctx: typer.Context,
        since: str = typer.Option("1d", "--since", help="History since: 30s, 10m, 1h, 2d, or an ISO-8601 time."),
        limit: int = typer.Option(
            20, "--limit", "-n", help="At most this many history items per alarm.", min=1, max=100
        ),
    ) -> None:
        from mlpipe.cli.render import print_json, stdout, table
        from mlpipe.ops.alarms_view import tail_alarms
        from mlpipe.ops.since import parse_since

        opts = options(ctx)
        since_ms = parse_since(since)
        loaded = opts.load()
        result = tail_alarms(loaded.config, opts.clients(loaded), since_ms, limit)
        if opts.json:
            print_json(result.to_dict())
            return
        if not result.alarms:
            stdout.print("no alarms: run `mlpipe deploy` (alarm.enabled: true)")
            return
        table(
            "alarms",
            ["alarm", "state", "since", "reason"],
            [(a.name, a.state, a.updated, a.reason) for a in result.alarms],
        )
        for h in result.history:
            stdout.print(f"{h.timestamp}  {h.alarm}  {h.kind}: {h.summary}", markup=False)
        if result.mails:
            stdout.print(f"e-mails delivered by {result.topic_arn}:", markup=False)
        for m in result.mails:
            stdout.print(f"{m.timestamp}  to {m.destination}: {m.subject}", markup=False)


def _clock(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _excerpt(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_raw(event: LogEvent) -> None:
    import sys

    sys.stdout.write(json.dumps(event.to_dict()) + "\n")
    sys.stdout.flush()


def readable(event: LogEvent) -> str:
    """One line per event: the structured handler lines decoded, anything else as logged."""
    when = datetime.fromtimestamp(event.timestamp / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
    record = event.record()
    if record is None:
        return f"{when}  {event.message.rstrip()}"
    kind = record.get("event")
    message_id = str(record.get("message_id") or "-")
    if kind == "prediction":
        predictions = record.get("predictions") or []
        from mlpipe.ops.rows import describe_predictions

        shown = describe_predictions(predictions[:5], (record.get("classes") or [])[:5])
        more = f" (+{len(predictions) - 5} more)" if len(predictions) > 5 else ""
        return f"{when}  prediction  {message_id}  [{shown}{more}]  {record.get('latency_ms', '?')} ms"
    if kind == "poison":
        return f"{when}  POISON      {message_id}  {record.get('reason', '')}"
    rest = {k: v for k, v in record.items() if k not in ("event", "message_id")}
    return f"{when}  {kind!s:<11} {message_id}  {json.dumps(rest)}"


def _print_readable(event: LogEvent) -> None:
    from mlpipe.cli.render import stdout

    stdout.print(readable(event), markup=False)
