"""The CloudWatch alarm evaluator of the embedded AWS.

On every tick (MLPIPE_LOCAL_ALARM_TICK_S, default 2 s) it samples the SQS metrics, evaluates every
metric alarm in moto's CloudWatch on its own period, evaluation periods, threshold, comparison and
missing-data treatment (mlpipe.local.alarm_rules), sets a changed state through moto's backend,
records the change in the alarm's history, and runs the actions for the new state when the
alarm's actions are enabled: publish to an SNS topic (mlpipe.local.notify). The clock is
injectable, and `tick()` can be called directly, so tests need no sleeps.

moto keeps no alarm history (DescribeAlarmHistory is unimplemented); `AlarmHistory` keeps it, in
AWS's item shape, for the override in local/ext/cloudwatch_alarms.py.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlpipe.local import metrics
from mlpipe.local.alarm_rules import AlarmSpec, Decision, decide
from mlpipe.local.registry import Context

log = logging.getLogger("mlpipe.local")

PRUNE_EVERY_S = 300.0
# After a nudge (a message sent, an invocation counted) the next tick comes at once, but ticks stay
# at least this far apart however busy the queues are.
MIN_GAP_S = 0.3
HISTORY_PER_ALARM = 500


def tick_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("MLPIPE_LOCAL_ALARM_TICK_S", "2")))
    except ValueError:
        return 2.0


@dataclass(frozen=True)
class Transition:
    alarm: str
    old: str
    new: str
    actions: tuple[str, ...]


class AlarmHistory:
    """DescribeAlarmHistory's items, per (account, region, alarm), newest last."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def add(
        self, account: str, region: str, alarm: str, kind: str, summary: str, data: dict[str, Any], at: float
    ) -> None:
        item = {
            "AlarmName": alarm,
            "AlarmType": "MetricAlarm",
            "Timestamp": at,
            "HistoryItemType": kind,
            "HistorySummary": summary,
            "HistoryData": json.dumps(data),
        }
        with self._lock:
            items = self._items.setdefault((account, region, alarm), [])
            items.append(item)
            del items[:-HISTORY_PER_ALARM]

    def items(self, account: str, region: str, alarm: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(item)
                for (a, r, name), items in self._items.items()
                if a == account and r == region and alarm in (None, name)
                for item in items
            ]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def moto_metric_alarms() -> Iterator[tuple[str, str, Any, Any]]:
    """(account, region, backend, alarm) for every alarm on one metric and a plain statistic (not a
    percentile, metric math, anomaly band or composite alarm: those are not evaluated)."""
    from moto.cloudwatch.models import cloudwatch_backends

    for account, regions in list(cloudwatch_backends.items()):
        for region, backend in list(regions.items()):
            for alarm in list(backend.alarms.values()):
                if alarm.metric_name and alarm.statistic and not alarm.metric_data_queries and not alarm.rule:
                    yield account, region, backend, alarm


def spec_of(alarm: Any) -> AlarmSpec:
    return AlarmSpec(
        period=int(alarm.period),
        evaluation_periods=int(alarm.evaluation_periods),
        threshold=float(alarm.threshold),
        comparison=str(alarm.comparison_operator),
        statistic=str(alarm.statistic or "Maximum"),
        datapoints_to_alarm=int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
        treat_missing_data=str(alarm.treat_missing_data or "missing"),
    )


