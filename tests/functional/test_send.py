"""`mlpipe send` against the embedded AWS: what lands on the queue, and what is refused up front."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import pytest
from send_helpers import (
    clear_faults,
    dead_letter_once,
    deployment,
    depth,
    drain,
    queue_url,
    receive_all,
    reported_lines,
    set_fault,
    write_log_lines,
)
from virtual_time import VirtualTime

from mlpipe.errors import DeliveryError, ForeignResourceError, NotDeployedError, UsageError
from mlpipe.local.control import admin_request
from mlpipe.ops.send import SendInput, send
from mlpipe.reporter import ListReporter


def _on(virtual: VirtualTime) -> dict[str, Any]:
    """`send`'s time: its retry backoff, --wait deadline and DLQ looks pass on the test's clock."""
    return {"sleep": virtual.sleep, "clock": virtual.clock}


def test_payload_becomes_one_contract_message(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    result = send(config, clients, ListReporter(), SendInput(payload="0.5, 1 ,2"))
    [message] = drain(clients, names.trigger_queue)
    body = json.loads(message["Body"])
    assert body["payload"] == "0.5,1,2"
    assert result.message_ids == {body["id"]: message["MessageId"]}
    assert (result.messages, result.rows, result.requests) == (1, 1, 1)


def test_file_with_header_sends_every_row_in_batches(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    text = "a,b,c\n" + "\n".join(f"{i},{i}.5,0" for i in range(95)) + "\n"
    reporter = ListReporter()
    result = send(config, clients, reporter, SendInput(text=text, source="rows.csv"))
    assert (result.rows, result.messages, result.header_line) == (95, 95, 1)
    assert result.requests == 10  # 10 entries per SendMessageBatch
    bodies = [json.loads(m["Body"]) for m in drain(clients, names.trigger_queue)]
    assert sorted(b["payload"] for b in bodies) == sorted(f"{i},{i}.5,0" for i in range(95))
    assert len({b["id"] for b in bodies}) == 95
    assert reporter.messages("progress")[-1] == "send 95/95"
    assert any("line 1 looks like a header" in m for m in reporter.messages("step"))


def test_rows_per_message(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    text = "\n".join(f"{i},1,2" for i in range(25))
    result = send(config, clients, ListReporter(), SendInput(text=text, source="f.csv", rows_per_message=10))
    assert (result.rows, result.messages) == (25, 3)
    sizes = sorted(len(json.loads(m["Body"])["instances"]) for m in drain(clients, names.trigger_queue))
    assert sizes == [5, 10, 10]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SendInput(text="1,2,3\n1,2\n", source="f.csv"), "f.csv:2: 2 values, the deployed model expects 3"),
        (SendInput(text="", source="empty.csv"), "empty.csv: no rows to send"),
        (SendInput(json_body='{"payload": "1,2,3"'), "--json: malformed JSON"),
        (SendInput(payload="1,x,3"), "--payload:1: column 2 value 'x' is not a number"),
        (SendInput(payload="a,b,c"), "--payload:1: column 1 value 'a' is not a number"),
        (SendInput(text="1,2,3\n" * 3, source="f.csv", rows_per_message=0), "--rows-per-message 0"),
    ],
)
def test_bad_input_sends_nothing(clients, request_: SendInput, message: str) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    with pytest.raises(UsageError) as caught:
        send(config, clients, ListReporter(), request_)
    assert message in caught.value.message
    assert depth(clients, names.trigger_queue) == 0


def test_body_over_one_mib_sends_nothing(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients, feature_count=None)
    big_row = ",".join(["1.000001"] * 120_000)  # ~1.08 MB as one payload
    with pytest.raises(UsageError, match=r"big.csv:2: message body is .* over the SQS limit"):
        send(config, clients, ListReporter(), SendInput(text=f"1,2\n{big_row}\n", source="big.csv"))
    assert depth(clients, names.trigger_queue) == 0


def test_negative_timeout_is_refused(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    with pytest.raises(UsageError, match="--timeout -1"):
        send(config, clients, ListReporter(), SendInput(payload="1,2,3"), wait=True, timeout_s=-1)
    assert depth(clients, names.trigger_queue) == 0


def test_no_validate_skips_the_feature_count(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    send(config, clients, ListReporter(), SendInput(payload="1,2", validate=False))
    assert depth(clients, names.trigger_queue) == 1


def test_no_model_warns_and_still_checks_numbers(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients, feature_count=None)
    reporter = ListReporter()
    send(config, clients, reporter, SendInput(payload="1,2"))
    assert any("no trained model found for shop/dev" in w for w in reporter.messages("warn"))
    with pytest.raises(UsageError, match="not a number"):
        send(config, clients, reporter, SendInput(payload="1,b"))
    assert depth(clients, names.trigger_queue) == 1


def test_not_deployed_names_app_stage_and_the_fix(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.config import Config

    config = Config.model_validate({"app": "nothere", "stage": "qa", "target": "local"})
    with pytest.raises(NotDeployedError) as caught:
        send(config, clients, ListReporter(), SendInput(payload="1"))
    assert "app 'nothere' stage 'qa' is not deployed" in caught.value.message
    assert caught.value.hint and "mlpipe --stage qa deploy" in caught.value.hint


def test_a_foreign_queue_is_not_used(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.config import Config

    config = Config.model_validate({"app": "other", "target": "local"})
    names = clients.names("other", "dev")
    clients.client("sqs").create_queue(QueueName=names.trigger_queue, tags={"team": "else"})
    with pytest.raises(ForeignResourceError, match="other-dev-trigger exists but is not tagged"):
        send(config, clients, ListReporter(), SendInput(payload="1"))
    assert depth(clients, names.trigger_queue) == 0


def test_entries_that_keep_failing_are_reported_by_line_never_dropped(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    # Every entry fails; the emulator still lets one entry per call through (moto refuses empty
    # batches), so of one batch of 10, 6 attempts deliver 6 and 4 are reported.
    set_fault(endpoint_url, {"service": "sqs", "operation": "SendMessageBatch:Entries", "rate": 1.0, "seed": 3})
    text = "\n".join(f"{i},0,0" for i in range(10))
    virtual = VirtualTime()  # the backoff between attempts passes on the test's clock
    with pytest.raises(DeliveryError) as caught:
        send(config, clients, ListReporter(), SendInput(text=text, source="f.csv"), **_on(virtual))
    delivered = [json.loads(m["Body"])["payload"] for m in drain(clients, names.trigger_queue)]
    assert len(delivered) == 6
    assert virtual.sleeps  # the later retries waited out their backoff
    failed_lines = [i + 1 for i in range(10) if f"{i},0,0" not in delivered]
    assert caught.value.message.startswith("4 of 10 message(s) could not be sent (ThrottlingException)")
    from mlpipe.ops.rows import describe_lines

    assert caught.value.message.endswith(f"f.csv line(s) {describe_lines(failed_lines)}")


def test_transient_entry_failures_are_retried(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    fault = {"service": "sqs", "operation": "SendMessageBatch:Entries", "rate": 0.3, "seed": 7}
    set_fault(endpoint_url, {**fault, "error": "ServiceUnavailable"})
    text = "\n".join(f"{i},0,0" for i in range(300))
    result = send(config, clients, ListReporter(), SendInput(text=text, source="f.csv"), **_on(VirtualTime()))
    assert result.requests > 30 and result.retried_entries > 50  # the retries
    payloads = sorted(json.loads(m["Body"])["payload"] for m in drain(clients, names.trigger_queue))
    assert payloads == sorted(f"{i},0,0" for i in range(300))


def _sent_lines(clients, names) -> list[int]:  # type: ignore[no-untyped-def]
    """Drain the trigger queue; the input line of each message ('<i>,0,0' is line i + 1), repeats kept."""
    return [int(json.loads(m["Body"])["payload"].split(",")[0]) + 1 for m in drain(clients, names.trigger_queue)]


def test_a_call_refused_for_good_stops_the_send_and_names_exactly_the_unsent_lines(  # type: ignore[no-untyped-def]
    clients, endpoint_url
) -> None:
    config, names = deployment(clients)
    # 1 SendMessageBatch call in 20 is refused as a whole: retrying cannot help.
    fault = {"service": "sqs", "operation": "SendMessageBatch", "rate": 0.05, "error": "KmsAccessDenied", "seed": 5}
    set_fault(endpoint_url, fault)
    text = "\n".join(f"{i},0,0" for i in range(2000))
    with pytest.raises(DeliveryError) as caught:
        send(config, clients, ListReporter(), SendInput(text=text, source="rows.csv"), **_on(VirtualTime()))
    message = caught.value.message
    sent = _sent_lines(clients, names)
    unsent = reported_lines(message)
    assert len(set(sent)) == len(sent)  # no duplicates
    assert 0 < len(sent) < 2000 and set(sent).isdisjoint(unsent)
    assert len(sent) + len(unsent) == 2000 and set(sent) | unsent == set(range(1, 2001))
    assert message.startswith("sending stopped: SendMessageBatch failed: KmsAccessDenied")
    assert (
        f"{len(unsent)} of 2000 message(s) could not be sent (KmsAccessDenied), {len(sent)} sent: rows.csv" in message
    )
    assert "\n" not in message and caught.value.hint and "resend only these" in caught.value.hint
    # Resending exactly the named lines completes the file: every row on the queue once.
    clear_faults(endpoint_url)
    again = "\n".join(f"{line - 1},0,0" for line in sorted(unsent))
    send(config, clients, ListReporter(), SendInput(text=again, source="rest.csv"))
    assert sorted(sent + _sent_lines(clients, names)) == list(range(1, 2001))


def _failing_sends(clients, error: Exception, first: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Make the first `first` SendMessageBatch HTTP requests fail with `error`, before they leave."""
    import threading

    seen = [0]
    lock = threading.Lock()

    def hook(request, **_):  # type: ignore[no-untyped-def]
        with lock:
            seen[0] += 1
            if seen[0] <= first:
                raise error

    clients.client("sqs").meta.events.register("before-send.sqs.SendMessageBatch", hook)
    return seen


