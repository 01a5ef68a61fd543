"""The embedded AWS from the command line: `mlpipe local up/status/down`, and the whole tutorial
(train -> deploy -> send) through the CLI with the prediction checked in the function's log group."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from local_helpers import TUTORIAL_PAYLOAD, client, json_events, log_lines, wait_for

from conftest import BOSTON_CSV, free_port
from mlpipe.aws.clients import resolve_target
from mlpipe.cli.app import run


def mlpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlpipe", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_local_up_status_down() -> None:
    port = str(free_port())
    try:
        started = mlpipe("local", "up", "--port", port)
        assert started.returncode == 0, started.stderr
        assert f"running at http://127.0.0.1:{port}" in started.stderr

        again = mlpipe("local", "up", "--port", port)
        assert again.returncode == 0 and "Already running" in again.stderr

        status = mlpipe("--output", "json", "local", "status")
        data = json.loads(status.stdout)
        assert data["server"]["endpoint_url"] == f"http://127.0.0.1:{port}"
        assert data["mappings"] == [] and data["processed"] == 0

        logs = mlpipe("local", "logs", "-n", "20")
        assert logs.returncode == 0 and f"listening on http://127.0.0.1:{port}" in logs.stdout

        # Commands with --local find it through the recorded state.
        assert resolve_target("local", None, None, None, env={}).endpoint_url == f"http://127.0.0.1:{port}"
    finally:
        stopped = mlpipe("local", "down")
    assert stopped.returncode == 0 and "Stopped" in stopped.stderr
    after = mlpipe("local", "status")
    assert after.returncode == 4 and "not running" in after.stderr and "mlpipe local up" in after.stderr


@pytest.mark.slow
def test_tutorial_through_the_cli(
    endpoint_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np
    import xgboost

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: house\nmodel:\n  num_round: 40\n")
    local = ["--endpoint-url", endpoint_url]
    assert run([*local, "train", "--data", str(BOSTON_CSV), "--target", "0"]) == 0
    assert run([*local, "deploy"]) == 0
    capsys.readouterr()

    assert run([*local, "send", "--payload", TUTORIAL_PAYLOAD, "--wait"]) == 0
    captured = capsys.readouterr()
    assert "result:" in captured.out + captured.err
    assert run([*local, "send", "--payload", "1,2,3", "--no-validate", "--wait"]) != 0

    [prediction] = wait_for(
        lambda: json_events(log_lines(endpoint_url, "/aws/lambda/house-dev-predict"), "prediction"), 30, "prediction"
    )
    # The model in process: the artifact the endpoint serves, loaded by xgboost itself.
    s3 = client(endpoint_url, "s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("house-dev-models"))
    current = json.loads(s3.get_object(Bucket=bucket, Key="models/current.json")["Body"].read())
    key = current["artifact_uri"].split("/", 3)[3]
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        [member] = tar.getmembers()
        raw = tar.extractfile(member).read()  # type: ignore[union-attr]
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    row = np.asarray([[float(v) for v in TUTORIAL_PAYLOAD.split(",")]], dtype=np.float32)
    expected = float(booster.predict(xgboost.DMatrix(row))[0])
    assert math.isclose(prediction["predictions"][0], expected, abs_tol=1e-5)

    sqs = client(endpoint_url, "sqs")
    dlq = sqs.get_queue_url(QueueName="house-dev-dlq")["QueueUrl"]
    [dead] = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert dead["MessageAttributes"]["mlpipe-reason"]["StringValue"] == "row 1 has 3 value(s), expected 13 features"
