"""plan/events.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.config import PipelineConfig
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.events import TARGET_ID, Rule, _rule_fields, _targets, diff, diff_deletion
from mlpipe.plan.model import Change

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
PIPELINE = PipelineConfig.model_validate({})
TARGET = _targets(NAMES)[0]


def reported(tags: dict[str, str] = OURS, targets: tuple[dict[str, Any], ...] = (TARGET,), **over: Any) -> Rule:
    return Rule(
        {**_rule_fields(PIPELINE, NAMES), "Arn": "arn:aws:events:us-east-1:123456789012:rule/r", **over}, tags, targets
    )


def operations(change: Change) -> list[str]:
    return [c.operation for c in change.calls]


def test_a_missing_rule_is_put_with_tags_then_its_target() -> None:
    change = diff(PIPELINE, None, NAMES)
    assert (change.action, operations(change)) == ("create", ["put_rule", "put_targets"])
    assert change.calls[1].params["Targets"] == [TARGET]


def test_a_matching_rule_is_a_noop() -> None:
    assert diff(PIPELINE, reported(), NAMES) == Change("noop", "events-rule", NAMES.events_rule)


@pytest.mark.parametrize(
    ("observed", "expected", "detail"),
    [
        (reported(State="DISABLED"), ["put_rule"], "State changed"),
        (reported(targets=()), ["put_targets"], "target changed"),
        (
            reported(targets=({**TARGET, "RoleArn": "arn:aws:iam::123456789012:role/admin"},)),
            ["put_targets"],
            "target changed",
        ),
        (
            reported(targets=(TARGET, {"Id": "spy", "Arn": "arn:aws:lambda:x"})),
            ["remove_targets"],
            "1 other target(s) changed",
        ),
    ],
)
def test_a_drifted_rule_gets_exactly_the_needed_calls(observed: Rule, expected: list[str], detail: str) -> None:
    change = diff(PIPELINE, observed, NAMES)
    assert (change.action, operations(change), change.detail) == ("update", expected, detail)
    assert "Tags" not in change.calls[0].params


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "shop", "mlpipe:stage": "dev"}])
def test_an_unowned_rule_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="EventBridge rule"):
        diff(PIPELINE, reported(tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(reported(tags), NAMES)


def test_deletion_removes_the_targets_first() -> None:
    assert diff_deletion(None, NAMES).detail == "absent"
    change = diff_deletion(reported(targets=(TARGET, {"Id": "spy"})), NAMES)
    assert operations(change) == ["remove_targets", "delete_rule"]
    assert change.calls[0].params["Ids"] == [TARGET_ID, "spy"]
    assert operations(diff_deletion(reported(targets=()), NAMES)) == ["delete_rule"]