@pytest.mark.parametrize("kind", ["ConnectionClosedError", "ReadTimeoutError", "EndpointConnectionError"])
def test_connection_errors_are_retried_with_backoff(clients, kind: str) -> None:  # type: ignore[no-untyped-def]
    import botocore.exceptions

    config, names = deployment(clients)
    error = getattr(botocore.exceptions, kind)(endpoint_url="http://x", error="reset by peer")
    # botocore makes up to 3 attempts per call locally (aws/clients.py: 2 retries, while its retry
    # quota lasts): 9 failures in a row fail at least 3 calls whole, so they reach mlpipe's retries.
    seen = _failing_sends(clients, error, first=9)
    text = "\n".join(f"{i},0,0" for i in range(100))
    result = send(config, clients, ListReporter(), SendInput(text=text, source="f.csv"), **_on(VirtualTime()))
    assert seen[0] > 9 and result.retried_entries >= 10
    assert sorted(_sent_lines(clients, names)) == list(range(1, 101))


def test_a_connection_that_stays_down_stops_the_send_with_every_line_accounted_for(clients) -> None:  # type: ignore[no-untyped-def]
    import botocore.exceptions

    config, names = deployment(clients)
    _failing_sends(clients, botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), first=10**6)
    tries: Counter[str] = Counter()  # SendMessageBatch calls per message body (botocore retries not counted)
    lock = threading.Lock()

    def count(params: dict[str, Any], **_: Any) -> None:
        with lock:
            tries.update(e["MessageBody"] for e in params["Entries"])

    clients.client("sqs").meta.events.register("provide-client-params.sqs.SendMessageBatch", count)
    text = "\n".join(f"{i},0,0" for i in range(500))
    with pytest.raises(DeliveryError) as caught:
        send(config, clients, ListReporter(), SendInput(text=text, source="f.csv"), **_on(VirtualTime()))
    # It stops once one call has failed through all 6 attempts: only the calls in flight then (4
    # workers, 10 messages each) used all theirs, not 50 batches' worth.
    assert len(tries) == 500 and max(tries.values()) == 6
    assert sum(1 for n in tries.values() if n == 6) <= 4 * 10
    assert caught.value.message.startswith("sending stopped: ")
    assert "500 of 500 message(s) could not be sent (EndpointConnectionError), 0 sent: f.csv line(s) 1-500" in (
        caught.value.message
    )
    assert depth(clients, names.trigger_queue) == 0


