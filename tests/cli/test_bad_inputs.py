"""Bad inputs: each gives a one-line error (plus an optional hint), a non-zero exit code, no
traceback, and creates nothing on the embedded AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlpipe.aws.clients import Clients, Target
from mlpipe.cli.app import run

GOOD = "app: shop\n"


@dataclass(frozen=True)
class Case:
    id: str
    yaml: str | None  # mlpipe.yaml contents; None: no file
    expect: str  # a fragment of the error line
    argv: tuple[str, ...] = ("deploy",)
    env: dict[str, str] = field(default_factory=dict)
    code: int = 3  # ConfigError unless said otherwise


CONFIG_CASES = [
    Case("malformed-yaml", "app: [shop\n", "malformed YAML"),
    Case("tab-indent", "app: shop\nqueue:\n\tsse: true\n", "malformed YAML"),
    Case("not-a-mapping", "- app\n- shop\n", "expected a mapping"),
    Case("unknown-top-key", GOOD + "colour: blue\n", "colour: unknown key"),
    Case("unknown-nested-key", GOOD + "queue:\n  visiblity_timeout_s: 60\n", "queue.visiblity_timeout_s: unknown key"),
    Case("missing-app", "stage: dev\n", "app: required key is missing"),
    Case("uppercase-app", "app: Shop\n", "app: 'Shop' does not match"),
    Case("app-too-long", "app: " + "a" * 25 + "\n", "app"),
    Case("stage-with-dash", GOOD + "stage: my-stage\n", "stage: 'my-stage' does not match"),
    Case("batch-size-zero", GOOD + "function:\n  batch_size: 0\n", "function.batch_size: 0 is out of range"),
    Case("batch-size-huge", GOOD + "function:\n  batch_size: 20000\n", "must be <= 10000"),
    Case("big-batch-no-window", GOOD + "function:\n  batch_size: 20\n", "needs batching_window_s >= 1"),
    Case("timeout-too-long", GOOD + "function:\n  timeout_s: 901\n", "function.timeout_s: 901 is out of range"),
    Case("memory-too-small", GOOD + "function:\n  memory_mb: 100\n", "function.memory_mb: 100 is out of range"),
    Case("log-retention-not-allowed", GOOD + "function:\n  log_retention_days: 31\n", "log_retention_days: 31 is not"),
    Case("old-runtime", GOOD + "function:\n  runtime: python3.9\n", "runtime: 'python3.9' is not allowed"),
    Case("timeout-not-a-number", GOOD + "function:\n  timeout_s: soon\n", "function.timeout_s"),
    Case("retention-too-short", GOOD + "queue:\n  retention_s: 30\n", "queue.retention_s: 30 is out of range"),
    Case(
        "visibility-below-timeout",
        GOOD + "queue:\n  visibility_timeout_s: 10\nfunction:\n  timeout_s: 60\n",
        "visibility_timeout_s (10) must be >= function.timeout_s (60)",
    ),
    Case(
        "dlq-retention-not-longer", GOOD + "queue:\n  retention_s: 86400\n  dlq_retention_s: 86400\n", "dlq_retention_s"
    ),
    Case("max-receive-zero", GOOD + "queue:\n  max_receive_count: 0\n", "max_receive_count: 0 is out of range"),
    Case("alarm-threshold-zero", GOOD + "alarm:\n  dlq_threshold: 0\n", "alarm.dlq_threshold: 0 is out of range"),
    Case("serverless-memory", GOOD + "endpoint:\n  memory_mb: 1000\n", "endpoint.memory_mb: 1000 is not allowed"),
    Case("bad-region", GOOD + "region: moon\n", "region: 'moon' does not match"),
    Case("env-override-out-of-range", GOOD, "env MLPIPE_FUNCTION__TIMEOUT_S", env={"MLPIPE_FUNCTION__TIMEOUT_S": "0"}),
    Case("bad-stage-option", GOOD, "option --stage", argv=("--stage", "Prod", "deploy")),
    Case("no-config-file", None, "mlpipe.yaml: no such file"),
    Case("bad-output-option", GOOD, "--output", argv=("--output", "xml", "deploy"), code=2),
    Case("init-bad-app", None, "--app 'Bad_App' is not a valid app name", argv=("init", "--app", "Bad_App"), code=2),
    Case("init-existing-file", GOOD, "will not overwrite", argv=("init",), code=2),
    Case("destroy-without-yes", GOOD, "needs confirmation", argv=("destroy",), code=2),
]


@pytest.fixture(scope="module")
def clients(aws_server: str) -> Clients:
    """One set of clients for the module (creating boto3 clients costs more than most cases here);
    the per-test `endpoint_url` fixture still resets the server's state."""
    return Clients(Target("local", region="us-east-1", endpoint_url=aws_server))


