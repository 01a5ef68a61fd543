"""1,000 messages, 10% malformed, 20% of endpoint calls failing transiently: nothing lost, nothing twice."""

from __future__ import annotations

import json
import random
from collections import Counter

from local_helpers import TUTORIAL_PAYLOAD, deploy_stack, drain, json_events, log_lines, queue_depth, send_all, wait_for

from mlpipe.local.control import admin_request


def set_fault(endpoint_url: str, spec: dict[str, object]) -> None:
    assert admin_request(endpoint_url, "POST", "/_mlpipe/faults", spec)[0] == 200


def status(endpoint_url: str) -> dict[str, object]:
    code, body = admin_request(endpoint_url, "GET", "/_mlpipe/status")
    assert code == 200, body
    return dict(body)


def test_thousand_messages_with_poison_and_endpoint_faults(endpoint_url: str) -> None:
    stack = deploy_stack(endpoint_url, app="rel", batch_size=10, timeout=10, visibility=60)
    set_fault(
        endpoint_url,
        {
            "service": "sagemaker-runtime",
            "operation": "InvokeEndpoint",
            "rate": 0.2,
            "error": "ThrottlingException",
            "seed": 7,
        },
    )
    rng = random.Random(3)
    values = TUTORIAL_PAYLOAD.split(",")
    bodies, malformed = [], set()
    for number in range(1000):
        cid = f"c-{number:04d}"
        if number % 10 == 3:  # 10% malformed, of several kinds
            bad = rng.choice([",".join(values[:12]), TUTORIAL_PAYLOAD.replace("18.1", "x"), "{}", "not json"])
            bodies.append(json.dumps({"payload": bad, "id": cid}) if bad != "{}" else json.dumps({"id": cid}))
            malformed.add(cid)
        else:
            bodies.append(json.dumps({"payload": TUTORIAL_PAYLOAD, "id": cid}))
    sqs = stack.sqs()
    send_all(sqs, stack.trigger_url, bodies)

    wait_for(
        lambda: queue_depth(sqs, stack.trigger_url) == 0, 150, "the trigger queue to drain"
    )  # ~12 s idle; CI may be loaded

    lines = log_lines(endpoint_url, stack.log_group)
    predicted = Counter(p["correlation_id"] for p in json_events(lines, "prediction"))
    dead = drain(sqs, stack.dlq_url)
    dead_ids = Counter(m["MessageAttributes"]["mlpipe-correlation-id"]["StringValue"] for m in dead)
    valid = {f"c-{n:04d}" for n in range(1000)} - malformed

    assert set(predicted) == valid and max(predicted.values()) == 1  # every valid one exactly once
    assert set(dead_ids) == malformed and max(dead_ids.values()) == 1  # every malformed one in the DLQ
    assert all("mlpipe-reason" in m["MessageAttributes"] for m in dead)
    assert len(json_events(lines, "retry")) > 0  # the faults really happened and were retried
    fault = status(endpoint_url)["faults"][0]  # type: ignore[index]
    assert fault["injected"] > 0
