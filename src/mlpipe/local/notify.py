"""Alarm actions of the embedded AWS: the SNS notification CloudWatch publishes, and its delivery.

The message and subject are CloudWatch's (`ALARM: "name" in US East (N. Virginia)`, a JSON body
with NewStateValue, NewStateReason, Trigger...). It is published to the topic through moto's SNS
backend, so SQS/HTTP/Lambda subscriptions get it as moto delivers them. moto drops e-mail, so
e-mail and email-json subscriptions are delivered here into a local mailbox: the log group
`sns/<region>/<account>/<topic>` (the name AWS gives a topic's delivery-status logs), one event
per delivered mail, which `mlpipe tail alarms` shows.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from functools import cache
from typing import Any

from mlpipe.local.registry import Context
from mlpipe.names import topic_log_group

EMAIL_PROTOCOLS = ("email", "email-json")
# The key policy of SNS's AWS managed key does not let cloudwatch.amazonaws.com use it: on AWS an
# alarm's publish to a topic encrypted with it fails (and only the alarm history says so).
AWS_MANAGED_SNS_KEY = "alias/aws/sns"


class ActionFailed(Exception):
    pass


@cache
def region_description(region: str) -> str:
    import botocore.loaders

    for partition in botocore.loaders.create_loader().load_data("endpoints")["partitions"]:
        if region in partition["regions"]:
            return str(partition["regions"][region].get("description", region))
    return region


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def alarm_message(account: str, region: str, alarm: Any, old_state: str, now: float) -> tuple[str, str]:
    """(subject, message) as CloudWatch publishes them for a state change."""
    subject = f'{alarm.state_value}: "{alarm.name}" in {region_description(region)}'
    if len(subject) > 100:
        subject = subject[:97] + "..."
    body = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": _iso(alarm.configuration_updated_timestamp.timestamp()),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": _iso(now),
        "Region": region_description(region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": str(alarm.statistic or "").upper(),
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    return subject, json.dumps(body)


def publish(ctx: Context, topic_arn: str, subject: str, message: str) -> tuple[str, int]:
    """Publish to the topic; returns (message id, e-mails delivered). Raises ActionFailed as CloudWatch would fail."""
    from moto.sns.models import sns_backends

    _, _, _, region, account, _ = topic_arn.split(":", 5)
    backend = sns_backends[account][region]
    if topic_arn not in backend.topics:
        raise ActionFailed(f"Topic {topic_arn} does not exist")
    if str(backend.topics[topic_arn].kms_master_key_id or "").endswith(AWS_MANAGED_SNS_KEY):
        raise ActionFailed("CloudWatch Alarms does not have authorization to access the SNS topic encryption key.")
    message_id = backend.publish(message, arn=topic_arn, subject=subject)
    subscriptions, _ = backend.list_subscriptions_by_topic(topic_arn=topic_arn)
    mails = [s for s in subscriptions if s.protocol in EMAIL_PROTOCOLS]
    if mails:
        events = [
            {
                "timestamp": int(time.time() * 1000),
                "message": json.dumps(
                    {
                        "notification": {"messageId": message_id, "topicArn": topic_arn, "subject": subject},
                        "delivery": {"destination": s.endpoint, "protocol": s.protocol},
                        "status": "SUCCESS",
                        "message": message,
                    }
                ),
            }
            for s in mails
        ]
        _append(ctx, region, topic_log_group(topic_arn), events)
    return message_id, len(mails)


def _append(ctx: Context, region: str, group: str, events: list[dict[str, Any]]) -> None:
    logs = ctx.client("logs", region)
    stream = datetime.now(UTC).strftime("%Y/%m/%d") + "/email"
    for attempt in range(2):
        try:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
            return
        except logs.exceptions.ResourceNotFoundException:
            if attempt:
                raise
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=group)
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
