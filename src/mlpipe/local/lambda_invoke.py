"""One Lambda invocation in a warm worker, and the log lines Lambda writes for it.

Every invocation gets START, the handler's lines (streamed, so those printed before a crash or a
timeout are kept), END and REPORT. A timeout adds `<time> <requestId> Task timed out after N.NN
seconds`; a worker that exits mid-invocation adds `RequestId: <id> Error: Runtime exited with
error: exit status N` and `Runtime.ExitError`; both REPORT lines carry the Status as Lambda's do.
Each invocation also counts in the function's AWS/Lambda metrics (mlpipe.local.metrics).
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlpipe.local.lambda_pool import FunctionVersion, WorkerCrashed, WorkerTimeout
from mlpipe.local.registry import Context

if TYPE_CHECKING:
    from mlpipe.local.mapping_runner import MappingRunner

# How Go's os/exec (Lambda's runtime interface) names the signal that ended a runtime.
_SIGNAL_TEXT = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted"}


@dataclass
class Outcome:
    result: Any = None
    error: dict[str, Any] | None = None
    lines: list[str] = field(default_factory=list)
    logs_refused: str = ""  # why the lines were lost (the role may not write them), "" when written


def invoke(runner: MappingRunner, version: FunctionVersion, code: bytes, event: dict[str, Any]) -> Outcome:
    """Run one invocation in a warm worker and write its log lines, as Lambda does."""
    pool = runner.pool_for(version, code)
    request_id = str(uuid.uuid4())
    started_ms = int(time.time() * 1000)
    worker = pool.acquire()
    request = {
        "event": event,
        "request_id": request_id,
        "function_name": version.name,
        "function_arn": version.arn,
        "memory_mb": version.memory_mb,
        "log_group": version.log_group,
        "log_stream": worker.log_stream,
        "deadline_ms": started_ms + version.timeout_s * 1000,
    }
    init_ms, worker.init_ms = worker.init_ms, None  # reported on the first invocation only
    stream = worker.log_stream
    failure: list[str] = []  # the lines Lambda adds for a timeout or a crash
    status = ""
    try:
        reply = worker.invoke(request, version.timeout_s + 0.5)
        pool.release(worker)
    except (WorkerTimeout, WorkerCrashed) as exc:
        peak = worker.peak_memory_mb()
        worker.kill()
        pool.release(None)
        reply, failure, status = _failed(exc, version, request_id, started_ms, worker.output, peak)
    outcome = Outcome(result=reply.get("result"), error=None if reply.get("ok") else reply.get("error"))
    lines = [f"START RequestId: {request_id} Version: $LATEST"]
    lines += [line for line in str(reply.get("output", "")).splitlines() if line.strip()]
    if outcome.error is not None and not failure:
        lines.append(json.dumps(outcome.error))
    lines += failure
    duration = float(reply.get("duration_ms", 0.0))
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms"
        f"\tMemory Size: {version.memory_mb} MB\tMax Memory Used: {reply.get('max_memory_mb', 0)} MB"
    )
    if init_ms is not None:
        report += f"\tInit Duration: {init_ms:.2f} ms"
    lines += [f"END RequestId: {request_id}", report + status]
    outcome.lines = lines
    outcome.logs_refused = write_logs(runner.ctx, version, stream, lines, started_ms)
    from mlpipe.local.metrics import record_invocation

    account = version.arn.split(":")[4]
    record_invocation(account, version.region, version.name, error=outcome.error is not None, duration_ms=duration)
    evaluator = runner.ctx.state.get("alarm_evaluator")
    if evaluator is not None:
        evaluator.nudge()
    return outcome


def _failed(
    exc: Exception, version: FunctionVersion, request_id: str, started_ms: int, output: list[str], peak_mb: int
) -> tuple[dict[str, Any], list[str], str]:
    """(reply, the lines Lambda writes, the REPORT line's status) for a timed-out or crashed invocation."""
    if isinstance(exc, WorkerTimeout):
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        message = f"Task timed out after {version.timeout_s:.2f} seconds"
        error = {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"}
        lines, status = [f"{stamp} {request_id} {message}"], "\tStatus: timeout"
    else:
        code = exc.exit_code if isinstance(exc, WorkerCrashed) else None
        how = _exit_text(code)
        error = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {how}"}
        lines = [f"RequestId: {request_id} Error: {how}", "Runtime.ExitError"]
        status = "\tStatus: error\tError Type: Runtime.ExitError"
    reply = {
        "ok": False,
        "error": error,
        "output": "\n".join(output),
        "duration_ms": (time.time() * 1000 - started_ms),
        "max_memory_mb": peak_mb,
    }
    return reply, lines, status


def _exit_text(code: int | None) -> str:
    if code is None:
        return "Runtime exited without providing a reason"
    if code < 0:
        with contextlib.suppress(ValueError):
            sig = signal.Signals(-code)
            return f"Runtime exited with error: signal: {_SIGNAL_TEXT.get(sig, sig.name.lower())}"
    return f"Runtime exited with error: exit status {code}"


def write_logs(ctx: Context, version: FunctionVersion, stream: str, lines: list[str], started_ms: int) -> str:
    """The invocation's lines into /aws/lambda/<function>, in-process, as the execution role's session
    (role_logs.RoleLogStream): "" when written, else why they were lost."""
    from mlpipe.local.role_logs import RoleLogStream

    now_ms = max(int(time.time() * 1000), started_ms)
    events = [{"timestamp": started_ms if i == 0 else now_ms, "message": line} for i, line in enumerate(lines)]
    account = version.arn.split(":")[4]
    writer = RoleLogStream(account, version.region, version.log_group, stream, version.role, version.name)
    return writer.write(ctx, events)
