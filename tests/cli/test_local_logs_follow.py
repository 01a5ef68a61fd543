"""`mlpipe local logs -f`: the last lines, then each line appended to the server's log as it comes.
Event-driven: the test reads the command's output line by line (a watchdog kills it if it hangs)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path


def test_logs_follow_prints_the_tail_then_appended_lines() -> None:
    log = Path(os.environ["MLPIPE_CACHE_DIR"]) / "local.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("first\nsecond\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlpipe", "local", "logs", "-n", "1", "-f"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    watchdog = threading.Timer(60, process.kill)  # a hang fails the test instead of blocking the run
    watchdog.start()
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "second\n"
        with log.open("a") as f:
            f.write("third\nfourth\n")
        assert [process.stdout.readline(), process.stdout.readline()] == ["third\n", "fourth\n"]
        assert process.poll() is None  # still following
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()


def test_logs_with_json_output_are_json_lines(capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from mlpipe.cli.app import run

    log = Path(os.environ["MLPIPE_CACHE_DIR"]) / "local.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(
        "Embedded AWS on http://127.0.0.1:0 (Ctrl-C to stop)\n"
        "2026-12-03 04:44:23,129 mlpipe.local INFO embedded AWS listening on http://127.0.0.1:36201\n"
    )
    assert run(["-o", "json", "local", "logs"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records == [
        {"message": "Embedded AWS on http://127.0.0.1:0 (Ctrl-C to stop)"},
        {
            "time": "2026-12-03 04:44:23,129",
            "logger": "mlpipe.local",
            "level": "INFO",
            "message": "embedded AWS listening on http://127.0.0.1:36201",
        },
    ]
