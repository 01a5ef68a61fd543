"""`mlpipe redrive --timeout` on a fake clock: it stops waiting at its deadline (never sleeping past
it) and reports the task still running; the task itself goes on in SQS."""

from __future__ import annotations

import json

import pytest
from send_helpers import deployment, queue_url

from mlpipe.aws.clients import Clients
from mlpipe.ops.redrive import redrive
from mlpipe.reporter import ListReporter


def test_redrive_stops_waiting_at_its_timeout_and_reports_the_task_running(clients: Clients) -> None:
    config, names = deployment(clients, feature_count=None)
    sqs = clients.client("sqs")
    url = queue_url(clients, names.dlq)
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"payload": f"{i},0,0", "id": f"r-{i}"}))
    now, sleeps = [0.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    result = redrive(config, clients, ListReporter(), rate=1, timeout_s=3.0, sleep=sleep, clock=lambda: now[0])
    try:
        assert result.status == "RUNNING" and result.moved < 5  # 5 messages at 1/s take seconds of real time
        assert sum(sleeps) == pytest.approx(3.0)  # no sleep past the deadline; the last look is at it
        assert sleeps[:3] == pytest.approx([0.2, 0.3, 0.45]) and max(sleeps) <= 2.0
    finally:
        sqs.cancel_message_move_task(TaskHandle=str(result.task_handle))
