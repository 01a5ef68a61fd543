"""Warm Lambda execution environments: worker processes per function version.

A pool belongs to one version of a function's code and configuration (CodeSha256, handler,
environment, timeout, memory): when any of these changes the mapping runner asks for a new pool, and the
old one is closed, so new code is picked up without restarting the server.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.local import lambda_worker
from mlpipe.local.lambda_confine import Confinement

WORKER_SCRIPT = lambda_worker.__file__
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FunctionVersion:
    """What a warm environment depends on; equal versions may share workers."""

    name: str
    arn: str
    region: str
    code_sha256: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    role: str = ""  # the execution role: the handler runs with its session's credentials

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


class WorkerTimeout(Exception):
    pass


class WorkerCrashed(Exception):
    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Worker:
    """One child process running lambda_worker.py for one function version."""

    def __init__(self, version: FunctionVersion, code_dir: Path, base_env: dict[str, str], rules: str = "") -> None:
        env = {**base_env, **dict(version.environment)}
        self.log_stream = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = self.log_stream
        self.process = subprocess.Popen(
            [sys.executable, WORKER_SCRIPT, str(code_dir), version.handler, *([rules] if rules else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=str(code_dir),
            bufsize=0,
        )
        self._buffer = b""
        self.output: list[str] = []  # the current invocation's log lines, as they arrive
        try:
            ready = self._read_line(START_TIMEOUT_S)
        except (WorkerTimeout, WorkerCrashed):
            self.kill()
            raise
        self.init_ms: float | None = float(ready.get("init_ms", 0.0))
        self.init_error = ready.get("init_error")

    def invoke(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """The reply, with "output": the lines the handler printed. After WorkerTimeout or
        WorkerCrashed, `self.output` holds the lines printed before it (Lambda keeps those)."""
        assert self.process.stdin is not None
        self.output = []
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrashed(f"worker process is gone: {exc}", self.process.poll()) from None
        reply = self._read_line(timeout_s)
        reply["output"] = "\n".join(self.output)
        return reply

    def _read_line(self, timeout_s: float) -> dict[str, Any]:
        """The next message that is not a log line; log lines are collected into `self.output`."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                message = dict(json.loads(line))
                if "log" not in message:
                    return message
                self.output.append(str(message["log"]))
            left = deadline - time.monotonic()
            if left <= 0:
                self._drain()
                raise WorkerTimeout(f"no answer within {timeout_s:.1f} s")
            readable, _, _ = select.select([self.process.stdout], [], [], left)
            if readable:
                chunk = os.read(self.process.stdout.fileno(), 1 << 20)
                if not chunk:
                    code = self.process.wait()
                    raise WorkerCrashed(f"worker process exited with code {code}", code)
                self._buffer += chunk

    def _drain(self) -> None:
        """Collect the log lines already written when the deadline passed."""
        assert self.process.stdout is not None
        for _ in range(64):  # bounded: a handler may still be printing in a loop
            if not select.select([self.process.stdout], [], [], 0)[0]:
                break
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)
            if not chunk:
                break
            self._buffer += chunk
        for line in self._buffer.split(b"\n")[:-1]:
            message = json.loads(line)
            if "log" in message:
                self.output.append(str(message["log"]))
        self._buffer = b""

    def peak_memory_mb(self) -> int:
        """The worker's peak resident memory (VmHWM) while it is still alive; 0 once gone."""
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except (OSError, ValueError):
            pass
        return 0

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class WorkerPool:
    """Up to `size` warm workers for one function version; callers take one, run, give it back."""

    def __init__(
        self,
        version: FunctionVersion,
        code_dir: Path,
        base_env: dict[str, str],
        size: int,
        confinement: Confinement | None = None,
    ) -> None:
        self.version = version
        self.code_dir = code_dir
        self.confinement = confinement
        if confinement is not None:  # the private temp directory is Lambda's /tmp: TMPDIR and HOME
            tmp = str(confinement.tmp_dir)
            base_env = {**base_env, "TMPDIR": tmp, "HOME": tmp}
        self.base_env = base_env
        self.size = size
        self._idle: list[Worker] = []
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False

    def acquire(self) -> Worker:
        with self._cond:
            while not self._idle and self._busy >= self.size:
                self._cond.wait()
            self._busy += 1
            if self._idle:
                return self._idle.pop()
        try:
            rules = self.confinement.rules if self.confinement is not None else ""
            return Worker(self.version, self.code_dir, self.base_env, rules)  # a cold start
        except Exception:
            self.release(None)
            raise

    def release(self, worker: Worker | None) -> None:
        """Give a worker back; None when it was discarded (killed after a timeout or crash)."""
        with self._cond:
            self._busy -= 1
            if worker is not None:
                if self._closed:
                    worker.kill()
                else:
                    self._idle.append(worker)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
        if self.confinement is not None:  # a new version starts with an empty /tmp, as on Lambda
            import shutil

            shutil.rmtree(self.confinement.tmp_dir, ignore_errors=True)


def extract_code(cache_root: Path, code_sha256: str, zip_bytes: bytes) -> Path:
    """Unzip a function's code once per CodeSha256 into the cache."""
    key = hashlib.sha256(code_sha256.encode()).hexdigest()[:32]
    target = cache_root / key
    if not (target / ".complete").exists():
        tmp = cache_root / f"{key}.{uuid.uuid4().hex}.tmp"
        tmp.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            archive.extractall(tmp)
        (tmp / ".complete").write_text(code_sha256)
        try:
            tmp.rename(target)
        except OSError:  # another thread won the race: use its copy
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return target
