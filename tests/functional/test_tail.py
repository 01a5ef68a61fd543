"""`mlpipe tail logs` and `mlpipe tail dlq` against the embedded AWS."""

from __future__ import annotations

import json
import time

import pytest
from local_helpers import create_function
from send_helpers import deployment, queue_url, write_log_lines
from virtual_time import VirtualTime

from mlpipe.errors import NotDeployedError
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


def _handler_zip() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return out.getvalue()


def test_missing_log_group_is_a_warning_not_a_crash(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    # No function either (never deployed, or destroyed): "not deployed", exit 7, as `tail dlq` says.
    with pytest.raises(NotDeployedError, match=f"stage 'dev' is not deployed .*no function {names.function}"):
        tail_logs(config, clients, ListReporter(), lambda e: None, since_ms=0)
    create_function(endpoint_url, names.function, {}, 5, _handler_zip(), logs=False)  # it has not run yet
    reporter = ListReporter()
    result = tail_logs(config, clients, reporter, lambda e: None, since_ms=0)
    assert result.events == 0
    assert reporter.messages("warn") == [f"log group {names.log_group} does not exist yet: the function has not run"]


def test_follow_shows_a_new_line_within_two_seconds_even_before_the_group_exists(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    # The test drives the follow loop's clock: the lines are written (through the embedded AWS) at
    # these moments of it, from within the loop's own sleeps.
    virtual = VirtualTime()
    written: dict[str, float] = {}

    def write(at: float, line: dict[str, object] | str) -> None:
        def action() -> None:
            written[str(line)] = at
            write_log_lines(clients, names.log_group, [line])  # the first one creates the group

        virtual.at(at, action)

    write(0.8, "START RequestId: 1")
    write(1.5, _prediction("c1", 24.5))
    arrivals: list[tuple[float, LogEvent]] = []
    reporter = ListReporter()
    result = tail_logs(
        config,
        clients,
        reporter,
        lambda e: arrivals.append((virtual.now, e)),
        since_ms=int(time.time() * 1000) - 1000,
        follow=True,
        max_seconds=4,
        sleep=virtual.sleep,
        clock=virtual.clock,
    )
    assert virtual.pending == 0 and len(written) == 2  # both lines were written while it followed
    assert virtual.now == pytest.approx(4)  # it followed for max_seconds, no less, no more
    assert result.mode == "poll"  # the embedded AWS has no StartLiveTail endpoint: polling took over
    assert reporter.messages("step") == [f"waiting for log group {names.log_group} (the function has not run yet)"]
    # In the order written; each line once, though every sweep looks back over it again.
    assert [e.message for _, e in arrivals] == ["START RequestId: 1", json.dumps(_prediction("c1", 24.5))]
    assert result.events == 2
    latency = arrivals[1][0] - written[str(_prediction("c1", 24.5))]
    assert latency < 2.0, f"prediction shown {latency:.2f}s after it was written"
    assert max(virtual.sleeps) <= 1.0  # while idle it still looks once a second


def test_follow_survives_throttling(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    from send_helpers import set_fault

    from mlpipe.local.control import admin_request

    config, names = deployment(clients)
    write_log_lines(clients, names.log_group, [_prediction("c2", 1.0)])
    # Seed 115 lets the first FilterLogEvents request through, throttles the next 3, then none:
    # botocore tries a request 3 times, so the second sweep (at 0.25 s) fails as a whole.
    set_fault(endpoint_url, {"service": "logs", "operation": "FilterLogEvents", "rate": 0.5, "seed": 115})
    virtual = VirtualTime()
    virtual.at(0.5, lambda: write_log_lines(clients, names.log_group, [_prediction("c3", 2.0)]))
    seen: list[LogEvent] = []
    result = tail_logs(
        config,
        clients,
        ListReporter(),
        seen.append,
        since_ms=0,
        follow=True,
        max_seconds=2,
        sleep=virtual.sleep,
        clock=virtual.clock,
    )
    fault = admin_request(endpoint_url, "GET", "/_mlpipe/faults")[1]["faults"][0]
    assert fault["injected"] == 3  # the throttling really happened
    # Both lines, in order, once each: the second was written during the backoff after the throttled sweep.
    assert [e.record() for e in seen] == [_prediction("c2", 1.0), _prediction("c3", 2.0)]
    assert result.requests >= 4  # it kept polling through the throttled sweep and after
    assert virtual.sleeps[1] > 1.5 * virtual.sleeps[0]  # backed off after the throttle (idle: exactly 1.5x)
    assert virtual.now == pytest.approx(2)


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
