"""The embedded AWS for `mlpipe demo`: a background process recorded in the cache directory.

The same record `mlpipe local up` writes (`mlpipe.local.state`), so `--local` commands, `mlpipe
local status` and `mlpipe local down` find a server the demo started with --keep.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from mlpipe.errors import AwsTargetError
from mlpipe.local.state import DEFAULT_PORT, ServerState, cache_dir, clear_state, read_state, write_state

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
SERVE = "from mlpipe.local.server import EmbeddedServer; EmbeddedServer(port={port}).serve_forever()"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(port: int | None) -> int:
    """The requested port; by default 4599, or any free port when that one is taken."""
    if port is None and _free(DEFAULT_PORT):
        return DEFAULT_PORT
    if port:
        if not _free(port):
            raise AwsTargetError(f"port {port} is in use", hint="pass another --port, or --port 0 for any free one")
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_mlpipe/status", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class RecordedServer:
    """Start, find and stop the recorded background server (the demo's `ServerControl`)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port
        self.started: ServerState | None = None

    def running_url(self) -> str | None:
        state = read_state()
        return state.endpoint_url if state and answers(state.endpoint_url) else None

    def start(self) -> str:
        port = choose_port(self.port)
        log_path = cache_dir() / "local.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", SERVE.format(port=port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the demo with --keep; Ctrl-C here does not reach it
            )
        state = ServerState(pid=process.pid, port=port, log_file=str(log_path))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not answers(state.endpoint_url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AwsTargetError(
                    f"the embedded AWS did not start on port {port}: {_last_line(log_path)}",
                    hint=f"see {log_path}; `mlpipe local up --foreground` shows the error",
                )
            time.sleep(0.1)
        write_state(state)
        self.started = state
        return state.endpoint_url

    def stop(self) -> None:
        """Stop the server this object started, and only that one."""
        state = self.started
        if state is None:
            return
        try:
            os.kill(state.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _alive(state.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(state.pid):
                os.kill(state.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        recorded = read_state()
        if recorded is None or recorded.pid == state.pid:
            clear_state()
        self.started = None


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
        return finished == 0
    except ChildProcessError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line]
    except OSError:
        return "no log"
    return lines[-1][:200] if lines else "no output"
