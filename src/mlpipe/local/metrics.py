"""The AWS metrics the embedded AWS publishes into moto's CloudWatch, as the services do on AWS.

- AWS/SQS ApproximateNumberOfMessagesVisible and ApproximateAgeOfOldestMessage per queue
  (dimension QueueName), sampled by the alarm evaluator on every tick (AWS: every minute).
- AWS/Lambda Invocations, Errors (0 or 1) and Duration per invocation (dimension FunctionName),
  from the mapping runner.

They are written into moto's backend in-process (the AWS/ namespaces are closed to PutMetricData
on AWS), with timestamps from the caller's clock, and pruned after RETENTION_S so a long-running
server does not grow without bound.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

RETENTION_S = 3600
SERVICE_NAMESPACES = ("AWS/SQS", "AWS/Lambda")
_LOCK = threading.Lock()
# The same service datapoints, indexed by (account, region, namespace, metric, dimensions), so the
# evaluator reads one series instead of scanning moto's whole list on every tick.
SeriesKey = tuple[str, str, str, str, frozenset[tuple[str, str]]]
_SERIES: dict[SeriesKey, deque[tuple[float, float]]] = {}


def _utc(epoch: float) -> datetime:
    # moto compares naive UTC datetimes
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def put(
    account: str,
    region: str,
    namespace: str,
    dimensions: dict[str, str],
    values: dict[str, tuple[float, str]],
    at: float,
) -> None:
    """Record metric -> (value, unit) at epoch `at`."""
    from moto.cloudwatch.models import cloudwatch_backends

    dims = [{"Name": k, "Value": v} for k, v in dimensions.items()]
    data = [
        {"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dims, "Timestamp": _utc(at)}
        for name, (value, unit) in values.items()
    ]
    dims_key = frozenset(dimensions.items())
    with _LOCK:
        cloudwatch_backends[account][region].put_metric_data(namespace, data)
        for name, (value, _) in values.items():
            _SERIES.setdefault((account, region, namespace, name, dims_key), deque()).append((at, float(value)))


def record_invocation(
    account: str, region: str, function: str, *, error: bool, duration_ms: float, at: float | None = None
) -> None:
    values = {
        "Invocations": (1.0, "Count"),
        "Errors": (1.0 if error else 0.0, "Count"),
        "Duration": (duration_ms, "Milliseconds"),
    }
    put(account, region, "AWS/Lambda", {"FunctionName": function}, values, time.time() if at is None else at)


def _queues() -> Iterator[tuple[str, str, Any]]:
    from moto.sqs.models import sqs_backends

    for account, regions in list(sqs_backends.items()):
        for region, backend in list(regions.items()):
            for queue in list(backend.queues.values()):
                yield account, region, queue


def publish_queue_metrics(now: float) -> int:
    """Sample every queue's depth and oldest message; returns how many queues were sampled."""
    count = 0
    for account, region, queue in _queues():
        messages = list(queue._messages)
        visible = sum(1 for m in messages if m.visible and not m.delayed)
        sent = [m.sent_timestamp for m in messages if m.sent_timestamp]
        age = max(0.0, now - min(sent) / 1000) if sent else 0.0
        values = {
            "ApproximateNumberOfMessagesVisible": (float(visible), "Count"),
            "ApproximateAgeOfOldestMessage": (round(age), "Seconds"),
        }
        put(account, region, "AWS/SQS", {"QueueName": queue.name}, values, now)
        count += 1
    return count


def samples(
    account: str, region: str, namespace: str, metric: str, dimensions: dict[str, str], since: float
) -> list[tuple[float, float]]:
    """(epoch, value) of one metric's data since `since`, for the evaluator."""
    from moto.cloudwatch.models import cloudwatch_backends

    with _LOCK:
        series = _SERIES.get((account, region, namespace, metric, frozenset(dimensions.items())))
        if series is not None or namespace in SERVICE_NAMESPACES:
            return [(t, v) for t, v in (series or ()) if t >= since]
    backend = cloudwatch_backends[account][region]  # a metric put through the API: scan moto's data
    wanted = {(k, v) for k, v in dimensions.items()}
    out = []
    with _LOCK:
        data = list(backend.metric_data)
    for datum in data:
        if datum.namespace != namespace or datum.name != metric or not hasattr(datum, "value"):
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted:
            continue
        when = datum.timestamp
        stamp = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()  # moto keeps both kinds
        if stamp >= since:
            out.append((stamp, float(datum.value)))
    return out


def forget() -> None:
    """On reset: moto's CloudWatch is emptied, so is the index."""
    with _LOCK:
        _SERIES.clear()


def prune(now: float) -> None:
    """Drop the service metrics older than RETENTION_S."""
    from moto.cloudwatch.models import cloudwatch_backends

    cutoff = _utc(now - RETENTION_S)
    with _LOCK:
        for key, series in list(_SERIES.items()):
            while series and series[0][0] < now - RETENTION_S:
                series.popleft()
            if not series:
                del _SERIES[key]
        for regions in list(cloudwatch_backends.values()):
            for backend in list(regions.values()):
                backend.metric_data = [
                    d for d in backend.metric_data if d.namespace not in SERVICE_NAMESPACES or d.timestamp >= cutoff
                ]