class AlarmEvaluator:
    def __init__(
        self,
        ctx: Context,
        clock: Callable[[], float] = time.time,
        tick_s: float | None = None,
        alarms: Callable[[], Iterable[tuple[str, str, Any, Any]]] = lambda: moto_metric_alarms(),
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.alarms = alarms  # (account, region, backend, alarm); tests give their own backend
        self.tick_s = tick_s if tick_s is not None else tick_seconds()
        self.history: AlarmHistory = ctx.state.setdefault("alarm_history", AlarmHistory())
        self.evaluations = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one tick at a time (the thread, or a test calling tick())
        self._thread: threading.Thread | None = None
        self._pruned_at = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mlpipe-alarm-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def nudge(self) -> None:
        """Something the alarms watch changed: evaluate soon rather than at the next tick. (AWS
        takes a minute or more; being faster offline changes no outcome, only the wait.)"""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.tick_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.tick()
            except Exception:  # a bad alarm must not stop the evaluation of the others
                log.exception("alarm evaluation failed")
            self._stop.wait(MIN_GAP_S)

    def tick(self) -> list[Transition]:
        with self._lock:
            now = self.clock()
            metrics.publish_queue_metrics(now)
            changes = []
            for account, region, backend, alarm in self.alarms():
                change = self._evaluate(account, region, backend, alarm, now)
                if change is not None:
                    changes.append(change)
            self.evaluations += 1
            if now - self._pruned_at > PRUNE_EVERY_S:
                metrics.prune(now)
                self._pruned_at = now
            return changes

    def _evaluate(self, account: str, region: str, backend: Any, alarm: Any, now: float) -> Transition | None:
        spec = spec_of(alarm)
        dims = {d.name: d.value for d in alarm.dimensions}
        since = now - spec.period * (spec.evaluation_periods + 1)
        data = metrics.samples(account, region, alarm.namespace, alarm.metric_name, dims, since)
        decision = decide(data, spec, now, alarm.state_value)
        if decision.state == alarm.state_value:
            return None
        old = alarm.state_value
        old_reason = alarm.state_reason
        backend.set_alarm_state(
            alarm.name, decision.reason, json.dumps(_reason_data(decision, spec, now)), decision.state
        )
        alarm = backend.alarms.get(alarm.name, alarm)
        self.history.add(
            account,
            region,
            alarm.name,
            "StateUpdate",
            f"Alarm updated from {old} to {decision.state}",
            {
                "version": "1.0",
                "oldState": {"stateValue": old, "stateReason": old_reason},
                "newState": {"stateValue": decision.state, "stateReason": decision.reason},
            },
            now,
        )
        actions = _actions_for(alarm, decision.state) if alarm.actions_enabled else []
        for arn in actions:
            self._run_action(account, region, alarm, arn, old, now)
        return Transition(alarm.name, old, decision.state, tuple(actions))

    def _run_action(self, account: str, region: str, alarm: Any, arn: str, old: str, now: float) -> None:
        from mlpipe.local.notify import ActionFailed, alarm_message, publish

        subject, message = alarm_message(account, region, alarm, old, now)
        data: dict[str, Any] = {"actionState": "Succeeded", "stateUpdateTimestamp": int(now * 1000)}
        try:
            if ":sns:" not in arn:
                raise ActionFailed("mlpipe's embedded AWS runs SNS actions only")  # EC2/Auto Scaling/SSM
            message_id, mails = publish(self.ctx, arn, subject, message)
            data.update(notificationResource=arn, publishedMessage=message, messageId=message_id, emails=mails)
            summary = f"Successfully executed action {arn}"
        except Exception as exc:  # ActionFailed as CloudWatch fails; anything else recorded the same way
            data.update(actionState="Failed", error=str(exc))
            summary = f'Failed to execute action {arn}. Received error: "{exc}"'
        self.history.add(account, region, alarm.name, "Action", summary, data, now)


def _actions_for(alarm: Any, state: str) -> list[str]:
    table = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions, "INSUFFICIENT_DATA": alarm.insufficient_data_actions}
    return [str(a) for a in table.get(state) or []]


def _reason_data(decision: Decision, spec: AlarmSpec, now: float) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return {
        "version": "1.0",
        "queryDate": stamp,
        "statistic": spec.statistic,
        "period": spec.period,
        "recentDatapoints": [v for v in decision.datapoints if v is not None],
        "threshold": spec.threshold,
        "evaluatedDatapoints": [
            {"timestamp": datetime.fromtimestamp(s, UTC).isoformat(), "value": v}
            for s, v in zip(decision.period_starts, decision.datapoints, strict=True)
            if v is not None
        ],
    }
