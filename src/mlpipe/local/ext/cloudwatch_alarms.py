"""CloudWatch alarms as AWS runs them (see mlpipe.local.alarms for the evaluator).

- The evaluator runs in the background from start-up; `GET /_mlpipe/status` shows its counters.
- A new alarm starts in INSUFFICIENT_DATA (moto: OK); PutMetricAlarm on an existing alarm keeps
  its state (moto replaces the alarm and resets it to OK). Both are recorded as ConfigurationUpdate.
- DescribeAlarmHistory (unimplemented in moto) answers from the evaluator's history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlpipe.local.alarms import AlarmEvaluator, AlarmHistory
from mlpipe.local.registry import (
    AwsApiError,
    Context,
    after,
    before,
    on_reset,
    on_shutdown,
    on_startup,
    on_status,
    persistent,
)
from mlpipe.local.registry import override as override_operation

KEY = "alarm_evaluator"
HISTORY_KEY = "alarm_history"
persistent(HISTORY_KEY)  # the history survives `local down` / `local up`, as the alarms' states do


def _history(ctx: Context) -> AlarmHistory:
    history: AlarmHistory = ctx.state.setdefault(HISTORY_KEY, AlarmHistory())
    return history


@on_startup
def start(ctx: Context) -> None:
    evaluator = AlarmEvaluator(ctx)
    ctx.state[KEY] = evaluator
    evaluator.start()


@on_reset
def reset(ctx: Context) -> None:
    from mlpipe.local import metrics

    _history(ctx).clear()
    metrics.forget()


@on_shutdown
def stop(ctx: Context) -> None:
    evaluator = ctx.state.pop(KEY, None)
    if evaluator is not None:
        evaluator.stop()


@on_status
def status(ctx: Context) -> dict[str, Any]:
    evaluator = ctx.state.get(KEY)
    return {"alarm_evaluator": {"tick_s": evaluator.tick_s, "evaluations": evaluator.evaluations} if evaluator else {}}


@after("sqs", "SendMessage")
@after("sqs", "SendMessageBatch")
@after("cloudwatch", "PutMetricData")
def nudge(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    evaluator = ctx.state.get(KEY)
    if evaluator is not None:
        evaluator.nudge()


def _backend(ctx: Context) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[ctx.account_id][ctx.region]


@before("cloudwatch", "PutMetricAlarm")
def remember_state(ctx: Context, params: dict[str, Any]) -> None:
    existing = _backend(ctx).alarms.get(params.get("AlarmName"))
    if existing is not None:
        ctx.request_state["alarm_state"] = (
            existing.state_value,
            existing.state_reason,
            existing.state_reason_data,
            existing.state_updated_timestamp,
        )


@after("cloudwatch", "PutMetricAlarm")
def initial_or_kept_state(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    name = params["AlarmName"]
    alarm = _backend(ctx).alarms.get(name)
    if alarm is None:
        return
    kept = ctx.request_state.get("alarm_state")
    if kept is None:
        alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"
    else:
        alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp = kept
    verb = "created" if kept is None else "updated"
    now = datetime.now(UTC).timestamp()
    data = {"type": "Create" if kept is None else "Update", "version": "1.0"}
    _history(ctx).add(ctx.account_id, ctx.region, name, "ConfigurationUpdate", f'Alarm "{name}" {verb}', data, now)


@override_operation("cloudwatch", "DescribeAlarmHistory")
def describe_alarm_history(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    items = _history(ctx).items(ctx.account_id, ctx.region, params.get("AlarmName"))
    kind = params.get("HistoryItemType")
    if kind:
        items = [i for i in items if i["HistoryItemType"] == kind]
    start, end = _epoch(params.get("StartDate")), _epoch(params.get("EndDate"))
    items = [i for i in items if (start is None or i["Timestamp"] >= start) and (end is None or i["Timestamp"] <= end)]
    items.sort(
        key=lambda i: i["Timestamp"], reverse=params.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    )
    limit = int(params.get("MaxRecords") or 100)
    if not 1 <= limit <= 100:
        raise AwsApiError("InvalidParameterValue", f"The value {limit} for parameter MaxRecords is invalid.", 400)
    offset = int(params.get("NextToken") or 0)
    page = items[offset : offset + limit]
    out: dict[str, Any] = {"AlarmHistoryItems": page}
    if offset + limit < len(items):
        out["NextToken"] = str(offset + limit)
    return out


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
