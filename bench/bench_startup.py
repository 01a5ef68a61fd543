"""Start-up time of `mlpipe --help` and `mlpipe deploy --help`, against `python -c pass` measured in
the same run, plus the Lambda zip's size.

    .venv/bin/python bench/bench_startup.py [runs]

Target: `mlpipe --help` median <= 80 ms on the project's 2-core machine; zip <= 16 KB.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 21
TARGET_MS = 80.0
BIN = Path(sys.executable).parent
MLPIPE = shutil.which("mlpipe", path=str(BIN)) or str(BIN / "mlpipe")


def median_ms(argv: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    cases = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "mlpipe --help": [MLPIPE, "--help"],
        "mlpipe deploy --help": [MLPIPE, "deploy", "--help"],
        "python -m mlpipe --help": [sys.executable, "-m", "mlpipe", "--help"],
        "mlpipe --version (full typer path)": [MLPIPE, "--version"],
    }
    for argv in cases.values():  # warm the file cache once
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    results = {label: median_ms(argv, env) for label, argv in cases.items()}
    baseline = results["python -c pass (baseline)"]
    print(f"median of {RUNS} runs each")
    for label, ms in results.items():
        print(f"  {label:38s} {ms:7.1f} ms   x{ms / baseline:5.2f} of baseline   (+{ms - baseline:6.1f} ms)")
    help_ms = results["mlpipe --help"]
    verdict = "OK" if help_ms <= TARGET_MS else "MISSED"
    print(f"mlpipe --help: {help_ms:.1f} ms, target <= {TARGET_MS:.0f} ms: {verdict}")

    from mlpipe.lambda_package import MAX_ZIP_BYTES, build_package

    package = build_package()
    kib = package.size / 1024
    print(f"Lambda zip: {package.size} bytes ({kib:.1f} KiB) of {MAX_ZIP_BYTES} allowed, sha256 {package.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
