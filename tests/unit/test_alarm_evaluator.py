"""The embedded AWS's alarm evaluator driven by an injected clock: no server, no sleeps.

The alarm lives in a moto CloudWatch backend of the test's own (not moto's global one), so a
server running in the same test session cannot evaluate it too."""

from __future__ import annotations

import time

from moto.cloudwatch.models import CloudWatchBackend

from mlpipe.local import metrics
from mlpipe.local.alarms import AlarmEvaluator
from mlpipe.local.registry import Context

ACCOUNT, REGION = "000000000042", "us-east-1"
DIMS = {"QueueName": "clocked-dlq"}


def _evaluator(backend: CloudWatchBackend, now: list[float]) -> AlarmEvaluator:
    return AlarmEvaluator(
        Context(endpoint_url="http://127.0.0.1:9"),  # never called: the alarm has no actions
        clock=lambda: now[0],
        tick_s=3600,
        alarms=lambda: [(ACCOUNT, REGION, backend, a) for a in list(backend.alarms.values())],
    )


def test_the_injected_clock_drives_ok_alarm_ok_with_history() -> None:
    backend = CloudWatchBackend(REGION, ACCOUNT)
    backend.put_metric_alarm(
        name="clocked",
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        comparison_operator="GreaterThanOrEqualToThreshold",
        evaluation_periods=1,
        period=60,
        threshold=1.0,
        statistic="Maximum",
        description="",
        dimensions=[{"Name": k, "Value": v} for k, v in DIMS.items()],
        alarm_actions=[],
        treat_missing_data="notBreaching",
    )
    backend.alarms["clocked"].state_value = "INSUFFICIENT_DATA"
    start = (time.time() // 60) * 60 + 5
    now = [start]
    evaluator = _evaluator(backend, now)

    assert [(t.old, t.new) for t in evaluator.tick()] == [("INSUFFICIENT_DATA", "OK")]  # no data: not breaching
    metrics.put(ACCOUNT, REGION, "AWS/SQS", DIMS, {"ApproximateNumberOfMessagesVisible": (2.0, "Count")}, start + 1)
    now[0] = start + 2
    assert [(t.old, t.new) for t in evaluator.tick()] == [("OK", "ALARM")]
    assert backend.alarms["clocked"].state_value == "ALARM"
    assert evaluator.tick() == []  # no change, no transition
    now[0] = start + 125  # two periods on, nothing published since: recovered
    assert [(t.old, t.new) for t in evaluator.tick()] == [("ALARM", "OK")]

    summaries = [i["HistorySummary"] for i in evaluator.history.items(ACCOUNT, REGION, "clocked")]
    assert summaries == [
        "Alarm updated from INSUFFICIENT_DATA to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]
