"""`mlpipe demo` wall time (target: median <= 60 s on a 2-core machine, after installation).

Each run is a fresh subprocess with its own cache directory and a free port, as `make demo` runs it.
Baseline, measured in the same run: the bare embedded AWS start and stop (`mlpipe local up` +
`mlpipe local down`), i.e. what the demo costs on top of just having the emulator.

    .venv/bin/python bench/bench_demo.py [runs]      (default 3)
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(*commands: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as scratch:
        env = {**os.environ, "MLPIPE_CACHE_DIR": scratch, "TMPDIR": scratch, "NO_COLOR": "1"}
        env.pop("AWS_ENDPOINT_URL", None)
        started = time.perf_counter()
        for argv in commands:
            subprocess.run([sys.executable, "-m", "mlpipe", *argv], env=env, cwd=scratch, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)  # fmt: skip
        return time.perf_counter() - started


def _runs(times: list[float]) -> str:
    return ", ".join(f"{t:.1f}" for t in times)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    baseline = [_timed(["local", "up", "--port", str(port)], ["local", "down"]) for port in
                [_free_port() for _ in range(runs)]]  # fmt: skip
    demo = [_timed(["demo", "--port", str(_free_port())]) for _ in range(runs)]
    base_median, demo_median = statistics.median(baseline), statistics.median(demo)
    print(f"baseline `mlpipe local up` + `local down`: median {base_median:.1f} s  ({_runs(baseline)})")
    print(f"`mlpipe demo`:                             median {demo_median:.1f} s  ({_runs(demo)})")
    print(f"ratio demo / baseline: {demo_median / base_median:.1f}x; target <= {TARGET_S:.0f} s: "
          f"{'met' if demo_median <= TARGET_S else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
