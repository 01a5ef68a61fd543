"""plan/sqs.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

import json

import pytest

from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.sqs import Queue, QueueSpec, diff, diff_deletion, queue_specs

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
URL = "https://sqs.us-east-1.amazonaws.com/123456789012/house-dev-trigger"
TRIGGER = next(s for s in queue_specs(Config.model_validate({"app": "house"}), NAMES) if s.url_var == "trigger_url")


def echoed(spec: QueueSpec, **override: str) -> dict[str, str]:
    """The attributes as SQS reports them: the same JSON documents, reordered and re-spaced."""
    out = {
        k: json.dumps(json.loads(v), indent=1) if k in ("Policy", "RedrivePolicy") else v
        for k, v in spec.attributes.items()
    }
    return {**out, "ApproximateNumberOfMessages": "0", **override}


def test_a_missing_queue_is_created_with_its_attributes_and_tags() -> None:
    change, known = diff(TRIGGER, None, NAMES)
    call = change.calls[0]
    assert (change.action, call.operation, known) == ("create", "create_queue", {})
    assert call.params == {"QueueName": "house-dev-trigger", "Attributes": TRIGGER.attributes, "tags": OURS}
    assert call.save == {"trigger_url": "QueueUrl"}


def test_a_matching_queue_is_a_noop_that_knows_its_url() -> None:
    change, known = diff(TRIGGER, Queue(URL, OURS, echoed(TRIGGER)), NAMES)
    assert (change.action, change.steps, known) == ("noop", (), {"trigger_url": URL})


@pytest.mark.parametrize(
    ("override", "detail"),
    [
        ({"VisibilityTimeout": "30"}, f"VisibilityTimeout 30 -> {TRIGGER.attributes['VisibilityTimeout']}"),
        ({"Policy": "{}"}, "Policy changed"),
        ({"RedrivePolicy": '{"maxReceiveCount": 9}'}, "RedrivePolicy"),
    ],
)
def test_only_the_differing_attributes_are_set(override: dict[str, str], detail: str) -> None:
    change, known = diff(TRIGGER, Queue(URL, OURS, echoed(TRIGGER, **override)), NAMES)
    (key,) = override
    assert (change.action, change.calls[0].operation, known) == ("update", "set_queue_attributes", {"trigger_url": URL})
    assert change.calls[0].params == {"QueueUrl": URL, "Attributes": {key: TRIGGER.attributes[key]}}
    assert change.detail.startswith(detail)


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "house", "mlpipe:stage": "prod"}])
def test_an_unowned_queue_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="SQS queue 'house-dev-trigger'"):
        diff(TRIGGER, Queue(URL, tags, echoed(TRIGGER)), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion("house-dev-trigger", Queue(URL, tags), NAMES)


def test_deletion() -> None:
    assert diff_deletion("house-dev-trigger", None, NAMES).detail == "absent"
    change = diff_deletion("house-dev-trigger", Queue(URL, OURS), NAMES)
    assert (change.action, change.calls[0].operation, change.calls[0].params) == (
        "delete",
        "delete_queue",
        {"QueueUrl": URL},
    )


def test_deletion_says_how_many_messages_go_with_the_queue() -> None:
    held = {"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "1"}
    assert diff_deletion("house-dev-trigger", Queue(URL, OURS, held), NAMES).detail == "and its 3 message(s)"
    dead = diff_deletion("house-dev-dlq", Queue(URL, OURS, {"ApproximateNumberOfMessages": "1"}), NAMES)
    assert dead.detail.startswith("and its 1 dead letter(s)")
    assert (
        diff_deletion("house-dev-dlq", Queue(URL, OURS, {"ApproximateNumberOfMessages": "0"}), NAMES).detail == "empty"
    )