def test_ten_thousand_rows_all_arrive_despite_entry_faults(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    set_fault(endpoint_url, {"service": "sqs", "operation": "SendMessageBatch:Entries", "rate": 0.1, "seed": 1})
    text = "crim,zn,indus\n" + "\n".join(f"{i},1,2" for i in range(10_000))
    # Retry backoff on the virtual clock: what is measured is delivery, not how long backoff waits.
    result = send(config, clients, ListReporter(), SendInput(text=text, source="big.csv"), **_on(VirtualTime()))
    assert result.rows == 10_000
    assert 1_000 < result.requests < 1_250  # retries re-packed into full batches
    faults = admin_request(endpoint_url, "GET", "/_mlpipe/faults")[1]["faults"]
    assert faults[0]["injected"] > 500  # failures really were injected, and retried
    # Every row exactly once: a lost message plus a duplicate would keep the depth at 10,000.
    received = receive_all(clients, names.trigger_queue)
    bodies = [json.loads(m["Body"]) for m in received]
    assert len(bodies) == 10_000
    assert sorted(int(b["payload"].split(",")[0]) for b in bodies) == list(range(10_000))
    assert len({b["id"] for b in bodies}) == 10_000
    assert {m["MessageId"] for m in received} == set(result.message_ids.values())


def _handle_queue(clients, names, outcome: str) -> None:  # type: ignore[no-untyped-def]
    """Plays the Lambda handler's part once: read the queue, log one contract line per message."""
    sqs = clients.client("sqs")
    url = queue_url(clients, names.trigger_queue)
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            body = json.loads(m["Body"])
            line: dict[str, object] = {"message_id": m["MessageId"], "correlation_id": body["id"]}
            if outcome == "poison":
                line = {"event": "poison", **line, "reason": "3 features expected, got 2", "excerpt": m["Body"]}
            else:
                line = {"event": "prediction", **line, "rows": 1, "predictions": [21.5], "latency_ms": 12.0}
            write_log_lines(clients, names.log_group, [line])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.mark.parametrize("outcome", ["prediction", "poison"])
def test_wait_finds_our_result_by_correlation_id_and_ignores_others(clients, outcome: str) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    # Another client's results are already in the log group: they must not be taken for ours.
    write_log_lines(
        clients,
        names.log_group,
        [{"event": "prediction", "message_id": "x", "correlation_id": "someone-1", "predictions": [99.0]}],
        stream="other",
    )
    # The function answers 2 s into the wait (of the test's clock: `send --wait` sleeps on it).
    virtual = VirtualTime()
    virtual.at(2.0, lambda: _handle_queue(clients, names, outcome))
    reporter = ListReporter()
    result = send(config, clients, reporter, SendInput(payload="1,2,3"), wait=True, timeout_s=20, **_on(virtual))
    assert virtual.pending == 0
    assert 2.0 <= virtual.now <= 3.0  # found on the first poll after the line was logged (idle: 1 s apart)
    assert reporter.messages("progress")[-1] == "results 1/1"
    [only] = result.outcomes
    assert only.correlation_id in result.message_ids
    assert only.message_id == result.message_ids[only.correlation_id]
    if outcome == "prediction":
        assert (only.status, only.predictions, only.latency_ms) == ("prediction", [21.5], 12.0)
    else:
        assert (only.status, only.reason) == ("poison", "3 features expected, got 2")


def test_wait_times_out_with_the_message_pending(clients) -> None:  # type: ignore[no-untyped-def]
    config, _ = deployment(clients)
    reporter = ListReporter()
    virtual = VirtualTime()
    result = send(config, clients, reporter, SendInput(payload="1,2,3"), wait=True, timeout_s=1, **_on(virtual))
    assert reporter.messages("step")[-1].startswith("waiting up to 1s for 1 result(s)")
    assert virtual.now == pytest.approx(1)  # --wait's timeout is send's, on its clock
    assert [o.status for o in result.outcomes] == ["pending"]
    assert result.unfinished == result.outcomes


def test_wait_gives_up_exactly_at_its_timeout(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.ops.send import prepare, wait_for_outcomes

    _, names = deployment(clients)
    messages, _ = prepare(SendInput(payload="1,2,3"), 3, "0123456789ab", need_ids=True)
    virtual = VirtualTime()
    since = int(time.time() * 1000) - 5_000
    outcomes = wait_for_outcomes(
        clients, names, messages, since, "0123456789ab", 7, ListReporter(), sleep=virtual.sleep, clock=virtual.clock
    )
    assert [o.status for o in outcomes] == ["pending"]
    assert virtual.now == pytest.approx(7)  # it waited its timeout, no less, no more
    assert max(virtual.sleeps) <= 1.0  # looking at least once a second meanwhile


def test_wait_finds_a_message_sqs_moved_to_the_dlq_and_leaves_it_there(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.ops.send import prepare, wait_for_outcomes

    _, names = deployment(clients)
    messages, _ = prepare(SendInput(text="1,2,3\n4,5,6\n", source="f.csv"), 3, "0123456789ab", need_ids=True)
    dead, alive = messages
    assert dead.correlation_id and alive.correlation_id
    # Redrive moved the first message (body kept, no reason attribute); something else in the DLQ too.
    sqs = clients.client("sqs")
    sqs.send_message(QueueUrl=queue_url(clients, names.dlq), MessageBody=dead.body)
    sqs.send_message(QueueUrl=queue_url(clients, names.dlq), MessageBody='{"payload": "9,9,9", "id": "other-1"}')
    error = {"event": "error", "message_id": "m1", "correlation_id": dead.correlation_id, "error": "ModelError: 424"}
    write_log_lines(clients, names.log_group, [error])
    since = int(time.time() * 1000) - 5_000
    virtual = VirtualTime()
    outcomes = wait_for_outcomes(
        clients, names, messages, since, "0123456789ab", 1, ListReporter(), sleep=virtual.sleep, clock=virtual.clock
    )
    by_id = {o.correlation_id: o for o in outcomes}
    assert by_id[dead.correlation_id].status == "dead-lettered"
    assert by_id[dead.correlation_id].reason == "exceeded maxReceiveCount (last: error: ModelError: 424)"
    assert by_id[alive.correlation_id].status == "pending"
    assert depth(clients, names.dlq) == 2  # peeked, not consumed
    bodies = sorted(m["Body"] for m in drain(clients, names.dlq))
    assert dead.body in bodies


def test_send_wait_reports_a_dead_lettered_message_before_the_timeout(clients) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    virtual = VirtualTime()
    moved: list[int] = []
    virtual.at(1.0, lambda: moved.append(dead_letter_once(clients, names)))  # "SQS" moves it 1 s into the wait
    reporter = ListReporter()
    result = send(config, clients, reporter, SendInput(payload="1,2,3"), wait=True, timeout_s=30, **_on(virtual))
    assert moved == [1]
    # Found on a quiet poll (the final look at the timeout reports no progress), not at the timeout.
    assert reporter.messages("progress")[-1] == "results 1/1"
    assert virtual.now < 30
    [only] = result.outcomes
    assert only.status == "dead-lettered" and only.in_dlq
    assert only.reason == "exceeded maxReceiveCount (last: error: ModelError: endpoint down)"
    assert result.unfinished == [only]


def test_wait_looks_in_the_dlq_on_the_first_quiet_poll_after_five_seconds(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.ops.send import DLQ_PEEK_EVERY_S, prepare, wait_for_outcomes

    _, names = deployment(clients)
    messages, _ = prepare(SendInput(payload="1,2,3"), 3, "0123456789ab", need_ids=True)
    clients.client("sqs").send_message(QueueUrl=queue_url(clients, names.trigger_queue), MessageBody=messages[0].body)
    virtual = VirtualTime()
    moved: list[int] = []
    virtual.at(1.0, lambda: moved.append(dead_letter_once(clients, names)))  # "SQS" moves it 1 s in
    reporter = ListReporter()
    since = int(time.time() * 1000) - 5_000
    [only] = wait_for_outcomes(
        clients, names, messages, since, "0123456789ab", 30, reporter, sleep=virtual.sleep, clock=virtual.clock
    )
    assert moved == [1]
    assert (only.status, only.reason) == (
        "dead-lettered",
        "exceeded maxReceiveCount (last: error: ModelError: endpoint down)",
    )
    # Not at once (SQS needs maxReceiveCount receives first), not at the 30 s timeout: on the first
    # quiet poll once 5 s have passed (polls are at most 1 s apart).
    assert DLQ_PEEK_EVERY_S <= virtual.now <= DLQ_PEEK_EVERY_S + 1.0
    assert reporter.messages("progress")[-1] == "results 1/1"


def test_wait_without_a_readable_dlq_warns_and_still_reports(clients) -> None:  # type: ignore[no-untyped-def]
    from mlpipe.ops.send import prepare, wait_for_outcomes

    _, names = deployment(clients)
    clients.client("sqs").delete_queue(QueueUrl=queue_url(clients, names.dlq))
    messages, _ = prepare(SendInput(payload="1,2,3"), 3, "0123456789ab", need_ids=True)
    reporter = ListReporter()
    [outcome] = wait_for_outcomes(clients, names, messages, 0, "0123456789ab", 0, reporter)
    assert outcome.status == "pending"
    assert [w for w in reporter.messages("warn") if w.startswith(f"cannot look in the dead-letter queue {names.dlq}")]
