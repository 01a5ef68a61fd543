"""CloudWatch's alarm evaluation, as the embedded AWS reproduces it (pure: samples in, state out)."""

from __future__ import annotations

import pytest

from mlpipe.local.alarm_rules import AlarmSpec, datapoints, decide

NOW = 1_000_000.0  # a multiple of 10 and 60: period boundaries are easy to read
DLQ = AlarmSpec(period=10, evaluation_periods=1, threshold=1, comparison="GreaterThanOrEqualToThreshold")


def test_periods_are_aligned_on_the_epoch_and_the_newest_holds_now() -> None:
    spec = AlarmSpec(period=10, evaluation_periods=3, threshold=1, comparison="GreaterThanThreshold")
    samples = [(NOW - 25, 5.0), (NOW - 21, 7.0), (NOW + 3, 1.0), (NOW - 40, 99.0), (NOW - 15, 4.0), (NOW - 12, 6.0)]
    values, starts = datapoints(samples, spec, NOW + 5)
    assert starts == (NOW - 20, NOW - 10, NOW)
    # NOW-25, NOW-21 and NOW-40 fall before the three periods; [NOW-10, NOW) has no data
    assert values == (6.0, None, 1.0)


def test_two_messages_in_the_dlq_raise_the_alarm_in_the_current_period() -> None:
    decision = decide([(NOW + 1, 0.0), (NOW + 2, 2.0)], DLQ, NOW + 3, "OK")
    assert decision.state == "ALARM"
    assert "greater than or equal to the threshold (1)" in decision.reason


def test_an_empty_queue_is_ok() -> None:
    assert decide([(NOW + 1, 0.0)], DLQ, NOW + 2, "INSUFFICIENT_DATA").state == "OK"


@pytest.mark.parametrize(
    ("treat", "current", "expected"),
    [
        ("missing", "OK", "INSUFFICIENT_DATA"),
        ("ignore", "ALARM", "ALARM"),
        ("breaching", "OK", "ALARM"),
        ("notBreaching", "ALARM", "OK"),
    ],
)
def test_missing_data_is_treated_as_configured(treat: str, current: str, expected: str) -> None:
    spec = AlarmSpec(
        period=60,
        evaluation_periods=2,
        threshold=1,
        comparison="GreaterThanOrEqualToThreshold",
        statistic="Sum",
        treat_missing_data=treat,
    )
    assert decide([], spec, NOW, current).state == expected


def test_datapoints_to_alarm_m_out_of_n() -> None:
    spec = AlarmSpec(
        period=60,
        evaluation_periods=3,
        threshold=1,
        comparison="GreaterThanOrEqualToThreshold",
        statistic="Sum",
        datapoints_to_alarm=2,
    )
    one = [(NOW - 120 + 1, 1.0), (NOW - 60 + 1, 0.0), (NOW + 1, 0.0)]
    two = [(NOW - 120 + 1, 1.0), (NOW - 60 + 1, 0.0), (NOW + 1, 3.0)]
    assert decide(one, spec, NOW + 2, "OK").state == "OK"
    assert decide(two, spec, NOW + 2, "OK").state == "ALARM"


def test_statistics_and_comparisons() -> None:
    samples = [(NOW + 1, 1.0), (NOW + 2, 3.0)]
    for stat, expected in (("Sum", 4.0), ("Average", 2.0), ("Minimum", 1.0), ("Maximum", 3.0), ("SampleCount", 2.0)):
        spec = AlarmSpec(
            period=60, evaluation_periods=1, threshold=0, comparison="GreaterThanThreshold", statistic=stat
        )
        assert datapoints(samples, spec, NOW + 5)[0] == (expected,)
    low = AlarmSpec(period=60, evaluation_periods=1, threshold=2, comparison="LessThanThreshold", statistic="Minimum")
    assert decide(samples, low, NOW + 5, "OK").state == "ALARM"


def test_a_datapoint_just_before_the_period_boundary_is_still_evaluated() -> None:
    """A single event (one function error) at the end of a period, evaluated after the boundary."""
    errors = AlarmSpec(
        period=10,
        evaluation_periods=1,
        threshold=1,
        comparison="GreaterThanOrEqualToThreshold",
        statistic="Sum",
        treat_missing_data="notBreaching",
    )
    assert decide([(NOW - 0.5, 1.0)], errors, NOW + 1, "OK").state == "ALARM"
    assert decide([(NOW - 0.5, 1.0)], errors, NOW + 11, "ALARM").state == "OK"  # two periods on: recovered
