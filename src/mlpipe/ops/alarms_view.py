"""`mlpipe tail alarms`: the stage's alarms, what happened to them, and the notifications sent.

The same calls on AWS and on the embedded AWS: DescribeAlarms for the states, DescribeAlarmHistory
for state changes and actions ("Successfully executed action arn:aws:sns:..." is the notification
CloudWatch published), and the mails delivered to the topic's `sns/<region>/<account>/<topic>`
log group, which the embedded AWS writes (on AWS that group holds delivery-status logs only if
you turned them on, and none for e-mail: the mails are in the subscribers' inboxes).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import topic_log_group
from mlpipe.plan.reads import read
from mlpipe.plan.sns import alarm_topic_arn

MISSING = ("ResourceNotFoundException", "ResourceNotFound")


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str
    reason: str
    updated: str


@dataclass(frozen=True)
class HistoryItem:
    alarm: str
    timestamp: str
    kind: str  # StateUpdate | Action | ConfigurationUpdate
    summary: str


@dataclass(frozen=True)
class Mail:
    timestamp: str
    destination: str
    subject: str


@dataclass
class AlarmsResult:
    topic_arn: str
    alarms: list[AlarmState] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)  # newest first
    mails: list[Mail] = field(default_factory=list)  # newest first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def tail_alarms(config: Config, clients: Clients, since_ms: int, limit: int = 20) -> AlarmsResult:
    names = clients.names(config.app, config.stage)
    cw = clients.client("cloudwatch")
    result = AlarmsResult(alarm_topic_arn(config, names))
    found = read(clients, lambda: cw.describe_alarms(AlarmNames=list(names.alarms))) or {}
    for alarm in found.get("MetricAlarms", []):
        updated = _iso(alarm.get("StateUpdatedTimestamp"))
        result.alarms.append(AlarmState(alarm["AlarmName"], alarm["StateValue"], alarm.get("StateReason", ""), updated))
    start = datetime.fromtimestamp(since_ms / 1000, tz=UTC)
    for alarm in result.alarms:
        history = read(
            clients,
            lambda a=alarm: cw.describe_alarm_history(AlarmName=a.name, StartDate=start, MaxRecords=limit),
            MISSING,
        )
        for item in (history or {}).get("AlarmHistoryItems", []):
            when = _iso(item.get("Timestamp"))
            result.history.append(HistoryItem(alarm.name, when, item["HistoryItemType"], item["HistorySummary"]))
    result.history.sort(key=lambda h: h.timestamp, reverse=True)
    result.mails = _mails(clients, result.topic_arn, since_ms, limit)
    return result


def _mails(clients: Clients, topic_arn: str, since_ms: int, limit: int) -> list[Mail]:
    logs = clients.client("logs")
    group = topic_log_group(topic_arn)
    response = read(clients, lambda: logs.filter_log_events(logGroupName=group, startTime=since_ms), MISSING) or {}
    mails = []
    for event in response.get("events", []):
        try:
            record = json.loads(event["message"])
            destination = record["delivery"]["destination"]
            subject = record["notification"].get("subject") or ""
        except (ValueError, KeyError, TypeError):
            continue  # a delivery-status record of another protocol: not a mail
        when = datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        mails.append(Mail(when, destination, subject))
    return list(reversed(mails))[:limit]
