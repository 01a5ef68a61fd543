"""A data scientist's data end to end on the embedded AWS: train, deploy, send, predictions back
through the queue, the Lambda handler and the XGBoost endpoint.

- a row with a missing value gets the model's own prediction with NaN in that feature;
- a named-feature JSON with shuffled keys, and a file whose columns are in another order, get the
  same prediction as the positional row;
- scikit-learn's breast cancer (binary), wine and iris (multiclass, class names) predict labels with
  their probabilities.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import UsageError
from mlpipe.model.artifact import MODEL_FILE, root_files
from mlpipe.ops.deploy import deploy
from mlpipe.ops.send import SendInput, send
from mlpipe.ops.train import TrainRequest, TrainResult, train
from mlpipe.reporter import ListReporter


def write_csv(path: Path, names: list[str], features: Any, target: list[Any], target_name: str) -> Path:
    lines = [",".join([*names, target_name])]
    lines += [",".join([*(repr(float(v)) for v in row), str(t)]) for row, t in zip(features, target, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def served_booster(clients: Clients, result: TrainResult) -> xgb.Booster:
    bucket, key = result.artifact_uri.removeprefix("s3://").split("/", 1)
    archive = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    booster = xgb.Booster()
    booster.load_model(bytearray(root_files(archive)[MODEL_FILE]))
    return booster


def outcome_of(config: Config, clients: Clients, request: SendInput) -> Any:
    sent = send(config, clients, ListReporter(), request, wait=True, timeout_s=60)
    [outcome] = sent.outcomes
    assert outcome.status == "prediction", outcome
    return outcome


def setup(clients: Clients, tmp_path: Path, app: str, dataset: str, objective: str, names_as_words: bool) -> Any:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{dataset}")()
    names = [n.replace(" ", "_") for n in bunch.feature_names]
    target = [bunch.target_names[t] for t in bunch.target] if names_as_words else list(bunch.target)
    data = write_csv(tmp_path / f"{dataset}.csv", names, bunch.data, target, "kind")
    config = Config.model_validate({"app": app, "model": {"num_round": 30}})
    result = train(config, clients, ListReporter(), TrainRequest(data=str(data), objective=objective))
    deploy(config, clients, ListReporter())
    return config, result, bunch, names


def test_missing_values_named_features_and_column_order(clients: Clients, tmp_path: Path) -> None:
    config, result, bunch, names = setup(clients, tmp_path, "cancer", "breast_cancer", "binary:logistic", True)
    booster = served_booster(clients, result)
    row = bunch.data[7]
    holed = row.astype(np.float32).copy()
    holed[3] = np.nan
    own = float(booster.predict(xgb.DMatrix(holed.reshape(1, -1)))[0])
    payload = ",".join("NA" if i == 3 else repr(float(v)) for i, v in enumerate(row))

    missing = outcome_of(config, clients, SendInput(payload=payload))
    assert missing.predictions[0] == pytest.approx(own, abs=1e-6)
    [cls] = missing.classes
    assert cls["label"] == result.labels[1 if own >= 0.5 else 0]
    assert cls["probability"] == pytest.approx(max(own, 1 - own), abs=1e-6)

    positional = outcome_of(config, clients, SendInput(payload=",".join(repr(float(v)) for v in row)))
    shuffled = dict(reversed(list(zip(names, map(float, row), strict=True))))
    named = outcome_of(config, clients, SendInput(json_body=json.dumps({"features": shuffled}), source="--json"))
    assert named.predictions == positional.predictions

    order = list(reversed(range(len(names))))
    text = ",".join(names[i] for i in order) + "\n" + ",".join(repr(float(row[i])) for i in order) + "\n"
    from_file = outcome_of(config, clients, SendInput(text=text, source="shuffled.csv"))
    assert from_file.predictions == positional.predictions

    with pytest.raises(UsageError, match="unknown feature name 'colour'"):
        send(config, clients, ListReporter(), SendInput(json_body=json.dumps({"features": {**shuffled, "colour": 1}})))


@pytest.mark.parametrize(("dataset", "words"), [("wine", False), ("iris", True)])
def test_multiclass_predicts_labels_with_probabilities(
    clients: Clients, tmp_path: Path, dataset: str, words: bool
) -> None:
    config, result, bunch, _ = setup(clients, tmp_path, dataset, dataset, "multi:softprob", words)
    assert result.labels == ([str(n) for n in bunch.target_names] if words else ["0", "1", "2"])
    assert result.metrics["accuracy"] > 0.8 and len(result.confusion) == 3
    booster = served_booster(clients, result)
    rows = bunch.data[[0, 60, 120]] if dataset == "iris" else bunch.data[[0, 70, 150]]
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n"
    sent = send(config, clients, ListReporter(), SendInput(text=text, source="rows.csv", rows_per_message=3), True, 60)
    [outcome] = sent.outcomes
    assert outcome.status == "prediction", outcome
    own = booster.predict(xgb.DMatrix(rows.astype(np.float32)))
    for probabilities, cls, expected in zip(outcome.predictions, outcome.classes, own, strict=True):
        assert probabilities == pytest.approx(expected.tolist(), abs=1e-6)
        assert cls["label"] == result.labels[int(np.argmax(expected))]
        assert math.isclose(cls["probability"], float(expected.max()), abs_tol=1e-6)


def test_train_without_data_does_not_replace_a_model_trained_on_other_data(clients: Clients, tmp_path: Path) -> None:
    from conftest import BOSTON_CSV

    config = Config.model_validate({"app": "house", "model": {"num_round": 5}})
    train(config, clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0"))
    with pytest.raises(UsageError, match=rf"would train on bundled:diabetes, but house-dev serves .*{BOSTON_CSV.name}"):
        train(config, clients, ListReporter(), TrainRequest(dry_run=True))
    planned = train(config, clients, ListReporter(), TrainRequest(data="bundled:diabetes", dry_run=True))
    assert planned.data_source == "bundled:diabetes" and planned.plan is not None
