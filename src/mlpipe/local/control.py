"""Start, stop and inspect the embedded AWS process (`mlpipe local ...`). Never prints.

The server runs as `python -m mlpipe local up --foreground` in its own session, writes its pid
and port through `local.state` once it listens, and logs to `<cache>/local.log`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.errors import AwsTargetError, UsageError
from mlpipe.local.state import ServerState, cache_dir, clear_state, ensure_cache_dir, read_state, write_state

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class UpResult:
    state: ServerState
    already_running: bool


def log_file() -> Path:
    return cache_dir() / "local.log"


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start_background(port: int, host: str = "127.0.0.1") -> UpResult:
    """Start the server in a detached process and wait until it answers."""
    running = read_state()
    if running is not None:
        return UpResult(running, already_running=True)
    _require_free(host, port)
    ensure_cache_dir()
    path = log_file()
    with path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlpipe", "local", "up", "--foreground", "--port", str(port), "--host", host],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the terminal; `mlpipe local down` stops it
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AwsTargetError(
                f"the embedded AWS exited during start-up (code {process.returncode})",
                hint=f"see {path}: {last_lines(path, 3)}",
            )
        state = read_state()
        if state is not None and state.pid == process.pid and _answers(state.endpoint_url):
            return UpResult(state, already_running=False)
        time.sleep(0.2)
    process.terminate()
    raise AwsTargetError(f"the embedded AWS did not answer within {START_TIMEOUT_S:.0f} s", hint=f"see {path}")


def run_foreground(port: int, host: str = "127.0.0.1", verbose: bool = False) -> None:
    """Serve in this process until SIGTERM/SIGINT, recorded in the state file meanwhile."""
    import logging

    from mlpipe.local.server import EmbeddedServer

    running = read_state()
    if running is not None and running.pid != os.getpid():
        raise UsageError(f"the embedded AWS is already running at {running.endpoint_url} (pid {running.pid})")
    ensure_cache_dir()  # where the state file goes: fail before serving, not after
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):  # meant for AWS; moto must not load it
        os.environ.pop(variable, None)
    _require_free(host, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = EmbeddedServer(port=port, host=host, verbose=verbose)
    original_start = server.start

    def start_and_record() -> None:
        original_start()
        write_state(ServerState(pid=os.getpid(), port=server.port, host=host, log_file=str(log_file())))

    server.start = start_and_record  # type: ignore[method-assign]
    try:
        server.serve_forever()
    finally:
        state = read_state()
        if state is not None and state.pid == os.getpid():
            clear_state()


def stop() -> ServerState | None:
    """Stop the recorded server; None when none was running."""
    state = read_state()
    if state is None:
        clear_state()
        return None
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _alive(state.pid):
        time.sleep(0.1)
    if _alive(state.pid):
        os.kill(state.pid, signal.SIGKILL)
    clear_state()
    return state


def status() -> dict[str, Any]:
    """What the running server reports at /_mlpipe/status (plus its recorded pid and log file)."""
    state = read_state()
    if state is None:
        raise AwsTargetError("the embedded AWS is not running", hint="start it with `mlpipe local up`")
    try:
        with urllib.request.urlopen(f"{state.endpoint_url}/_mlpipe/status", timeout=5) as reply:
            data: dict[str, Any] = json.loads(reply.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise AwsTargetError(
            f"the embedded AWS (pid {state.pid}) does not answer at {state.endpoint_url}: {exc}",
            hint="restart it: `mlpipe local down && mlpipe local up`",
        ) from None
    data.setdefault("server", {})["log_file"] = state.log_file
    return data


def last_lines(path: Path, count: int) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-count:])
    except OSError:
        return "(no log)"


def _require_free(host: str, port: int) -> None:
    if not port_free(host, port):
        raise UsageError(f"port {port} on {host} is already in use", hint="choose another one with --port")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_mlpipe/status", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # our own child that exited but was not reaped yet
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True
