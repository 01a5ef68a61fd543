"""Runs the Lambda executor inside the embedded AWS (see mlpipe.local.executor)."""

from __future__ import annotations

from typing import Any

from mlpipe.local.executor import LambdaExecutor
from mlpipe.local.registry import Context, on_reset, on_shutdown, on_startup, on_status

KEY = "lambda_executor"


@on_startup
def start(ctx: Context) -> None:
    executor = LambdaExecutor(ctx)
    ctx.state[KEY] = executor
    executor.start()


@on_reset
def reset(ctx: Context) -> None:
    executor = ctx.state.get(KEY)
    if executor is not None:
        executor.reset()


@on_shutdown
def stop(ctx: Context) -> None:
    executor = ctx.state.pop(KEY, None)
    if executor is not None:
        executor.stop()


@on_status
def status(ctx: Context) -> dict[str, Any]:
    executor = ctx.state.get(KEY)
    return executor.status() if executor is not None else {"mappings": [], "processed": 0, "failed": 0}
