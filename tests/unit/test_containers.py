"""The container-compatibility guard: the artifact loads right in the container mlpipe picks, and
any other xgboost version is refused with the command that fixes it.

The artifact is loaded by `mlpipe.model.serving`, the container's own loading logic (every root
file; pickle first, then `Booster.load_model`). What the guard prevents (an older container's
xgboost loading the file with wrong predictions) needs pip and the network: it is
tests/functional/test_container_guard.py.
"""

from __future__ import annotations

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
