"""A real `mlpipe` process to Ctrl-C at a known point: the embedded AWS holds one operation's calls
(the fault switch's `hold`), the test waits until the server says a call is held, sends SIGINT, waits
for the command's notice on stderr, then lets the held calls go on. No guessed sleep anywhere."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from mlpipe.local.control import admin_request

DEADLINE_S = 120.0  # for a step that normally takes well under a second: only a hang reaches it


def hold(endpoint_url: str, service: str, operation: str, after: int = 0) -> None:
    spec = {"service": service, "operation": operation, "hold": True, "after": after}
    status, body = admin_request(endpoint_url, "POST", "/_mlpipe/faults", spec)
    assert status == 200, body


def wait_held(endpoint_url: str, service: str, operation: str, held: int = 1) -> None:
    spec = {"service": service, "operation": operation, "held": held, "timeout": DEADLINE_S}
    status, body = admin_request(endpoint_url, "POST", "/_mlpipe/faults/wait", spec, timeout=DEADLINE_S + 10)
    assert status == 200, body


def release(endpoint_url: str) -> None:
    status, body = admin_request(endpoint_url, "DELETE", "/_mlpipe/faults")
    assert status == 200, body


class Mlpipe:
    """`python -m mlpipe ARGV` in `cwd`, its stderr read line by line as it comes."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlpipe", *argv],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def expect(self, text: str) -> str:
        """The next stderr line containing `text` (the lines before it are kept in `err`)."""
        while True:
            line = self.lines.get(timeout=DEADLINE_S)
            assert line is not None, f"{text!r} never came; stderr:\n{''.join(self.err)}"
            self.err.append(line)
            if text in line:
                return line

    def finish(self) -> tuple[int, str, str]:
        """Exit code, stdout and the whole stderr."""
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()  # stderr is the reader thread's: communicate() would race it
        self.proc.wait(timeout=DEADLINE_S)
        while (line := self.lines.get(timeout=DEADLINE_S)) is not None:
            self.err.append(line)
        return self.proc.returncode, out, "".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def envelope(stderr: str) -> dict[str, Any]:
    """The error envelope: the last line of stderr with `-o json`."""
    data: dict[str, Any] = json.loads(stderr.strip().splitlines()[-1])
    return data
