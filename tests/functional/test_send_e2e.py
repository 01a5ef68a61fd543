"""`mlpipe send --wait` end to end on the embedded AWS: deploy (ops.deploy), then a row in, its
prediction out through the mapping runner, the handler and the XGBoost endpoint."""

from __future__ import annotations

import math

from local_helpers import FEATURES, TUTORIAL_PAYLOAD, create_endpoint, predict_in_process

from mlpipe.cli.app import run
from mlpipe.config import Config
from mlpipe.ops import model_store
from mlpipe.ops.deploy import deploy
from mlpipe.ops.send import SendInput, send
from mlpipe.ops.tail import tail_dlq
from mlpipe.reporter import ListReporter


def test_send_wait_returns_the_prediction_and_the_poison_reason(  # type: ignore[no-untyped-def]
    clients, endpoint_url, tmp_path, monkeypatch, capsys
) -> None:
    config = Config.model_validate(
        {"app": "e2e", "target": "local", "function": {"timeout_s": 5}, "queue": {"visibility_timeout_s": 30}}
    )
    names = clients.names(config.app, config.stage)
    booster = create_endpoint(endpoint_url, names.endpoint)
    clients.client("s3").create_bucket(Bucket=names.model_bucket)
    model_store.write_current(clients, names, {"version": "v1", "feature_count": FEATURES})
    deploy(config, clients, ListReporter())

    result = send(config, clients, ListReporter(), SendInput(payload=TUTORIAL_PAYLOAD), wait=True, timeout_s=30)
    [outcome] = result.outcomes
    assert outcome.status == "prediction", outcome
    assert math.isclose(outcome.predictions[0], predict_in_process(booster, TUTORIAL_PAYLOAD), abs_tol=1e-5)
    assert outcome.message_id == result.message_ids[outcome.correlation_id]

    # The same through the CLI: the prediction is printed.
    (tmp_path / "mlpipe.yaml").write_text("app: e2e\ntarget: local\n")
    monkeypatch.chdir(tmp_path)
    code = run(["--endpoint-url", endpoint_url, "send", "--payload", TUTORIAL_PAYLOAD, "--wait", "--timeout", "30"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"result: {outcome.predictions[0]:.6g}  (") and out.rstrip().endswith(" ms)")

    # A row the handler rejects ends in the DLQ with its reason (--no-validate lets it past mlpipe).
    bad = send(config, clients, ListReporter(), SendInput(payload="1,2,3", validate=False), wait=True, timeout_s=30)
    [poison] = bad.outcomes
    assert poison.status == "poison" and f"expected {FEATURES} features" in (poison.reason or "")
    [dead] = tail_dlq(config, clients, ListReporter()).messages
    assert dead.correlation_id == poison.correlation_id and dead.reason == poison.reason
