"""How CloudWatch decides a metric alarm's state: pure functions, no moto, no clock of their own.

Datapoints are the alarm's statistic over consecutive periods aligned on the epoch (as CloudWatch
aligns them), the newest one being the period that holds `now` when it has data already (CloudWatch
evaluates the latest datapoints as they arrive), else the period before it (a datapoint published
just before a period boundary is still evaluated once). Of the last EvaluationPeriods datapoints,
DatapointsToAlarm (default: all of them) breaching the threshold means ALARM. Missing datapoints
follow TreatMissingData: missing (the default: only the present ones count; none at all ->
INSUFFICIENT_DATA), breaching, notBreaching, ignore (none at all -> keep the current state).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}


@dataclass(frozen=True)
class AlarmSpec:
    period: int
    evaluation_periods: int
    threshold: float
    comparison: str
    statistic: str = "Maximum"
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"


@dataclass(frozen=True)
class Decision:
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    datapoints: tuple[float | None, ...]  # oldest first
    period_starts: tuple[float, ...]  # epoch seconds, oldest first


def statistic(values: Sequence[float], name: str) -> float:
    if name == "Sum":
        return float(sum(values))
    if name == "Minimum":
        return float(min(values))
    if name == "Average":
        return float(sum(values) / len(values))
    if name == "SampleCount":
        return float(len(values))
    return float(max(values))  # Maximum


def datapoints(
    samples: Sequence[tuple[float, float]], spec: AlarmSpec, now: float
) -> tuple[tuple[float | None, ...], tuple[float, ...]]:
    """The statistic per period for the last EvaluationPeriods periods up to `now` (None: no data)."""
    newest = math.floor(now / spec.period) * spec.period
    starts = tuple(newest - spec.period * i for i in range(spec.evaluation_periods, -1, -1))  # one extra
    buckets: dict[float, list[float]] = {start: [] for start in starts}
    for timestamp, value in samples:
        start = math.floor(timestamp / spec.period) * spec.period
        if start in buckets:
            buckets[start].append(value)
    starts = starts[1:] if buckets[newest] else starts[:-1]
    return tuple(statistic(buckets[s], spec.statistic) if buckets[s] else None for s in starts), starts


def decide(samples: Sequence[tuple[float, float]], spec: AlarmSpec, now: float, current: str) -> Decision:
    values, starts = datapoints(samples, spec, now)
    breaches, describe = COMPARISONS[spec.comparison]
    needed = spec.datapoints_to_alarm or spec.evaluation_periods
    present = [v for v in values if v is not None]
    missing = len(values) - len(present)
    breaching = sum(1 for v in present if breaches(v, spec.threshold))
    if spec.treat_missing_data == "breaching":
        breaching += missing
    if not present and spec.treat_missing_data in ("missing", "ignore"):
        state = "INSUFFICIENT_DATA" if spec.treat_missing_data == "missing" else current
        reason = f"Insufficient Data: {len(values)} datapoints were unknown."
        return Decision(state, reason, values, starts)
    shown = ", ".join(f"{v:g}" for v in present[-5:]) or "no data"
    noun = "datapoint" if len(present) == 1 else "datapoints"
    if breaching >= needed:
        reason = (
            f"Threshold Crossed: {breaching} out of the last {len(values)} datapoints [{shown}] "
            f"{'was' if breaching == 1 else 'were'} {describe} the threshold ({spec.threshold:g})."
        )
        return Decision("ALARM", reason, values, starts)
    reason = (
        f"Threshold Crossed: {len(present)} {noun} [{shown}] "
        f"{'was' if len(present) == 1 else 'were'} not {describe} the threshold ({spec.threshold:g})."
    )
    return Decision("OK", reason, values, starts)
