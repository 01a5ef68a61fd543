"""The AWS path: a user who sets AWS_PROFILE/region and drops --local gets real AWS, and nothing of
the embedded AWS (its endpoint URL, its test credentials, its account 123456789012) leaks into it.

Deploy is walked on AWS-target clients under botocore's Stubber: its reads (nothing exists yet),
then its first creates. The call sequence each client must answer is learnt from the same deploy on
the embedded AWS and replayed with AWS's values (another account, AWS's URLs, another region), so
the test follows deploy as it evolves instead of freezing today's call list.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from mlpipe.aws.clients import Clients, Target, resolve_target
from mlpipe.config import Config
from mlpipe.ops.deploy import deploy
from mlpipe.reporter import ListReporter

LOCAL_ACCOUNT = "123456789012"
AWS_ACCOUNT = "987654321098"
AWS_REGION = "eu-west-3"
USER_KEY = "AKIAUSERKEY000000001"
CONFIG = Config.model_validate({"app": "house"})


def _record(clients: Clients) -> list[tuple[str, str, Any]]:
    """Every call deploy makes on the embedded AWS: (service, method, response or ClientError)."""
    calls: list[tuple[str, str, Any]] = []

    def after(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        calls.append((service, _snake(clients, service, model.name), parsed))

    clients.session.events.register("after-call", after)
    deploy(CONFIG, clients, ListReporter())
    return calls


def _snake(clients: Clients, service: str, operation: str) -> str:
    mapping = {v: k for k, v in clients.client(service).meta.method_to_api_mapping.items()}
    return mapping[operation]


def _to_aws(value: Any, local_url: str) -> Any:
    """A recorded response as AWS would answer: its account, its URLs, its region."""
    text = json.dumps(value, default=str)
    text = re.sub(re.escape(local_url) + r"/(\d{12})/", rf"https://sqs.{AWS_REGION}.amazonaws.com/{AWS_ACCOUNT}/", text)
    text = text.replace(local_url, f"https://lambda.{AWS_REGION}.amazonaws.com")
    text = text.replace(LOCAL_ACCOUNT, AWS_ACCOUNT).replace("us-east-1", AWS_REGION)
    return _policies_as_text(json.loads(text))


def _policies_as_text(value: Any) -> Any:
    """botocore decodes IAM policy documents into dicts when parsing; on the wire they are text."""
    if isinstance(value, dict):
        return {
            k: json.dumps(v) if k.endswith("PolicyDocument") and isinstance(v, dict) else _policies_as_text(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_policies_as_text(v) for v in value]
    return value


@pytest.fixture
def aws_clients(monkeypatch: pytest.MonkeyPatch) -> Clients:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", USER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "user-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)  # boto3 1.44 ignores AWS_REGION
    target = resolve_target(None, None, None, None)  # what a user without --local gets
    assert target == Target("aws", region=None, profile=None)
    return Clients(target)


@pytest.mark.slow
def test_deploy_on_aws_reads_then_creates_with_nothing_local(clients: Clients, aws_clients: Clients) -> None:
    local_url = clients.target.endpoint_url or ""
    recorded = _record(clients)
    assert recorded, "deploy made no call on the embedded AWS"

    stubbers: dict[str, Stubber] = {}
    sent: list[tuple[str, str, dict[str, Any]]] = []
    for service, method, response in recorded:
        if service not in stubbers:
            client = aws_clients.client(service)
            client.meta.events.register(
                "provide-client-params.*.*",
                lambda params, model, **_: sent.append((model.service_model.service_name, model.name, params)),
            )
            stubbers[service] = Stubber(client)
            stubbers[service].activate()
        if "Error" in response:
            error = response["Error"]
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            stubbers[service].add_client_error(method, error.get("Code", ""), error.get("Message", ""), status)
        else:
            stubbers[service].add_response(method, _to_aws(response, local_url))

    result = deploy(CONFIG, aws_clients, ListReporter())

    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
    assert result.plan.summary()["create"] >= 6  # queues, role, log group, function, mapping, alarm
    assert result.names.account == AWS_ACCOUNT and result.names.region == AWS_REGION
    every_param = json.dumps(sent, default=str)
    local_key = clients.target.credentials.access_key_id if clients.target.credentials else "?"
    for leak in (local_url, "127.0.0.1", "localhost", LOCAL_ACCOUNT, local_key, "AWS_ENDPOINT_URL"):
        assert leak not in every_param, f"{leak!r} reached an AWS call"
    creates = {op for _, op, _ in sent if op.startswith(("Create", "Put"))}
    assert {"CreateQueue", "CreateRole", "CreateFunction", "CreateEventSourceMapping", "PutMetricAlarm"} <= creates
    function = next(p for _, op, p in sent if op == "CreateFunction")
    assert function["Role"] == f"arn:aws:iam::{AWS_ACCOUNT}:role/house-dev-predict-role"
    assert function["Environment"]["Variables"]["MLPIPE_DLQ_URL"].startswith(f"https://sqs.{AWS_REGION}.amazonaws.com/")
    for service in stubbers:
        client = aws_clients.client(service)
        assert client.meta.endpoint_url.startswith("https://") and "amazonaws.com" in client.meta.endpoint_url
        assert client._request_signer._credentials.access_key == USER_KEY  # the user's, not the emulator's


def test_the_aws_target_uses_standard_retries_and_the_users_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = Path(os.environ["AWS_CONFIG_FILE"])
    config_file.write_text("[profile data-science]\nregion = ap-southeast-2\n")
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[data-science]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = s\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "data-science")
    clients = Clients(resolve_target(None, None, "data-science", None))
    sqs = clients.client("sqs")
    assert clients.region == "ap-southeast-2"
    assert sqs.meta.endpoint_url == "https://sqs.ap-southeast-2.amazonaws.com"
    retries = sqs.meta.config.retries
    attempts = retries.get("total_max_attempts", retries.get("max_attempts", 0))
    assert attempts > 3 and retries["mode"] != "legacy"  # not the emulator's two quick attempts
    assert sqs._request_signer._credentials.access_key == "AKIAPROFILE000000001"
    assert sqs._request_signer._credentials.secret_key == "s"  # the profile's, nothing of the emulator's


def test_an_error_on_aws_is_translated_without_local_hints(aws_clients: Clients) -> None:
    from mlpipe.aws.errors import translate

    sts = aws_clients.client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", "AccessDenied", "not allowed", 403)
        with pytest.raises(ClientError) as raised:
            sts.get_caller_identity()
    err = translate(raised.value, aws_clients.target)
    assert "access denied" in err.message and "iam-policy" in (err.hint or "")


REPORTING = [
    ["status"],
    ["deploy", "--dry-run"],
    ["destroy", "--dry-run"],
    ["config", "show"],
    ["iam-policy", "--account", AWS_ACCOUNT],
]


@pytest.mark.parametrize("argv", REPORTING, ids=[" ".join(a) for a in REPORTING])
def test_output_json_on_reporting_commands(argv: list[str], endpoint_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: house\n")
    env = {**os.environ, "NO_COLOR": "1", "AWS_ENDPOINT_URL": endpoint_url}
    done = subprocess.run(
        [sys.executable, "-m", "mlpipe", "--config", str(config), "-o", "json", *argv],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # stdout is exactly one JSON document
    assert "\x1b[" not in done.stdout + done.stderr


def test_no_color_and_no_terminal_mean_plain_text(endpoint_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: house\n")
    script = (
        "import sys; from rich.console import Console; import mlpipe.cli.render as r; "
        "r.stdout = Console(force_terminal=True, highlight=False, soft_wrap=True); "
        "r.stderr = Console(stderr=True, force_terminal=True, highlight=False, soft_wrap=True); "
        "from mlpipe.cli.app import run; sys.exit(run(sys.argv[1:]))"
    )
    env = {**os.environ, "NO_COLOR": "1", "AWS_ENDPOINT_URL": endpoint_url}
    done = subprocess.run(
        [sys.executable, "-c", script, "--config", str(config), "deploy", "--dry-run"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Plan for house/dev" in done.stdout
    assert not re.search(r"\x1b\[[0-9;]*3\dm|\x1b\[38;", done.stdout + done.stderr)  # no colour codes at all


AFTER_DEPLOY = [
    ["send", "--payload", "1,2,3"],
    ["tail", "logs", "--since", "5m"],
    ["tail", "dlq"],
    ["redrive", "--timeout", "20"],
    ["bootstrap-pipeline", "--dry-run"],
    ["train", "--dry-run"],
]


def test_output_json_on_the_commands_that_need_a_deployment(
    endpoint_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlpipe.cli.app import run

    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: house\n")
    base = ["--endpoint-url", endpoint_url, "--config", str(config), "-o", "json"]
    assert run([*base, "deploy"]) == 0
    json.loads(capsys.readouterr().out)
    for argv in AFTER_DEPLOY:
        assert run([*base, *argv]) == 0, argv
        captured = capsys.readouterr()
        if argv[:2] == ["tail", "logs"]:  # a stream: one JSON object per log event (JSON Lines)
            assert all(isinstance(json.loads(line), dict) for line in captured.out.splitlines())
        else:
            json.loads(captured.out)  # exactly one JSON document on stdout, whatever went to stderr
        assert "\x1b[" not in captured.out + captured.err
