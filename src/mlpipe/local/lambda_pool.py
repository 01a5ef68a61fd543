"""Warm Lambda execution environments: worker processes per function version.

A pool belongs to one version of a function's code and configuration (CodeSha256, handler,
environment, timeout, memory): when any of these changes the executor asks for a new pool, and the
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

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


class WorkerTimeout(Exception):
    pass


class WorkerCrashed(Exception):
    pass


class Worker:
    """One child process running lambda_worker.py for one function version."""

    def __init__(self, version: FunctionVersion, code_dir: Path, base_env: dict[str, str]) -> None:
        env = {**base_env, **dict(version.environment)}
        self.log_stream = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = self.log_stream
        self.process = subprocess.Popen(
            [sys.executable, WORKER_SCRIPT, str(code_dir), version.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=str(code_dir),
            bufsize=0,
        )
        self._buffer = b""
        try:
            ready = self._read_line(START_TIMEOUT_S)
        except (WorkerTimeout, WorkerCrashed):
            self.kill()
            raise
        self.init_ms: float | None = float(ready.get("init_ms", 0.0))
        self.init_error = ready.get("init_error")

    def invoke(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrashed(f"worker process is gone: {exc}") from None
        return self._read_line(timeout_s)

    def _read_line(self, timeout_s: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout(f"no answer within {timeout_s:.1f} s")
            readable, _, _ = select.select([self.process.stdout], [], [], left)
            if readable:
                chunk = os.read(self.process.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise WorkerCrashed(f"worker process exited with code {self.process.wait()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return dict(json.loads(line))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class WorkerPool:
    """Up to `size` warm workers for one function version; callers take one, run, give it back."""

    def __init__(self, version: FunctionVersion, code_dir: Path, base_env: dict[str, str], size: int) -> None:
        self.version = version
        self.code_dir = code_dir
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
            return Worker(self.version, self.code_dir, self.base_env)  # a cold start
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
