"""Benchmark: local `mlpipe train` on boston_train.csv end to end (load -> train -> model.tar.gz ->
bucket/role/model/endpoint config -> endpoint InService on the embedded AWS), against plain
in-process xgboost training of the same data with the same settings, in the same run.

    .venv/bin/python bench/bench_train.py [--runs 3]

Prints the median wall time of each and their ratio; the target is <= 5 s for mlpipe train. Also
runs the `mlpipe train` command once as a separate process (interpreter start and imports included).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boston_train.csv"
TARGET_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def plain_xgboost(features: object, labels: object, settings: object) -> float:
    """What a data scientist runs in a notebook: the same split, params, rounds and early stopping."""
    import xgboost as xgb

    from mlpipe.model.training import eval_metric, holdout_split, threads_for

    start = time.perf_counter()
    train_idx, valid_idx = holdout_split(len(labels), settings.test_size, settings.seed)  # type: ignore[arg-type, attr-defined]
    dtrain = xgb.DMatrix(features[train_idx], label=labels[train_idx])  # type: ignore[index]
    dvalid = xgb.DMatrix(features[valid_idx], label=labels[valid_idx])  # type: ignore[index]
    params = {**settings.params, "objective": settings.objective, "seed": settings.seed}  # type: ignore[attr-defined]
    params.update(eval_metric=eval_metric(settings.objective), nthread=threads_for(features.size))  # type: ignore[attr-defined]
    xgb.train(
        params,
        dtrain,
        num_boost_round=settings.num_round,  # type: ignore[attr-defined]
        evals=[(dvalid, "validation")],
        early_stopping_rounds=settings.early_stopping_rounds,  # type: ignore[attr-defined]
        verbose_eval=False,
    )
    return time.perf_counter() - start


class PhaseClock:
    """A reporter that notes when training ends, to split a run into training and AWS time."""

    def __init__(self) -> None:
        self.trained_at = 0.0

    def step(self, message: str) -> None:
        pass

    def done(self, message: str) -> None:
        if message.startswith("trained "):
            self.trained_at = time.perf_counter()

    def warn(self, message: str) -> None:
        pass

    def progress(self, label: str, completed: int, total: int | None) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import xgboost  # noqa: F401  (imported once for both sides; its import cost is reported apart)

    from mlpipe.aws.clients import Clients, Credentials, Target
    from mlpipe.config import Config
    from mlpipe.local.server import EmbeddedServer
    from mlpipe.model.data import load
    from mlpipe.model.training import settings_from
    from mlpipe.ops.train import TrainRequest, train

    config = Config.model_validate({"app": "bench"})
    m = config.model
    settings = settings_from(m.objective, m.params, {}, m.num_round, m.early_stopping_rounds, m.test_size, m.seed)
    dataset = load(DATA, "0")

    server = EmbeddedServer(port=free_port())
    server.start()
    try:
        keys = Credentials(server.operator.access_key_id, server.operator.secret_access_key)
        os.environ["AWS_ACCESS_KEY_ID"] = keys.access_key_id  # for the `mlpipe train` process of run_cli
        os.environ["AWS_SECRET_ACCESS_KEY"] = keys.secret_access_key
        clients = Clients(Target("local", region="us-east-1", endpoint_url=server.endpoint_url, credentials=keys))
        clients.client("sts").get_caller_identity()  # connection set-up, not part of either side
        baseline = [plain_xgboost(dataset.features, dataset.target, settings) for _ in range(args.runs)]
        runs, until_trained = [], []
        for _ in range(args.runs):
            phases = PhaseClock()
            start = time.perf_counter()
            result = train(config, clients, phases, TrainRequest(data=str(DATA), target="0"))
            runs.append(time.perf_counter() - start)
            until_trained.append(phases.trained_at - start)
            assert result.endpoint_status == "InService", result.endpoint_status
        cli = run_cli(server.endpoint_url)
    finally:
        server.stop()

    base, ours = statistics.median(baseline), statistics.median(runs)
    print(f"data: {DATA.name}, {dataset.rows} rows x {len(dataset.feature_names)} features, {args.runs} runs each")
    print(f"plain xgboost training (baseline):          median {base:.3f} s  {[round(b, 3) for b in baseline]}")
    print(f"mlpipe train to endpoint InService:        median {ours:.3f} s  {[round(r, 3) for r in runs]}")
    print(f"ratio mlpipe train / plain xgboost:        {ours / base:.1f}x")
    trained = statistics.median(until_trained)
    print(f"  of which checks + AWS reads + training:  median {trained:.3f} s")
    print(f"  of which artifact, AWS writes, InService: median {ours - trained:.3f} s")
    cli_wall, cli_cpu = cli
    print(f"`mlpipe train` as a new process (imports): {cli_wall:.3f} s wall, {cli_cpu:.3f} s CPU of its own")
    print(f"machine load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"target <= {TARGET_S:.0f} s wall: in-process {'OK' if ours <= TARGET_S else 'OVER'}, "
          f"new process {'OK' if cli_wall <= TARGET_S else 'OVER'}")  # fmt: skip


def run_cli(endpoint_url: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process): on a busy machine the CPU time shows what the
    command itself costs, the wall time what the user waited."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "mlpipe.yaml").write_text("app: bench\nstage: cli\n")
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint_url, "NO_COLOR": "1"}
        command = [sys.executable, "-m", "mlpipe", "train", "--data", str(DATA), "--target", "0"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"mlpipe train failed ({done.returncode}): {done.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return elapsed, cpu


if __name__ == "__main__":
    main()
