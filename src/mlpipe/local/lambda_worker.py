"""One warm Lambda execution environment: a child process that imports the handler once and runs it.

Started by the mapping runner as `python lambda_worker.py <code dir> <module.function> [<rules>]` with
the function's environment; given rules, it confines itself (lambda_sandbox.py) before importing the
handler. It is a standalone script (standard library only, mlpipe not imported), so the handler sees
what it would see in Lambda. Protocol: one JSON line per request on stdin,
one JSON line per reply on the original stdout. The handler's prints are sent as they happen,
each line as a {"log": line} message before the reply, so the lines written before a crash or a
timeout reach the function's log, as Lambda's do.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import resource
import sys
import threading
import time
import traceback
from typing import Any, TextIO


class LineSink(io.TextIOBase):
    """stdout/stderr of one invocation: every complete line goes to the mapping runner at once."""

    def __init__(self, channel: TextIO) -> None:
        self._channel = channel
        self._partial = ""
        self._lock = threading.Lock()  # the handler's own threads may print too

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
            for line in lines:
                self._channel.write(json.dumps({"log": line}) + "\n")
        return len(text)

    def close_invocation(self) -> None:
        with self._lock:
            if self._partial:
                self._channel.write(json.dumps({"log": self._partial}) + "\n")
            self._partial = ""


class LambdaContext:
    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id = request["request_id"]
        self.function_name = request["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = request["function_arn"]
        self.memory_limit_in_mb = str(request["memory_mb"])
        self.log_group_name = request["log_group"]
        self.log_stream_name = request["log_stream"]
        self._deadline_ms = float(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _load(code_dir: str, spec: str) -> tuple[Any, dict[str, Any] | None]:
    module_name, _, function_name = spec.rpartition(".")
    sys.path.insert(0, code_dir)
    try:
        module = importlib.import_module(module_name)
        return getattr(module, function_name), None
    except Exception as exc:
        kind = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        return None, {"errorType": kind, "errorMessage": f"Unable to import module '{module_name}': {exc}"}


def _confine(rules: str) -> dict[str, Any] | None:
    """Apply the sandbox (lambda_sandbox.py, loaded by path: mlpipe is not importable here) before
    any of the function's code runs; None when confined, else the error every invocation reports."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lambda_sandbox.py")
    try:
        spec = importlib.util.spec_from_file_location("_mlpipe_lambda_sandbox", path)
        assert spec is not None and spec.loader is not None
        sandbox = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sandbox)
        sandbox.enforce(json.loads(rules))
        return None
    except Exception as exc:  # fail closed: never run the handler unconfined when confinement was asked
        return {"errorType": "Runtime.SandboxError", "errorMessage": f"cannot confine the function: {exc}"}


def main() -> None:
    code_dir, spec = sys.argv[1], sys.argv[2]
    rules = sys.argv[3] if len(sys.argv) > 3 else ""  # JSON rules, "" when the server runs code unconfined
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray writes to fd 1 (C extensions) must not corrupt the reply channel
    os.chdir(code_dir)
    started = time.monotonic()
    init_error = _confine(rules) if rules else None
    handler, init_error = (None, init_error) if init_error else _load(code_dir, spec)
    init_ms = (time.monotonic() - started) * 1000
    replies.write(json.dumps({"ready": True, "init_ms": init_ms, "init_error": init_error}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        replies.write(json.dumps(_invoke(handler, init_error, request, replies), default=str) + "\n")


def _invoke(
    handler: Any, init_error: dict[str, Any] | None, request: dict[str, Any], channel: TextIO
) -> dict[str, Any]:
    output = LineSink(channel)
    started = time.monotonic()
    reply: dict[str, Any]
    if handler is None:
        reply = {"ok": False, "error": init_error}
    else:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                result = handler(request["event"], LambdaContext(request))
                json.dumps(result)  # Lambda fails an invocation whose result is not JSON
                reply = {"ok": True, "result": result}
            except Exception as exc:
                reply = {
                    "ok": False,
                    "error": {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": traceback.format_exc().splitlines(),
                    },
                }
    reply["duration_ms"] = (time.monotonic() - started) * 1000
    output.close_invocation()
    reply["max_memory_mb"] = peak_rss_mb()
    return reply


def peak_rss_mb() -> int:
    """This process's peak resident memory, as Lambda's REPORT line counts it.

    Linux keeps ru_maxrss across fork+exec, so a worker started by a large server would report the
    server's peak; VmHWM belongs to the process's own address space, which exec replaced."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // (1024 * 1024) if sys.platform == "darwin" else peak // 1024  # bytes on macOS, kB elsewhere


if __name__ == "__main__":
    main()
