"""Planner for the stage's CloudWatch alarms, each notifying the alarm topic (plan/sns.py).

- DLQ not empty: AWS/SQS ApproximateNumberOfMessagesVisible (Maximum) >= alarm.dlq_threshold.
- Function errors: AWS/Lambda Errors (Sum) >= alarm.errors_threshold.
- Oldest trigger message: AWS/SQS ApproximateAgeOfOldestMessage (Maximum) >= alarm.max_message_age_s.

Every alarm has AlarmActions and OKActions to the topic (a recovery is news too), one evaluation
period of alarm.period_s, and treats missing data as not breaching (an idle queue or function
publishes nothing).

`observe` does every read and returns a plain snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.plan.common import require_owned, tag_dict, tag_list
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import flat, read
from mlpipe.plan.sns import alarm_topic_arn

MISSING = ("ResourceNotFound", "ResourceNotFoundException")


def _alarm(
    config: Config, names: Names, name: str, what: str, metric: tuple[str, str, str, str], threshold: float
) -> dict[str, Any]:
    namespace, metric_name, dimension, value = metric
    topic = alarm_topic_arn(config, names)
    return {
        "AlarmName": name,
        "AlarmDescription": f"mlpipe {names.app}/{names.stage}: {what}",
        "Namespace": namespace,
        "MetricName": metric_name,
        "Dimensions": [{"Name": dimension, "Value": value}],
        "Statistic": "Sum" if metric_name == "Errors" else "Maximum",
        "Period": config.alarm.period_s,
        "EvaluationPeriods": 1,
        "Threshold": float(threshold),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
        "AlarmActions": [topic],
        "OKActions": [topic],
    }


def alarm_specs(config: Config, names: Names) -> list[dict[str, Any]]:
    a = config.alarm
    return [
        _alarm(
            config,
            names,
            names.dlq_alarm,
            f"messages in the dead-letter queue {names.dlq}",
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.dlq),
            a.dlq_threshold,
        ),
        _alarm(
            config,
            names,
            names.errors_alarm,
            f"invocations of {names.function} that failed",
            ("AWS/Lambda", "Errors", "FunctionName", names.function),
            a.errors_threshold,
        ),
        _alarm(
            config,
            names,
            names.age_alarm,
            f"a message waiting in {names.trigger_queue} longer than {a.max_message_age_s} s",
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", names.trigger_queue),
            a.max_message_age_s,
        ),
    ]


def find_alarm(clients: Clients, name: str) -> dict[str, Any] | None:
    cw = clients.client("cloudwatch")
    alarms = (read(clients, lambda: cw.describe_alarms(AlarmNames=[name])) or {}).get("MetricAlarms", [])
    return next((a for a in alarms if a.get("AlarmName") == name), None)


def _tags(clients: Clients, alarm: dict[str, Any]) -> dict[str, str]:
    cw = clients.client("cloudwatch")
    response = read(clients, lambda: cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]), MISSING) or {}
    return tag_dict(response.get("Tags"))


@dataclass(frozen=True)
class Alarm:
    """What CloudWatch reports about one alarm (DescribeAlarms' MetricAlarm) and its tags."""

    definition: Mapping[str, Any]
    tags: Mapping[str, str]


def observe(clients: Clients, name: str) -> Alarm | None:
    alarm = find_alarm(clients, name)
    return None if alarm is None else Alarm(alarm, _tags(clients, alarm))


def plan_alarms(config: Config, clients: Clients, names: Names) -> list[Change]:
    if not config.alarm.enabled:
        return [plan_alarm_deletion(name, clients, names) for name in names.alarms]
    return [plan_alarm(desired, clients, names) for desired in alarm_specs(config, names)]


def diff(desired: Mapping[str, Any], observed: Alarm | None, names: Names) -> Change:
    name = desired["AlarmName"]
    summary = f"{desired['MetricName']} >= {desired['Threshold']:g} per {desired['Period']} s"
    if observed is None:
        put = Call("cloudwatch", "put_metric_alarm", {**desired, "Tags": tag_list(names.tags)})
        return Change("create", "cloudwatch-alarm", name, summary, (put,))
    require_owned(names, "CloudWatch alarm", name, observed.tags)
    changed = [k for k, v in desired.items() if flat(observed.definition.get(k)) != flat(v)]
    if not changed:
        return Change("noop", "cloudwatch-alarm", name)
    put = Call("cloudwatch", "put_metric_alarm", dict(desired))  # replaces the whole definition
    return Change("update", "cloudwatch-alarm", name, ", ".join(changed) + " changed", (put,))


def plan_alarm(desired: dict[str, Any], clients: Clients, names: Names) -> Change:
    return diff(desired, observe(clients, desired["AlarmName"]), names)


def diff_deletion(name: str, observed: Alarm | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "cloudwatch-alarm", name, "absent")
    require_owned(names, "CloudWatch alarm", name, observed.tags)
    return Change(
        "delete", "cloudwatch-alarm", name, steps=(Call("cloudwatch", "delete_alarms", {"AlarmNames": [name]}),)
    )


def plan_alarm_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(name, observe(clients, name), names)
