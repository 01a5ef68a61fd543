"""Planner for the CloudWatch alarm raised when the dead-letter queue holds messages."""

from __future__ import annotations

from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.plan.common import require_owned, tag_dict, tag_list
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import flat, read

MISSING = ("ResourceNotFound", "ResourceNotFoundException")


def alarm_settings(config: Config, names: Names) -> dict[str, Any]:
    return {
        "AlarmName": names.dlq_alarm,
        "AlarmDescription": f"mlpipe {names.app}/{names.stage}: messages in the dead-letter queue {names.dlq}",
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": names.dlq}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": float(config.alarm.dlq_threshold),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }


def find_alarm(clients: Clients, name: str) -> dict[str, Any] | None:
    cw = clients.client("cloudwatch")
    alarms = (read(clients, lambda: cw.describe_alarms(AlarmNames=[name])) or {}).get("MetricAlarms", [])
    return next((a for a in alarms if a.get("AlarmName") == name), None)


def _tags(clients: Clients, alarm: dict[str, Any]) -> dict[str, str]:
    cw = clients.client("cloudwatch")
    response = read(clients, lambda: cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]), MISSING) or {}
    return tag_dict(response.get("Tags"))


def plan_alarm(config: Config, clients: Clients, names: Names) -> Change:
    if not config.alarm.enabled:
        return plan_alarm_deletion(names.dlq_alarm, clients, names)
    desired = alarm_settings(config, names)
    alarm = find_alarm(clients, names.dlq_alarm)
    if alarm is None:
        put = Call("cloudwatch", "put_metric_alarm", {**desired, "Tags": tag_list(names.tags)})
        return Change(
            "create", "cloudwatch-alarm", names.dlq_alarm, f"DLQ depth >= {config.alarm.dlq_threshold}", (put,)
        )
    require_owned(names, "CloudWatch alarm", names.dlq_alarm, _tags(clients, alarm))
    changed = [k for k, v in desired.items() if flat(alarm.get(k)) != flat(v)]
    if not changed:
        return Change("noop", "cloudwatch-alarm", names.dlq_alarm)
    put = Call("cloudwatch", "put_metric_alarm", desired)  # replaces the whole definition
    return Change("update", "cloudwatch-alarm", names.dlq_alarm, ", ".join(changed) + " changed", (put,))


def plan_alarm_deletion(name: str, clients: Clients, names: Names) -> Change:
    alarm = find_alarm(clients, name)
    if alarm is None:
        return Change("noop", "cloudwatch-alarm", name, "absent")
    require_owned(names, "CloudWatch alarm", name, _tags(clients, alarm))
    return Change(
        "delete", "cloudwatch-alarm", name, steps=(Call("cloudwatch", "delete_alarms", {"AlarmNames": [name]}),)
    )
