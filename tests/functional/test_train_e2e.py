"""The mission's path end to end on the embedded AWS: `train` on the tutorial's CSV, `deploy`, then a
row sent through the trigger queue and the Lambda gets the model's own prediction; training again
updates the endpoint in place while messages keep flowing."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import xgboost as xgb
from local_helpers import wait_for

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.model.artifact import MODEL_FILE, root_files
from mlpipe.ops.deploy import deploy
from mlpipe.ops.send import SendInput, send
from mlpipe.ops.train import TrainRequest, TrainResult, train
from mlpipe.reporter import ListReporter

CONFIG = Config.model_validate({"app": "house"})
BOSTON = TrainRequest(data=str(BOSTON_CSV), target="0")


def tutorial_rows(count: int) -> list[str]:
    """Feature values of the CSV's first rows, as the tutorial sends them (no index, no target)."""
    lines = BOSTON_CSV.read_text().splitlines()[1 : count + 1]
    return [",".join(line.split(",")[2:]) for line in lines]


def predict_with_artifact(clients: Clients, result: TrainResult, row: str) -> float:
    """The uploaded artifact's model, loaded and run here with xgboost."""
    bucket, key = result.artifact_uri.removeprefix("s3://").split("/", 1)
    archive = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    booster = xgb.Booster()
    booster.load_model(bytearray(root_files(archive)[MODEL_FILE]))
    return float(booster.predict(xgb.DMatrix([[float(v) for v in row.split(",")]]))[0])


def send_and_wait(clients: Clients, row: str) -> list[float]:
    sent = send(CONFIG, clients, ListReporter(), SendInput(payload=row), wait=True, timeout_s=30)
    outcome = sent.outcomes[0]
    assert outcome.status == "prediction", outcome
    return [float(p) for p in outcome.predictions]


def test_a_row_through_the_lambda_gets_the_trained_models_prediction(clients: Clients) -> None:
    result = train(CONFIG, clients, ListReporter(), BOSTON)
    deployed = deploy(CONFIG, clients, ListReporter())
    assert deployed.feature_count == 13  # deploy read it from models/current.json
    for row in tutorial_rows(3):
        (served,) = send_and_wait(clients, row)
        assert served == pytest.approx(predict_with_artifact(clients, result, row), abs=1e-5)


def prediction_lines(clients: Clients, log_group: str) -> list[dict[str, Any]]:
    logs = clients.client("logs")
    events = [
        e for page in logs.get_paginator("filter_log_events").paginate(logGroupName=log_group) for e in page["events"]
    ]
    records = []
    for event in events:
        try:
            record = json.loads(event["message"])
        except ValueError:
            continue  # START/END/REPORT lines
        if isinstance(record, dict) and record.get("event") == "prediction":
            records.append(record)
    return records


def test_training_again_updates_in_place_while_the_lambda_keeps_answering(clients: Clients) -> None:
    first = train(CONFIG, clients, ListReporter(), BOSTON)
    deploy(CONFIG, clients, ListReporter())
    names = clients.names("house", "dev")
    sqs, sm = clients.client("sqs"), clients.client("sagemaker")
    trigger = sqs.get_queue_url(QueueName=names.trigger_queue)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=names.dlq)["QueueUrl"]
    row = tutorial_rows(1)[0]
    statuses: list[str] = []  # the endpoint's status when each message was sent
    stop = threading.Event()

    def keep_sending() -> None:
        while not stop.is_set():
            statuses.append(sm.describe_endpoint(EndpointName=names.endpoint)["EndpointStatus"])
            sqs.send_message(QueueUrl=trigger, MessageBody=json.dumps({"payload": row, "id": f"m{len(statuses)}"}))
            stop.wait(0.05)  # paces the traffic (about 20 messages a second); ends as soon as training did

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        second = train(CONFIG, clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0", seed=11))
    finally:
        stop.set()
        sender.join(timeout=30)
    assert second.action == "updated" and second.endpoint == first.endpoint == "house-dev"
    assert "Updating" in statuses  # messages really were sent while the endpoint was being updated

    wait_for(lambda: len(prediction_lines(clients, names.log_group)) >= len(statuses), 60, "every prediction")
    lines = prediction_lines(clients, names.log_group)
    assert sorted(r["correlation_id"] for r in lines) == sorted(f"m{i}" for i in range(1, len(statuses) + 1))
    # Each answer came from the old or the new model, never an error; afterwards only the new one.
    expected = {round(predict_with_artifact(clients, r, row), 4) for r in (first, second)}
    assert {round(float(r["predictions"][0]), 4) for r in lines} <= expected
    (after,) = send_and_wait(clients, row)
    assert after == pytest.approx(predict_with_artifact(clients, second, row), abs=1e-5)
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
