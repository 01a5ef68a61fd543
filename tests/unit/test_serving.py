"""mlpipe.model.serving loads and answers like the SageMaker XGBoost container."""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost

from mlpipe.model.serving import ServingError, load_artifact, load_model_dir, predict, predict_csv


def booster(seed: int, features: int = 4) -> xgboost.Booster:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, size=(80, features)).astype(np.float32)
    y = x[:, 0] * 2 + x[:, 1] + rng.normal(0, 0.1, 80)
    return xgboost.train({"max_depth": 2, "nthread": 1}, xgboost.DMatrix(x, label=y), num_boost_round=5 + seed)


def archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


ROWS = np.array([[1.0, 2.0, 3.0, 4.0], [5.5, 0.25, 7.0, 1.0]], dtype=np.float32)
CSV = b"1.0,2.0,3.0,4.0\n5.5,0.25,7.0,1.0\n"


def test_native_model_file_predicts_one_line_per_row() -> None:
    model = booster(1)
    loaded = load_artifact(archive({"xgboost-model": bytes(model.save_raw(raw_format="ubj"))}))

    lines = predict_csv(loaded, CSV).decode().splitlines()

    assert [float(v) for v in lines] == pytest.approx(model.predict(xgboost.DMatrix(ROWS)).tolist(), abs=1e-6)
    assert loaded.num_features == 4 and loaded.files == ("xgboost-model",)


def test_pickled_booster_loads_first_and_several_files_make_an_ensemble() -> None:
    first, second = booster(1), booster(2)
    loaded = load_artifact(
        archive({"a-model": pickle.dumps(first), "b-model": bytes(second.save_raw(raw_format="json"))})
    )

    lines = predict_csv(loaded, CSV).decode().splitlines()

    expected = (first.predict(xgboost.DMatrix(ROWS)) + second.predict(xgboost.DMatrix(ROWS))) / 2
    assert [float(v) for v in lines] == pytest.approx(expected.tolist(), abs=1e-5)
    assert len(loaded.boosters) == 2


def test_json_input_is_refused_with_415_and_wrong_width_with_400() -> None:
    loaded = load_artifact(archive({"xgboost-model": bytes(booster(1).save_raw(raw_format="ubj"))}))

    with pytest.raises(ServingError) as json_input:
        predict(loaded, b"[[1,2,3,4]]", "application/json", "text/csv")
    assert json_input.value.status == 415
    with pytest.raises(ServingError, match="expected: 4, got 3") as wrong_width:
        predict_csv(loaded, b"1,2,3\n")
    assert wrong_width.value.status == 400
    with pytest.raises(ServingError, match="line 2 is not numeric") as text:
        predict_csv(loaded, b"1,2,3,4\na,b,c,d\n")
    assert text.value.status == 400


def test_libsvm_input_and_json_output() -> None:
    model = booster(3)
    loaded = load_artifact(archive({"xgboost-model": bytes(model.save_raw(raw_format="ubj"))}))

    body, content_type = predict(loaded, b"0 0:1.0 1:2.0 2:3.0 3:4.0\n", "text/libsvm", "application/json")

    assert content_type == "application/json"
    score = float(model.predict(xgboost.DMatrix(ROWS[:1]))[0])
    assert json.loads(body)["predictions"][0]["score"] == pytest.approx(score, abs=1e-6)


def test_broken_artifacts_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ServingError, match=r"not a valid \.tar\.gz"):
        load_artifact(b"definitely not gzip")
    with pytest.raises(ServingError, match="cannot load model file junk"):
        load_artifact(archive({"junk": b"\x00\x01 not a model"}))
    with pytest.raises(ServingError, match="no model file"):
        load_model_dir(tmp_path)
