"""What the container-compatibility guard prevents: the 3.0-5 container's xgboost (3.0.5), installed
aside with pip where it can be fetched (so not a unit test: it needs the network the first time,
then .pytest_cache or MLPIPE_TEST_WHEELS), loads a model this xgboost saved without complaint, and
predicts wrong. The guard itself is tested in tests/unit/test_containers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from conftest import BOSTON_CSV, REPO
from mlpipe.model.artifact import model_bytes, package
from mlpipe.model.containers import container_version
from mlpipe.model.data import load
from mlpipe.model.training import TrainSettings, train

OLD_XGBOOST = "3.0.5"  # what the 3.0-5 container runs


@pytest.fixture(scope="module")
def boston_model() -> tuple[object, bytes, np.ndarray]:
    ds = load(BOSTON_CSV, "0")
    model = train(ds, TrainSettings(num_round=80, early_stopping_rounds=10))
    return model.booster, package(model_bytes(model.booster)), ds.features


@pytest.fixture(scope="session")
def old_xgboost(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """xgboost 3.0.5 installed aside (not into the venv); skipped when pip cannot fetch it."""
    cache = Path(os.environ.get("MLPIPE_TEST_WHEELS", REPO / ".pytest_cache" / "xgboost-3.0.5"))
    if not (cache / "xgboost").is_dir():
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--only-binary=:all:", "--target", str(cache),
             f"xgboost-cpu=={OLD_XGBOOST}"],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot install xgboost-cpu {OLD_XGBOOST} aside: {done.stderr.strip()[-200:]}")
    return cache


def test_the_guard_prevents_a_silently_wrong_container(boston_model: tuple, old_xgboost: Path, tmp_path: Path) -> None:
    booster, archive, features = boston_model
    (tmp_path / "model.tar.gz").write_bytes(archive)
    rows = features[:5]
    (tmp_path / "rows.csv").write_text("\n".join(",".join(repr(float(v)) for v in row) for row in rows))
    script = (
        "import json, sys, xgboost\n"
        "from mlpipe.model import serving\n"
        "m = serving.load_artifact(open(sys.argv[1], 'rb').read())\n"
        "out = serving.predict_csv(m, open(sys.argv[2], 'rb').read()).decode().split()\n"
        "print(json.dumps({'version': xgboost.__version__, 'predictions': [float(v) for v in out]}))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(old_xgboost), str(REPO / "src")])}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model.tar.gz"), str(tmp_path / "rows.csv")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"] == OLD_XGBOOST
    expected = booster.predict(xgb.DMatrix(rows))
    # The older xgboost loads the file without complaint, but its predictions are far off...
    assert np.max(np.abs(np.array(result["predictions"]) - expected)) > 1.0
    # ...which is why a model saved by this xgboost is only ever paired with its own container.
    assert container_version(xgb.__version__) != container_version(OLD_XGBOOST)
