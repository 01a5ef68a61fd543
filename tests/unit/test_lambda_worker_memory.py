"""The local Lambda's REPORT line measures the worker's own peak memory, not its parent's: Linux
keeps ru_maxrss across fork+exec, so a worker started by a large server reported the server's peak
("Max Memory Used: 291 MB" of "Memory Size: 256 MB")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipe.local import lambda_worker


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc only")
def test_max_memory_is_the_workers_own_peak(tmp_path: Path) -> None:
    (tmp_path / "fn.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
    ballast = b"x" * (300 * 1024 * 1024)  # this process, the worker's parent, now holds > 300 MB
    try:
        worker = subprocess.Popen(
            [sys.executable, lambda_worker.__file__, str(tmp_path), "fn.handler"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        del ballast
    request = {
        "request_id": "r1", "function_name": "fn", "function_arn": "arn:aws:lambda:us-east-1:1:function:fn",
        "memory_mb": 128, "log_group": "/aws/lambda/fn", "log_stream": "s", "deadline_ms": 9e15, "event": {},
    }  # fmt: skip
    reply_lines, _ = worker.communicate(json.dumps(request) + "\n", timeout=60)
    ready, reply = (json.loads(line) for line in reply_lines.splitlines())
    assert ready["ready"] and reply["ok"]
    assert 0 < reply["max_memory_mb"] < 128  # a bare Python process with a trivial handler
