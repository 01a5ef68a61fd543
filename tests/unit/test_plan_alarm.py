"""plan/alarm.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.alarm import Alarm, alarm_specs, diff, diff_deletion
from mlpipe.plan.model import Change

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
DLQ_ALARM = alarm_specs(Config.model_validate({"app": "house"}), NAMES)[0]


def reported(**over: Any) -> Alarm:
    """The alarm as DescribeAlarms echoes it (plus fields mlpipe does not set), with `over` applied."""
    return Alarm(
        {**DLQ_ALARM, "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x", "StateValue": "OK", **over}, OURS
    )


def test_a_missing_alarm_is_put_with_tags() -> None:
    change = diff(DLQ_ALARM, None, NAMES)
    (put,) = change.calls
    assert (change.action, put.operation) == ("create", "put_metric_alarm")
    assert put.params == {
        **DLQ_ALARM,
        "Tags": [{"Key": "mlpipe:app", "Value": "house"}, {"Key": "mlpipe:stage", "Value": "dev"}],
    }
    assert change.detail.startswith("ApproximateNumberOfMessagesVisible >= ")


def test_a_matching_alarm_is_a_noop() -> None:
    assert diff(DLQ_ALARM, reported(), NAMES) == Change("noop", "cloudwatch-alarm", DLQ_ALARM["AlarmName"])


@pytest.mark.parametrize(
    ("over", "detail"),
    [
        ({"Threshold": 99.0}, "Threshold changed"),
        ({"Period": 300, "OKActions": []}, "Period, OKActions changed"),
        ({"ActionsEnabled": False}, "ActionsEnabled changed"),
    ],
)
def test_a_differing_alarm_is_put_again_whole(over: dict[str, Any], detail: str) -> None:
    change = diff(DLQ_ALARM, reported(**over), NAMES)
    assert (change.action, change.detail, change.calls[0].params) == ("update", detail, DLQ_ALARM)


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "house", "mlpipe:stage": "prod"}])
def test_an_unowned_alarm_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="CloudWatch alarm"):
        diff(DLQ_ALARM, Alarm(reported().definition, tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(DLQ_ALARM["AlarmName"], Alarm(reported().definition, tags), NAMES)


def test_deletion() -> None:
    name = DLQ_ALARM["AlarmName"]
    assert diff_deletion(name, None, NAMES).detail == "absent"
    change = diff_deletion(name, reported(), NAMES)
    assert (change.action, change.calls[0].params) == ("delete", {"AlarmNames": [name]})
