"""`mlpipe send` against the embedded AWS: what lands on the queue, and what is refused up front."""

from __future__ import annotations

import json
import threading
import time

import pytest
from send_helpers import deployment, depth, drain, queue_url, set_fault, write_log_lines

from mlpipe.errors import DeliveryError, ForeignResourceError, NotDeployedError, UsageError
from mlpipe.ops.send import SendInput, send
from mlpipe.reporter import ListReporter


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
    assert caught.value.hint and "mlpipe deploy --stage qa" in caught.value.hint


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
    with pytest.raises(DeliveryError) as caught:
        send(config, clients, ListReporter(), SendInput(text=text, source="f.csv"), sleep=lambda s: None)
    delivered = [json.loads(m["Body"])["payload"] for m in drain(clients, names.trigger_queue)]
    assert len(delivered) == 6
    failed_lines = [i + 1 for i in range(10) if f"{i},0,0" not in delivered]
    assert caught.value.message.startswith("4 of 10 message(s) could not be sent (ThrottlingException)")
    from mlpipe.ops.rows import describe_lines

    assert caught.value.message.endswith(f"f.csv line(s) {describe_lines(failed_lines)}")


def test_transient_entry_failures_are_retried(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    fault = {"service": "sqs", "operation": "SendMessageBatch:Entries", "rate": 0.3, "seed": 7}
    set_fault(endpoint_url, {**fault, "error": "ServiceUnavailable"})
    text = "\n".join(f"{i},0,0" for i in range(300))
    result = send(config, clients, ListReporter(), SendInput(text=text, source="f.csv"), sleep=lambda s: None)
    assert result.requests > 30 and result.retried_entries > 50  # the retries
    payloads = sorted(json.loads(m["Body"])["payload"] for m in drain(clients, names.trigger_queue))
    assert payloads == sorted(f"{i},0,0" for i in range(300))


@pytest.mark.slow
def test_ten_thousand_rows_all_arrive_despite_entry_faults(clients, endpoint_url) -> None:  # type: ignore[no-untyped-def]
    config, names = deployment(clients)
    set_fault(endpoint_url, {"service": "sqs", "operation": "SendMessageBatch:Entries", "rate": 0.1, "seed": 1})
    text = "crim,zn,indus\n" + "\n".join(f"{i},1,2" for i in range(10_000))
    result = send(config, clients, ListReporter(), SendInput(text=text, source="big.csv"))
    assert result.rows == 10_000
    assert 1_000 < result.requests < 1_250  # retries re-packed into full batches
    faults = json.loads(_get(f"{endpoint_url}/_mlpipe/faults"))["faults"]
    assert faults[0]["injected"] > 500  # failures really were injected, and retried
    assert depth(clients, names.trigger_queue) == 10_000


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())


def _fake_handler(clients, names, outcome: str, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """Plays the Lambda handler's part: read the queue, log one contract line per message."""
    sqs = clients.client("sqs")
    url = queue_url(clients, names.trigger_queue)
    while not stop.is_set():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
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
    stop = threading.Event()
    worker = threading.Thread(target=_fake_handler, args=(clients, names, outcome, stop))
    worker.start()
    try:
        started = time.monotonic()
        result = send(config, clients, ListReporter(), SendInput(payload="1,2,3"), wait=True, timeout_s=20)
    finally:
        stop.set()
        worker.join()
    assert time.monotonic() - started < 10
    [only] = result.outcomes
    assert only.correlation_id in result.message_ids
    assert only.message_id == result.message_ids[only.correlation_id]
    if outcome == "prediction":
        assert (only.status, only.predictions, only.latency_ms) == ("prediction", [21.5], 12.0)
    else:
        assert (only.status, only.reason) == ("poison", "3 features expected, got 2")


def test_wait_times_out_with_the_message_pending(clients) -> None:  # type: ignore[no-untyped-def]
    config, _ = deployment(clients)
    started = time.monotonic()
    result = send(config, clients, ListReporter(), SendInput(payload="1,2,3"), wait=True, timeout_s=1)
    assert 0.9 < time.monotonic() - started < 5
    assert [o.status for o in result.outcomes] == ["pending"]
    assert result.unfinished == result.outcomes