def _inventory(clients: Clients) -> list[str]:
    """Everything of ours the server holds, across the services deploy touches."""
    out = list(clients.client("sqs").list_queues().get("QueueUrls", []))
    out += [f["FunctionName"] for f in clients.client("lambda").list_functions()["Functions"]]
    out += [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]]
    out += [g["logGroupName"] for g in clients.client("logs").describe_log_groups()["logGroups"]]
    out += [a["AlarmName"] for a in clients.client("cloudwatch").describe_alarms()["MetricAlarms"]]
    return out


def _check_one_line_error(code: int, err: str, expected_code: int, fragment: str) -> None:
    assert code == expected_code, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    error_lines = [line for line in lines if line.startswith("Error:")]
    assert len(error_lines) == 1, err
    assert fragment in error_lines[0], err
    others = [line for line in lines if not line.startswith(("Error:", "Hint:", "Warning:"))]
    # typer's own usage errors draw a box; ours are exactly "Error:" + optional "Hint:"
    assert not others or expected_code == 2, err


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c.id for c in CONFIG_CASES])
def test_bad_input_gives_one_line_error_and_creates_nothing(
    case: Case,
    clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    if case.yaml is not None:
        (tmp_path / "mlpipe.yaml").write_text(case.yaml)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    code = run(["--endpoint-url", endpoint_url, *case.argv])
    _check_one_line_error(code, capsys.readouterr().err, case.code, case.expect)
    assert _inventory(clients) == []
    if case.id == "init-bad-app":
        assert list(tmp_path.iterdir()) == []


def test_missing_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text(GOOD + "region: eu-west-1\n")
    code = run(["deploy"])
    _check_one_line_error(code, capsys.readouterr().err, 4, "no AWS credentials found")


def test_missing_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    (tmp_path / "mlpipe.yaml").write_text(GOOD)
    code = run(["deploy"])
    _check_one_line_error(code, capsys.readouterr().err, 4, "no AWS region configured")


def test_unknown_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text(GOOD)
    code = run(["--profile", "nobody", "--region", "eu-west-1", "deploy"])
    _check_one_line_error(code, capsys.readouterr().err, 4, "profile 'nobody' is not configured")


def test_unreachable_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import free_port

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text(GOOD)
    code = run(["--endpoint-url", f"http://127.0.0.1:{free_port()}", "deploy"])
    _check_one_line_error(code, capsys.readouterr().err, 4, "cannot reach the embedded AWS")


@pytest.mark.parametrize("service", ["sqs", "iam", "lambda"])
def test_foreign_same_named_resource(
    service: str,
    clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text(GOOD)
    names = clients.names("shop", "dev")
    trust = '{"Version":"2012-10-17","Statement":[]}'
    if service == "sqs":
        clients.client("sqs").create_queue(QueueName=names.dlq)
    elif service == "iam":
        clients.client("iam").create_role(RoleName=names.lambda_role, AssumeRolePolicyDocument=trust)
    else:
        role = clients.client("iam").create_role(RoleName="theirs", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        clients.client("lambda").create_function(
            FunctionName=names.function, Runtime="python3.12", Role=role, Handler="x.y", Code={"ZipFile": b"PK"}
        )
    before = _inventory(clients)
    code = run(["--endpoint-url", endpoint_url, "deploy"])
    _check_one_line_error(code, capsys.readouterr().err, 6, "already exists and it has no mlpipe tags")
    assert _inventory(clients) == before
