"""End to end on the embedded AWS: a message in, a prediction out in the function's log group."""

from __future__ import annotations

import json
import math

import pytest
from local_helpers import (
    TUTORIAL_PAYLOAD,
    client,
    deploy_stack,
    drain,
    json_events,
    log_lines,
    predict_in_process,
    wait_for,
)


def test_tutorial_message_is_predicted_like_the_model_in_process(endpoint_url: str) -> None:
    stack = deploy_stack(endpoint_url, app="tut")
    sqs = stack.sqs()
    sent = sqs.send_message(QueueUrl=stack.trigger_url, MessageBody=json.dumps({"payload": TUTORIAL_PAYLOAD}))

    [prediction] = wait_for(
        lambda: json_events(log_lines(endpoint_url, stack.log_group), "prediction"), 20, "a prediction log line"
    )

    expected = predict_in_process(stack.booster, TUTORIAL_PAYLOAD)
    assert prediction["message_id"] == sent["MessageId"]
    assert prediction["rows"] == 1 and prediction["endpoint"] == "tut"
    assert math.isclose(prediction["predictions"][0], expected, abs_tol=1e-5)
    lines = log_lines(endpoint_url, stack.log_group)
    assert lines[0].startswith("START RequestId: ")
    assert any(line.startswith("END RequestId: ") for line in lines)
    assert any(line.startswith("REPORT RequestId: ") and "Duration:" in line for line in lines)
    wait_for(lambda: not sqs.receive_message(QueueUrl=stack.trigger_url).get("Messages"), 5, "the message deleted")


def test_malformed_message_ends_in_the_dlq_with_its_reason(endpoint_url: str) -> None:
    stack = deploy_stack(endpoint_url, app="bad")
    sqs = stack.sqs()
    body = json.dumps({"payload": "14.0507,0,18.1", "id": "order-7"})
    sent = sqs.send_message(QueueUrl=stack.trigger_url, MessageBody=body)

    dead = wait_for(lambda: drain(sqs, stack.dlq_url, max_wait=1), 20, "the DLQ message")

    [message] = dead
    assert message["Body"] == body
    attributes = message["MessageAttributes"]
    assert attributes["mlpipe-reason"]["StringValue"] == "row 1 has 3 value(s), expected 13 features"
    assert attributes["mlpipe-source-message-id"]["StringValue"] == sent["MessageId"]
    assert attributes["mlpipe-correlation-id"]["StringValue"] == "order-7"
    [poison] = json_events(log_lines(endpoint_url, stack.log_group), "poison")
    assert poison["correlation_id"] == "order-7" and poison["excerpt"] == body
    assert not sqs.receive_message(QueueUrl=stack.trigger_url).get("Messages")  # deleted, not redriven


def test_invoke_endpoint_behaves_like_the_xgboost_container(endpoint_url: str) -> None:
    from local_helpers import create_endpoint

    booster = create_endpoint(endpoint_url, "direct")
    runtime = client(endpoint_url, "sagemaker-runtime")
    rows = [TUTORIAL_PAYLOAD, TUTORIAL_PAYLOAD.replace("14.0507", "0.5")]

    reply = runtime.invoke_endpoint(EndpointName="direct", ContentType="text/csv", Body="\n".join(rows))

    lines = reply["Body"].read().decode().splitlines()
    assert reply["ContentType"] == "text/csv" and reply["InvokedProductionVariant"] == "AllTraffic"
    assert [float(v) for v in lines] == pytest.approx([predict_in_process(booster, r) for r in rows], abs=1e-5)

    with pytest.raises(runtime.exceptions.ModelError) as refused:
        runtime.invoke_endpoint(EndpointName="direct", ContentType="application/json", Body=b"[1, 2]")
    assert refused.value.response["OriginalStatusCode"] == 415

    with pytest.raises(runtime.exceptions.ModelError) as wrong_count:
        runtime.invoke_endpoint(EndpointName="direct", ContentType="text/csv", Body=b"1,2,3")
    assert wrong_count.value.response["OriginalStatusCode"] == 400
    assert "expected: 13, got 3" in wrong_count.value.response["OriginalMessage"]

    with pytest.raises(runtime.exceptions.ValidationError, match="Endpoint nope of account"):
        runtime.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=TUTORIAL_PAYLOAD)
