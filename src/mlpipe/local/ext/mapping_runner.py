"""Runs the mapping runner inside the embedded AWS (see mlpipe.local.mapping_runner)."""

from __future__ import annotations

from typing import Any

from mlpipe.local.mapping_runner import MappingRunner
from mlpipe.local.registry import Context, on_reset, on_shutdown, on_startup, on_status

KEY = "mapping_runner"


@on_startup
def start(ctx: Context) -> None:
    runner = MappingRunner(ctx)
    ctx.state[KEY] = runner
    runner.start()


@on_reset
def reset(ctx: Context) -> None:
    runner = ctx.state.get(KEY)
    if runner is not None:
        runner.reset()


@on_shutdown
def stop(ctx: Context) -> None:
    runner = ctx.state.pop(KEY, None)
    if runner is not None:
        runner.stop()


@on_status
def status(ctx: Context) -> dict[str, Any]:
    runner = ctx.state.get(KEY)
    return runner.status() if runner is not None else {"mappings": [], "processed": 0, "failed": 0}
