"""The container-compatibility guard: the artifact loads right in the container mlpipe picks, and
any other xgboost version is refused with the command that fixes it.

The artifact is loaded by `mlpipe.model.serving`, the container's own loading logic (every root
file; pickle first, then `Booster.load_model`). Where pip can fetch it, the 3.0-5 container's
xgboost (3.0.5) is installed aside to show what the guard prevents: it loads the same file with
wrong predictions.
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
from mlpipe.errors import ModelError
from mlpipe.model import serving
from mlpipe.model.artifact import MODEL_FILE, model_bytes, package, root_files
from mlpipe.model.containers import (
    FIX_COMMAND,
    container_version,
    image_uri,
    installed_xgboost_version,
)
from mlpipe.model.data import load
from mlpipe.model.training import TrainSettings, train


@pytest.fixture(scope="module")
def boston_model() -> tuple[object, bytes, np.ndarray]:
    ds = load(BOSTON_CSV, "0")
    model = train(ds, TrainSettings(num_round=80, early_stopping_rounds=10))
    return model.booster, package(model_bytes(model.booster)), ds.features


def test_installed_xgboost_maps_to_its_container() -> None:
    installed = installed_xgboost_version()
    assert installed == xgb.__version__
    assert container_version() == {"1.7": "1.7-1", "3.0": "3.0-5", "3.2": "3.2-0"}[".".join(installed.split(".")[:2])]
    assert container_version("1.7.6") == "1.7-1"
    assert container_version("3.0.5") == "3.0-5"
    assert container_version("3.2.0") == "3.2-0"


@pytest.mark.parametrize("version", ["3.1.2", "2.1.4", "3.3.0", "1.6.2"])
def test_versions_without_a_correct_container_are_refused_with_the_fix(version: str) -> None:
    with pytest.raises(ModelError, match=f"xgboost {version} is installed, but no SageMaker XGBoost container") as err:
        container_version(version)
    assert err.value.hint is not None and FIX_COMMAND in err.value.hint
    assert "pip install 'xgboost-cpu>=3.2,<3.3'" in err.value.hint


def test_image_uri_per_region() -> None:
    assert image_uri("us-east-1", "3.2-0") == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"
    assert image_uri("eu-west-1", "3.0-5") == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5"


def test_unknown_region_without_the_sdk_says_what_to_install() -> None:
    try:
        import sagemaker.core  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the sagemaker SDK is installed: the fallback would answer")
    with pytest.raises(ModelError, match="no XGBoost image table entry for region me-central-1") as err:
        image_uri("me-central-1", "3.2-0")
    assert err.value.hint is not None and "'sagemaker>=3.15.1'" in err.value.hint


def test_artifact_holds_only_the_model_file_and_is_reproducible(boston_model: tuple) -> None:
    booster, archive, _ = boston_model
    assert list(root_files(archive)) == [MODEL_FILE]
    assert package(model_bytes(booster)) == archive  # byte-for-byte: same model, same archive


def test_container_loader_predicts_like_the_model_in_process(boston_model: tuple) -> None:
    booster, archive, features = boston_model
    loaded = serving.load_artifact(archive)
    assert loaded.files == (MODEL_FILE,) and loaded.num_features == features.shape[1]
    rows = features[:25]
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()
    served = np.array([float(line) for line in serving.predict_csv(loaded, body).decode().split()])
    expected = booster.predict(xgb.DMatrix(rows))
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)


OLD_XGBOOST = "3.0.5"  # what the 3.0-5 container runs


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


@pytest.mark.slow
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


def test_both_xgboost_builds_installed_is_refused_with_which_to_remove() -> None:
    versions = {"xgboost-cpu": "3.2.0", "xgboost": "3.1.2"}
    with pytest.raises(ModelError, match=r"both xgboost-cpu 3\.2\.0 and xgboost 3\.1\.2 are installed") as err:
        installed_xgboost_version(versions.get)
    assert err.value.hint == (
        "remove both, then install the one mlpipe pins: pip uninstall -y xgboost xgboost-cpu && "
        "pip install 'xgboost-cpu>=3.2,<3.3'"
    )
    assert installed_xgboost_version({"xgboost": "3.2.1"}.get) == "3.2.1"


def test_the_sagemaker_extra_pins_the_sdk_that_knows_the_3_2_image() -> None:
    import tomllib

    from conftest import REPO
    from mlpipe.model.containers import require_sdk

    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["sagemaker"]
    assert sorted(extra) == ["sagemaker-core>=2.15.1", "sagemaker>=3.15.1"]
    with pytest.raises(ModelError, match=r"sagemaker 3\.2\.0 is installed; .* needs sagemaker >= 3\.15\.1") as err:
        require_sdk({"sagemaker": "3.2.0", "sagemaker-core": "2.15.1"}.get)
    assert err.value.hint is not None and "'sagemaker>=3.15.1' 'sagemaker-core>=2.15.1'" in err.value.hint
    with pytest.raises(ModelError, match=r"sagemaker-core 2\.3\.1rc1 is installed"):
        require_sdk({"sagemaker": "3.15.1", "sagemaker-core": "2.3.1rc1"}.get)
    require_sdk({"sagemaker": "3.15.1", "sagemaker-core": "2.16.0"}.get)
    require_sdk({}.get)  # not installed: the import error says what to install
