"""`tail logs` and `send --wait` keep the order CloudWatch Logs returns events in: lines of one
millisecond (a function's output, END, REPORT) are never re-sorted on their opaque event ids."""

from __future__ import annotations

import time

import pytest

from mlpipe.aws.clients import Clients
from mlpipe.ops.logevents import LogPoller


def test_events_of_one_millisecond_keep_the_service_order(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.logs.models import LogEvent

    # The embedded AWS numbers events from a global counter: start it where "10" < "9" as strings.
    monkeypatch.setattr(LogEvent, "_event_id", 8)
    logs = clients.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/order")
    logs.create_log_stream(logGroupName="/aws/lambda/order", logStreamName="s")
    lines = ['{"event": "poison"}', "END RequestId: r1", "REPORT RequestId: r1", "START RequestId: r2"]
    now_ms = int(time.time() * 1000)
    events = [{"timestamp": now_ms, "message": line} for line in lines]
    logs.put_log_events(logGroupName="/aws/lambda/order", logStreamName="s", logEvents=events)

    polled = LogPoller(clients, "/aws/lambda/order", now_ms - 60_000).poll()

    assert [e.event_id for e in polled] == ["8", "9", "10", "11"]
    assert [e.message for e in polled] == lines
