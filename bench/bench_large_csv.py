"""Benchmark: mlpipe's loader on a large generated CSV (default ~1 GB: 10M rows x 10 features + target).

    .venv/bin/python bench/bench_large_csv.py [--rows 10000000] [--train-rounds 10] [--keep]

Each measurement runs in its own process, so each peak RSS is that step's alone:
- mlpipe's columnar loader (mlpipe.model.data.load_csv): seconds, MB/s, peak RSS / float32 feature
  matrix (target <= 2) and the same ratio without the interpreter's baseline;
- pyarrow's plain `pyarrow.csv.read_csv` of the same file (float64 columns): seconds, MB/s, peak RSS;
- optionally `train` on the loaded data (hist, a few rounds): seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FEATURES = 10


def generate(path: Path, rows: int) -> None:
    """Random features (with 1% missing cells) and a target depending on them, written by pyarrow."""
    import numpy as np
    import pyarrow as pa
    from pyarrow import csv as pacsv

    rng = np.random.default_rng(7)
    chunk = 1_000_000
    names = [f"f{i}" for i in range(FEATURES)]
    with pacsv.CSVWriter(path, pa.schema([(n, pa.float64()) for n in [*names, "y"]])) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            x = rng.normal(size=(n, FEATURES)).round(6)
            y = (x[:, 0] * 3 + x[:, 1] ** 2 - x[:, 2] + rng.normal(scale=0.1, size=n)).round(6)
            columns = [pa.array(x[:, i], mask=rng.random(n) < 0.01) for i in range(FEATURES)]
            writer.write_table(pa.table([*columns, pa.array(y)], names=[*names, "y"]))


def peak_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over fork and exec, so a
    child would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, path: str, rounds: int) -> None:
    """One measurement, printed as JSON (runs in a fresh interpreter)."""
    import numpy  # noqa: F401  (the baseline includes what every path imports)
    import pyarrow.csv as pacsv

    baseline = peak_mb()
    start = time.perf_counter()
    out: dict[str, float] = {}
    if kind == "pyarrow":
        table = pacsv.read_csv(path)
        out["rows"] = table.num_rows
    else:
        from mlpipe.model.data import CsvOptions, load_csv

        dataset = load_csv(Path(path), "y", CsvOptions(columnar=True))
        out["rows"] = dataset.rows
        out["matrix_mb"] = dataset.features.nbytes / 2**20
        if kind == "train":
            from mlpipe.model.training import TrainSettings, train

            loaded = time.perf_counter()
            settings = TrainSettings(params={"tree_method": "hist", "max_depth": 6}, num_round=rounds)
            train(dataset, settings)
            out["train_s"] = time.perf_counter() - loaded
    out["seconds"] = time.perf_counter() - start
    out["baseline_mb"] = baseline
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))


def measure(kind: str, path: Path, rounds: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, __file__, "--child", kind, "--path", str(path), "--train-rounds", str(rounds)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--train-rounds", type=int, default=0, help="also train this many rounds (0: no)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.train_rounds)
        return
    folder = Path(tempfile.mkdtemp(prefix="mlpipe-bench-large-"))
    path = folder / "large.csv"
    started = time.perf_counter()
    generate(path, args.rows)
    size_mb = path.stat().st_size / 2**20
    print(f"generated {path} ({size_mb:,.0f} MB, {args.rows:,} rows x {FEATURES} features) in "
          f"{time.perf_counter() - started:.1f}s")  # fmt: skip
    try:
        ours = measure("mlpipe", path, 0)
        arrow = measure("pyarrow", path, 0)
        matrix = ours["matrix_mb"]
        print(f"mlpipe loader : {ours['seconds']:6.1f}s  {size_mb / ours['seconds']:6.1f} MB/s  peak RSS "
              f"{ours['peak_mb']:,.0f} MB = {ours['peak_mb'] / matrix:.2f}x the float32 matrix ({matrix:,.0f} MB); "
              f"without the interpreter's {ours['baseline_mb']:,.0f} MB: "
              f"{(ours['peak_mb'] - ours['baseline_mb']) / matrix:.2f}x (target <= 2)")  # fmt: skip
        print(f"pyarrow plain : {arrow['seconds']:6.1f}s  {size_mb / arrow['seconds']:6.1f} MB/s  peak RSS "
              f"{arrow['peak_mb']:,.0f} MB (float64 table)")  # fmt: skip
        print(f"speed ratio   : mlpipe loads at {arrow['seconds'] / ours['seconds']:.2f}x pyarrow's plain read")
        if args.train_rounds:
            trained = measure("train", path, args.train_rounds)
            print(f"train         : load + {args.train_rounds} rounds in {trained['seconds']:.1f}s "
                  f"(training {trained['train_s']:.1f}s), peak RSS {trained['peak_mb']:,.0f} MB = "
                  f"{trained['peak_mb'] / matrix:.2f}x the matrix")  # fmt: skip
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            folder.rmdir()


if __name__ == "__main__":
    main()
