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
from mlpipe.cli.embedded import RecordedEmbeddedAws


def mlpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlpipe", *args], capture_output=True, text=True, timeout=120)


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
        found = resolve_target("local", None, None, None, env={}, embedded=RecordedEmbeddedAws())
        assert found.endpoint_url == f"http://127.0.0.1:{port}" and found.credentials is not None
    finally:
        stopped = mlpipe("local", "down")
    assert stopped.returncode == 0 and "Stopped" in stopped.stderr
    after = mlpipe("local", "status")
    assert after.returncode == 4 and "not running" in after.stderr and "mlpipe local up" in after.stderr


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


def _exports(text: str) -> dict[str, str]:
    """The variables of `mlpipe local env`'s `export NAME=value` lines."""
    import shlex

    pairs = [shlex.split(line[len("export ") :])[0] for line in text.splitlines() if line.startswith("export ")]
    return dict(pair.split("=", 1) for pair in pairs)


def test_local_env_points_the_aws_cli_and_plain_boto3_at_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import stat

    from local_helpers import deploy_stack

    from mlpipe.local.state import credentials_file, state_file

    aws = Path(sys.executable).parent / "aws"
    if not aws.exists():
        pytest.skip("the aws CLI (v1) is not installed in this environment")
    port, other = free_port(), free_port()
    try:
        started = mlpipe("local", "up", "--port", str(port))
        assert started.returncode == 0, started.stderr
        elsewhere = mlpipe("local", "up", "--port", str(other))  # one server at a time, said plainly
        assert elsewhere.returncode != 0 and f"not on port {other}" in elsewhere.stderr
        for path in (state_file(), credentials_file()):  # they hold the secret: the user's only
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

        printed = mlpipe("local", "env")
        assert printed.returncode == 0, printed.stderr
        variables = _exports(printed.stdout)
        assert variables["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        assert variables["AWS_DEFAULT_REGION"] == "us-east-1"
        for name, value in variables.items():  # what `eval "$(mlpipe local env)"` does to a shell
            monkeypatch.setenv(name, value)
        endpoint_url = variables["AWS_ENDPOINT_URL"]
        stack = deploy_stack(endpoint_url, app="clienv")  # plain boto3: keys and endpoint from the environment

        # aws CLI v1 honours AWS_ENDPOINT_URL except for sqs (aws/aws-cli#8737): `local env` says so.
        assert "aws/aws-cli#8737" in printed.stdout
        script = (
            f'eval "$({sys.executable} -m mlpipe local env)" && '
            f"{aws} lambda list-functions --output json && "
            f'{aws} --endpoint-url "$AWS_ENDPOINT_URL" sqs list-queues --output json && '
            f'{aws} --endpoint-url "$AWS_ENDPOINT_URL" sqs send-message --queue-url {stack.trigger_url} '
            f"--message-body '{json.dumps({'payload': TUTORIAL_PAYLOAD})}' --output json"
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        clean["AWS_ACCESS_KEY_ID"] = "AKIAREALAWSKEY000000"  # a user's real AWS keys: `local env` replaces them
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=clean, timeout=120)
        assert done.returncode == 0, done.stderr
        assert stack.function in done.stdout and stack.trigger_url in done.stdout and '"MessageId"' in done.stdout
        [prediction] = wait_for(lambda: json_events(log_lines(endpoint_url, stack.log_group), "prediction"), 60, "it")
        assert len(prediction["predictions"]) == 1

        mlpipe("local", "down")
        restarted = mlpipe("local", "up", "--port", str(port))
        assert restarted.returncode == 0, restarted.stderr
        assert _exports(mlpipe("local", "env").stdout) == variables  # same keys after a restart
    finally:
        mlpipe("local", "down")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--port", "99999"], "--port 99999 is not a TCP port"),
        (["--port", "-1"], "--port -1 is not a TCP port"),
        (["--host", "0.0.0.0"], "--expose-on-network"),
    ],
)
def test_local_up_refuses_a_bad_listen_address_in_one_line(argv: list[str], fragment: str) -> None:
    done = mlpipe("local", "up", *argv)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert fragment in done.stderr, done.stderr
    assert "is not a TCP port" in error or "beyond this machine" in error
