"""The embedded AWS server: registry hooks honoured over real HTTP, fault switch, reset, status."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import pytest
from local_helpers import client

from mlpipe.local import registry
from mlpipe.local.control import admin_request
from mlpipe.local.registry import AwsApiError, Context


def admin(endpoint_url: str, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    status, answer = admin_request(endpoint_url, method, path, body)
    return status, answer


@pytest.fixture
def hooks() -> Iterator[list[tuple[str, Any]]]:
    """Hooks a test registers; removed afterwards so other tests see the registry unchanged."""
    added: list[tuple[str, Any]] = []
    yield added
    for kind, (key, fn) in added:
        if kind == "override":
            registry.OVERRIDES.pop(key, None)
        else:
            getattr(registry, kind.upper())[key].remove(fn)


def add(hooks: list[tuple[str, Any]], kind: str, service: str, operation: str, fn: Any) -> None:
    getattr(registry, kind)(service, operation)(fn)
    hooks.append((kind, ((service, operation), fn)))


def test_before_hooks_mutate_params_and_after_hooks_the_response(endpoint_url: str, hooks: list[Any]) -> None:
    seen: dict[str, Any] = {}

    def tag_every_queue(ctx: Context, params: dict[str, Any]) -> None:
        params.setdefault("tags", {})["added-by"] = "hook"
        ctx.request_state["name"] = params["QueueName"]

    def count_queues(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
        seen["request_state"] = dict(ctx.request_state)
        response["QueueUrls"] = [*response.get("QueueUrls", []), "https://example.invalid/added"]

    add(hooks, "before", "sqs", "CreateQueue", tag_every_queue)
    add(hooks, "after", "sqs", "ListQueues", count_queues)
    sqs = client(endpoint_url, "sqs")

    url = sqs.create_queue(QueueName="hooked")["QueueUrl"]

    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"added-by": "hook"}
    assert sqs.list_queues()["QueueUrls"][-1] == "https://example.invalid/added"
    # Fresh per request: CreateQueue's scratch is not visible here; only the caller is.
    assert list(seen["request_state"]) == ["identity"]
    assert seen["request_state"]["identity"].principal_arn.endswith(":user/mlpipe-operator")


def test_overrides_and_aws_errors_on_json_and_rest_protocols(endpoint_url: str, hooks: list[Any]) -> None:
    def purge_refused(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        raise AwsApiError("PurgeQueueInProgress", "purged recently", 403)

    def not_here(ctx: Context, params: dict[str, Any]) -> None:
        raise AwsApiError("ResourceNotFoundException", f"Function not found: {params['FunctionName']}", 404)

    add(hooks, "override", "sqs", "PurgeQueue", purge_refused)
    add(hooks, "before", "lambda", "GetFunction", not_here)
    sqs, lam = client(endpoint_url, "sqs"), client(endpoint_url, "lambda")
    url = sqs.create_queue(QueueName="purge-me")["QueueUrl"]

    with pytest.raises(sqs.exceptions.PurgeQueueInProgress, match="purged recently"):
        sqs.purge_queue(QueueUrl=url)
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match="Function not found: some-fn"):
        lam.get_function(FunctionName="some-fn")


def test_a_crashing_extension_answers_500_and_the_server_keeps_serving(endpoint_url: str, hooks: list[Any]) -> None:
    def broken(ctx: Context, params: dict[str, Any]) -> None:
        raise KeyError("bug")

    add(hooks, "before", "sqs", "ListQueues", broken)
    sqs = client(endpoint_url, "sqs")

    with pytest.raises(sqs.exceptions.ClientError, match="InternalFailure"):
        sqs.list_queues()
    assert sqs.create_queue(QueueName="still-alive")["QueueUrl"].endswith("/still-alive")


def test_fault_switch_fails_the_given_fraction_of_calls(endpoint_url: str) -> None:
    status, body = admin(
        endpoint_url,
        "POST",
        "/_mlpipe/faults",
        {"service": "sqs", "operation": "ListQueues", "rate": 0.5, "error": "ServiceUnavailable", "seed": 1},
    )
    assert status == 200 and body["faults"][0]["status"] == 503
    sqs = client(endpoint_url, "sqs")
    sqs_once = boto3.client(  # no SDK retries: every injected fault is seen
        "sqs",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )
    outcomes = []
    for _ in range(40):
        try:
            sqs_once.list_queues()
            outcomes.append("ok")
        except sqs.exceptions.ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    failed = outcomes.count("ServiceUnavailable")
    assert 10 <= failed <= 30 and failed + outcomes.count("ok") == 40
    _, described = admin(endpoint_url, "GET", "/_mlpipe/faults")
    assert described["faults"][0]["injected"] == failed

    assert admin(endpoint_url, "DELETE", "/_mlpipe/faults") == (200, {"faults": []})
    assert all(sqs_once.list_queues() for _ in range(5))


def test_bad_fault_spec_is_refused(endpoint_url: str) -> None:
    status, body = admin(endpoint_url, "POST", "/_mlpipe/faults", {"service": "sqs", "operation": "X", "rate": 2})
    assert status == 400 and "between 0 and 1" in body["error"]


def test_reset_clears_moto_faults_and_extension_state(aws_server: str, operator_keys: tuple[str, str]) -> None:
    calls: list[str] = []
    registry.RESET.append(lambda ctx: calls.append(ctx.endpoint_url))
    try:
        sqs = client(aws_server, "sqs")
        sqs.create_queue(QueueName="before-reset")
        admin(aws_server, "POST", "/_mlpipe/faults", {"service": "sqs", "operation": "X", "rate": 1})

        assert admin(aws_server, "POST", "/moto-api/reset", b"")[0] == 200

        assert sqs.list_queues().get("QueueUrls", []) == []
        assert admin(aws_server, "GET", "/_mlpipe/faults")[1] == {"faults": []}
        assert calls == [aws_server]
    finally:
        registry.RESET.pop()


def test_status_reports_server_and_mappings(endpoint_url: str) -> None:
    status, body = admin(endpoint_url, "GET", "/_mlpipe/status")

    assert status == 200
    assert body["server"]["endpoint_url"] == endpoint_url
    assert body["mappings"] == [] and body["processed"] == 0


def test_concurrent_consumers_and_senders_neither_duplicate_nor_resurrect_messages(endpoint_url: str) -> None:
    import threading
    from collections import Counter

    from local_helpers import queue_depth, send_all

    sqs = client(endpoint_url, "sqs")
    url = sqs.create_queue(QueueName="busy", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    send_all(sqs, url, [f"early-{n}" for n in range(400)])
    received: Counter[str] = Counter()
    errors: list[BaseException] = []

    def consume() -> None:
        own = client(endpoint_url, "sqs")
        try:
            while messages := own.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                received.update(m["Body"] for m in messages)
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                assert not own.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed")
        except BaseException as exc:  # surfaced below, with the thread's assertion
            errors.append(exc)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    threads.append(
        threading.Thread(target=send_all, args=(client(endpoint_url, "sqs"), url, [f"late-{n}" for n in range(100)]))
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    consume()  # what the late sender added after the consumers ran dry

    assert errors == []
    assert len(received) == 500 and max(received.values()) == 1
    assert queue_depth(sqs, url) == 0  # nothing deleted came back
