"""plan/sns.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

import json

import pytest

from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.model import Change
from mlpipe.plan.sns import Topic, diff, diff_deletion
from mlpipe.policies.resource_policies import alarm_topic_policy

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
CONFIG = Config.model_validate({"app": "house", "alarm": {"notify": ["a@example.com", "b@example.com"]}})
POLICY = json.dumps(alarm_topic_policy(NAMES, NAMES.alarm_topic), indent=2)  # as SNS echoes it: re-spaced
TOPIC = NAMES.alarm_topic


def summary(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.action, c.kind, c.name) for c in changes]


def test_a_missing_topic_is_created_with_its_policy_then_each_address_subscribed() -> None:
    changes = diff(CONFIG, None, NAMES)
    assert summary(changes) == [
        ("create", "sns-topic", TOPIC),
        ("create", "sns-subscription", "a@example.com"),
        ("create", "sns-subscription", "b@example.com"),
    ]
    assert json.loads(changes[0].calls[0].params["Attributes"]["Policy"]) == json.loads(POLICY)


def test_a_matching_topic_with_its_subscriptions_is_a_noop() -> None:
    observed = Topic({"Policy": POLICY}, OURS, frozenset({"a@example.com", "b@example.com"}))
    assert [c.action for c in diff(CONFIG, observed, NAMES)] == ["noop", "noop", "noop"]


def test_a_changed_policy_is_set_and_only_missing_addresses_subscribed() -> None:
    changes = diff(CONFIG, Topic({"Policy": "{}"}, OURS, frozenset({"a@example.com"})), NAMES)
    assert summary(changes) == [
        ("update", "sns-topic", TOPIC),
        ("noop", "sns-subscription", "a@example.com"),
        ("create", "sns-subscription", "b@example.com"),
    ]
    assert changes[0].calls[0].params["AttributeName"] == "Policy"


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "other", "mlpipe:stage": "dev"}])
def test_an_unowned_topic_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="SNS topic"):
        diff(CONFIG, Topic({"Policy": POLICY}, tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(Topic({}, tags), NAMES)


@pytest.mark.parametrize("alarm", [{"enabled": False}, {"topic_arn": "arn:aws:sns:us-east-1:123456789012:theirs"}])
def test_without_a_topic_of_its_own_mlpipe_deletes_its_topic(alarm: dict[str, object]) -> None:
    config = Config.model_validate({"app": "house", "alarm": alarm})
    assert summary(diff(config, None, NAMES)) == [("noop", "sns-topic", TOPIC)]
    (delete,) = diff(config, Topic({}, OURS), NAMES)
    assert (delete.action, delete.calls[0].operation) == ("delete", "delete_topic")
