"""`mlpipe tail logs` and `mlpipe tail dlq` against the embedded AWS."""

from __future__ import annotations

import threading
import time

import pytest
from send_helpers import deployment, queue_url, write_log_lines

from mlpipe.ops.logevents import LogEvent
from mlpipe.ops.tail import tail_dlq, tail_logs
from mlpipe.reporter import ListReporter


def _prediction(cid: str, value: float) -> dict[str, object]:
    return {
        "event": "prediction",
        "message_id": f"m-{cid}",
        "correlation_id": cid,
        "rows": 1,
        "predictions": [value],
        "endpoint": "shop-dev",
        "latency_ms": 7.5,
    }


def test_history_since_and_filter_narrow_the_output(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    logs = clients.client("logs")
    logs.create_log_group(logGroupName=names.log_group)
    logs.create_log_stream(logGroupName=names.log_group, logStreamName="s")
    now = int(time.time() * 1000)
    old = now - 2 * 3600 * 1000
    logs.put_log_events(
        logGroupName=names.log_group,
        logStreamName="s",
        logEvents=[
            {"timestamp": old, "message": "START RequestId: old"},
            {"timestamp": now - 1000, "message": "START RequestId: new"},
            {"timestamp": now, "message": '{"event": "poison", "message_id": "m1", "reason": "bad row"}'},
        ],
    )
    seen: list[LogEvent] = []
    result = tail_logs(config, clients, ListReporter(), seen.append, since_ms=now - 3600 * 1000)
    assert [e.message.split(":")[-1].strip() for e in seen[:1]] == ["new"]
    assert len(seen) == result.events == 2
    everything: list[LogEvent] = []
    tail_logs(config, clients, ListReporter(), everything.append, since_ms=old - 1)
    assert len(everything) == 3
    filtered: list[LogEvent] = []
    tail_logs(config, clients, ListReporter(), filtered.append, since_ms=old - 1, pattern='"poison"')
    assert [e.record() for e in filtered] == [{"event": "poison", "message_id": "m1", "reason": "bad row"}]


def test_missing_log_group_is_a_warning_not_a_crash(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    reporter = ListReporter()
    result = tail_logs(config, clients, reporter, lambda e: None, since_ms=0)
    assert result.events == 0
    assert reporter.messages("warn") == [f"log group {names.log_group} does not exist yet: the function has not run"]


def test_follow_shows_a_new_line_within_two_seconds_even_before_the_group_exists(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    arrivals: list[tuple[float, LogEvent]] = []
    written: list[float] = []

    def writer() -> None:
        time.sleep(0.8)
        write_log_lines(clients, names.log_group, ["START RequestId: 1"])  # creates the group
        time.sleep(0.7)
        written.append(time.monotonic())
        write_log_lines(clients, names.log_group, [_prediction("c1", 24.5)])

    thread = threading.Thread(target=writer)
    thread.start()
    started = time.monotonic()
    result = tail_logs(
        config,
        clients,
        ListReporter(),
        lambda e: arrivals.append((time.monotonic(), e)),
        since_ms=int(time.time() * 1000) - 1000,
        follow=True,
        max_seconds=4,
    )
    thread.join()
    assert 3.9 < time.monotonic() - started < 6
    assert result.mode == "poll"  # the embedded AWS has no StartLiveTail endpoint: polling took over
    assert [e.record() for _, e in arrivals][1] == _prediction("c1", 24.5)
    assert len(arrivals) == 2  # each line once, though every sweep looks back over it again
    latency = arrivals[1][0] - written[0]
    assert latency < 2.0, f"prediction shown {latency:.2f}s after it was written"


def test_follow_survives_throttling(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    from send_helpers import set_fault

    config, names = deployment(clients)
    write_log_lines(clients, names.log_group, [_prediction("c2", 1.0)])
    set_fault(endpoint_url, {"service": "logs", "operation": "FilterLogEvents", "rate": 0.5, "seed": 2})
    seen: list[LogEvent] = []
    result = tail_logs(config, clients, ListReporter(), seen.append, since_ms=0, follow=True, max_seconds=2)
    assert [e.record() for e in seen] == [_prediction("c2", 1.0)]
    assert result.requests >= 3


def test_dlq_lists_reasons_without_consuming(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    sqs = clients.client("sqs")
    dlq = queue_url(clients, names.dlq)
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody='{"payload": "1,2", "id": "r-1"}',
        MessageAttributes={
            "mlpipe-reason": {"DataType": "String", "StringValue": "2 features, the model expects 3"},
            "mlpipe-correlation-id": {"DataType": "String", "StringValue": "r-1"},
            "mlpipe-source-message-id": {"DataType": "String", "StringValue": "orig-1"},
        },
    )
    sqs.send_message(QueueUrl=dlq, MessageBody="1,2,3")
    result = tail_dlq(config, clients, ListReporter(), limit=10)
    assert result.approximate_depth == 2
    assert all(m.receive_count == 1 and m.sent_ms > time.time() * 1000 - 60_000 for m in result.messages)
    reasons = {m.body: (m.reason, m.correlation_id, m.source_message_id) for m in result.messages}
    assert reasons == {
        '{"payload": "1,2", "id": "r-1"}': ("2 features, the model expects 3", "r-1", "orig-1"),
        "1,2,3": ("exceeded maxReceiveCount", None, None),
    }
    visible = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "2"  # still there, visible at once
    assert len(tail_dlq(config, clients, ListReporter(), limit=1).messages) == 1


def test_dlq_of_a_missing_deployment_is_not_deployed(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.config import Config
    from mlpipe.errors import NotDeployedError

    with pytest.raises(NotDeployedError, match="no queue ghost-dev-dlq"):
        tail_dlq(Config.model_validate({"app": "ghost"}), clients, ListReporter())


def test_json_filter_patterns_work_on_the_embedded_aws(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.errors import AwsError

    config, names = deployment(clients)
    poison = {"event": "poison", "message_id": "m9", "correlation_id": "c9", "reason": "not numbers"}
    write_log_lines(clients, names.log_group, ["START RequestId: 1", _prediction("c1", 3.0), poison])
    seen: list[LogEvent] = []
    tail_logs(config, clients, ListReporter(), seen.append, since_ms=0, pattern='{ $.event = "poison" }')
    assert [e.record() for e in seen] == [poison]
    seen.clear()
    tail_logs(config, clients, ListReporter(), seen.append, since_ms=0, pattern="{ $.latency_ms < 10 }")
    assert [e.record() for e in seen] == [_prediction("c1", 3.0)]
    with pytest.raises(AwsError, match="Invalid filter pattern"):
        tail_logs(config, clients, ListReporter(), seen.append, since_ms=0, pattern="{ $.event = }")
