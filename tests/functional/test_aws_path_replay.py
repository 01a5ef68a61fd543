"""Deploy on the AWS path: a user who sets AWS_PROFILE/region and drops --local gets real AWS, and
nothing of the embedded AWS (its endpoint URL, its test credentials, its account 123456789012) leaks
into it.

Deploy is walked on AWS-target clients under botocore's Stubber: its reads (nothing exists yet),
then its first creates. The call sequence each client must answer is learnt from the same deploy on
the embedded AWS (over real HTTP) and replayed with AWS's values (another account, AWS's URLs,
another region), so the test follows deploy as it evolves instead of freezing today's call list.
The Stubber stands in for AWS only with answers the embedded AWS really gave.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
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
