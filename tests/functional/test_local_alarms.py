"""Alarms evaluate and notify on the embedded AWS, as on AWS: the must-show of issue 14 item 3.

Two malformed messages end in the DLQ; within the alarm's period the DLQ alarm is in ALARM, its
SNS action has run, the subscribed address got the mail; `status` and `tail alarms` show it.
No sleeps: each step waits on its condition, with a deadline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from local_helpers import FEATURES, client, create_function, handler_zip, queue_depth, wait_for
from test_local_persistence import own_cache, start  # noqa: F401  (own_cache is a fixture)

from conftest import free_port
from mlpipe.aws.clients import Clients
from mlpipe.cli.app import run
from mlpipe.config import Config
from mlpipe.local import control
from mlpipe.ops import model_store
from mlpipe.ops.alarms_view import tail_alarms
from mlpipe.ops.deploy import deploy
from mlpipe.ops.send import SendInput, send
from mlpipe.ops.status import status
from mlpipe.reporter import ListReporter

PERIOD_S = 10
RAW = {
    "app": "alarmed",
    "target": "local",
    "function": {"timeout_s": 5},
    "queue": {"visibility_timeout_s": 30},
    "alarm": {"period_s": PERIOD_S, "notify": ["ops@example.com"]},
}


def _state(clients: Clients, alarm: str) -> str:
    (found,) = clients.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    return str(found["StateValue"])


def _state_updated_at(clients: Clients, alarm: str) -> float:
    (found,) = clients.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    return float(found["StateUpdatedTimestamp"].timestamp())


def _sent_at(clients: Clients, queue_url: str) -> list[float]:
    """When each message in the queue was sent to it (epoch s), read without hiding any."""
    sqs = clients.client("sqs")
    reply = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["SentTimestamp"]
    )
    return [int(m["Attributes"]["SentTimestamp"]) / 1000 for m in reply.get("Messages", [])]


def test_two_malformed_messages_raise_the_dlq_alarm_within_its_period_and_notify(
    clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = Config.model_validate(RAW)
    names = clients.names(config.app, config.stage)
    clients.client("s3").create_bucket(Bucket=names.model_bucket)
    model_store.write_current(clients, names, {"version": "v1", "feature_count": FEATURES})
    deploy(config, clients, ListReporter())
    # A new alarm starts INSUFFICIENT_DATA; the evaluator finds the empty DLQ and says OK.
    wait_for(lambda: _state(clients, names.dlq_alarm) == "OK", 30, "the DLQ alarm OK")

    for _ in range(2):
        send(config, clients, ListReporter(), SendInput(payload="1,2,3", validate=False))
    dlq_url = clients.client("sqs").get_queue_url(QueueName=names.dlq)["QueueUrl"]
    wait_for(lambda: queue_depth(clients.client("sqs"), dlq_url) == 2, 30, "two messages in the DLQ")
    wait_for(lambda: _state(clients, names.dlq_alarm) == "ALARM", 2 * PERIOD_S, "the DLQ alarm in ALARM")
    # Within its period by the server's clocks, not the test's polling around them: from the first
    # message entering the DLQ (the threshold is 1) to the alarm's change of state.
    arrived = _sent_at(clients, dlq_url)
    assert len(arrived) == 2
    assert 0 <= _state_updated_at(clients, names.dlq_alarm) - min(arrived) < PERIOD_S

    subject = f'ALARM: "{names.dlq_alarm}" in US East (N. Virginia)'
    seen = wait_for(lambda: (r := tail_alarms(config, clients, 0)).mails and r, 10, "the e-mail")
    assert [(m.destination, m.subject) for m in seen.mails if m.subject.startswith("ALARM")] == [
        ("ops@example.com", subject)
    ]
    actions = [h for h in seen.history if h.alarm == names.dlq_alarm and h.kind == "Action"]
    assert f"Successfully executed action {names.topic_arn(names.alarm_topic)}" in [h.summary for h in actions]
    states = {a.name: a.state for a in seen.alarms}
    assert states[names.dlq_alarm] == "ALARM" and states[names.errors_alarm] in ("OK", "INSUFFICIENT_DATA")
    assert status(config, clients).alarms[names.dlq_alarm] == "ALARM"

    # The same through the CLI.
    (tmp_path / "mlpipe.yaml").write_text(json.dumps(RAW))
    monkeypatch.chdir(tmp_path)
    assert run(["--endpoint-url", endpoint_url, "status"]) == 0
    assert f"{names.dlq_alarm} ALARM" in capsys.readouterr().out
    assert run(["--endpoint-url", endpoint_url, "tail", "alarms"]) == 0
    out = capsys.readouterr().out
    assert (
        f"to ops@example.com: {subject}" in out
        and f"{names.dlq_alarm}  StateUpdate: Alarm updated from OK to ALARM" in out
    )


def test_failed_invocations_raise_the_errors_alarm(endpoint_url: str) -> None:
    """AWS/Lambda Errors comes from the mapping runner: a function that raises counts one error per batch."""
    sqs, cw = client(endpoint_url, "sqs"), client(endpoint_url, "cloudwatch")
    url = sqs.create_queue(QueueName="erring", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_function(
        endpoint_url, "erring-fn", {}, 3, handler_zip("def handler(event, context):\n    raise ValueError('no')\n")
    )
    cw.put_metric_alarm(
        AlarmName="erring-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "erring-fn"}],
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    client(endpoint_url, "lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="erring-fn")
    sqs.send_message(QueueUrl=url, MessageBody="x")

    wait_for(
        lambda: cw.describe_alarms(AlarmNames=["erring-errors"])["MetricAlarms"][0]["StateValue"] == "ALARM",
        30,
        "ALARM",
    )
    stats = cw.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "erring-fn"}],
        StartTime=time.time() - 300,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(d["Sum"] for d in stats) >= 1


def test_an_alarm_cannot_publish_to_a_topic_encrypted_with_the_aws_managed_key(endpoint_url: str) -> None:
    """On AWS, CloudWatch may not use alias/aws/sns: the state changes, the notification fails, and
    only the alarm's history says so."""
    sns, cw, sqs = client(endpoint_url, "sns"), client(endpoint_url, "cloudwatch"), client(endpoint_url, "sqs")
    topic = sns.create_topic(Name="sealed", Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]
    sqs.create_queue(QueueName="sealed-q")
    cw.put_metric_alarm(
        AlarmName="sealed-alarm",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "sealed-q"}],
        Statistic="Maximum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
    )

    history = wait_for(
        lambda: [
            h
            for h in cw.describe_alarm_history(AlarmName="sealed-alarm", HistoryItemType="Action")["AlarmHistoryItems"]
        ],
        30,
        "the action's history item",
    )
    assert history[0]["HistorySummary"] == (
        f'Failed to execute action {topic}. Received error: "CloudWatch Alarms does not have authorization to '
        'access the SNS topic encryption key."'
    )
    assert cw.describe_alarms(AlarmNames=["sealed-alarm"])["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_an_alarm_on_a_custom_metric_put_through_the_api_is_evaluated(endpoint_url: str) -> None:
    cw = client(endpoint_url, "cloudwatch")
    dims = [{"Name": "Shop", "Value": "north"}]
    cw.put_metric_alarm(
        AlarmName="orders-low",
        Namespace="Shop",
        MetricName="Orders",
        Dimensions=dims,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="LessThanThreshold",
    )
    assert cw.describe_alarms(AlarmNames=["orders-low"])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"

    cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Orders", "Dimensions": dims, "Value": 3}])

    wait_for(
        lambda: cw.describe_alarms(AlarmNames=["orders-low"])["MetricAlarms"][0]["StateValue"] == "ALARM", 30, "ALARM"
    )
    items = cw.describe_alarm_history(AlarmName="orders-low", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert items[0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"


def _alarm_state(cw: Any, name: str) -> str:
    return str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


@pytest.mark.usefixtures("own_cache")  # a cache (snapshot, keys) of this test's own
def test_alarm_state_and_history_survive_a_restart() -> None:
    port = free_port()
    url = start(port)
    sqs, cw = client(url, "sqs"), client(url, "cloudwatch")
    queue = sqs.create_queue(QueueName="kept-dlq")["QueueUrl"]
    cw.put_metric_alarm(
        AlarmName="kept-alarm",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "kept-dlq"}],
        Statistic="Maximum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    sqs.send_message(QueueUrl=queue, MessageBody="dead")
    wait_for(lambda: _alarm_state(cw, "kept-alarm") == "ALARM", 30, "ALARM")

    control.stop()
    start(port)

    assert _alarm_state(cw, "kept-alarm") == "ALARM"
    items = cw.describe_alarm_history(AlarmName="kept-alarm", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert items and items[0]["HistorySummary"].endswith("to ALARM")
