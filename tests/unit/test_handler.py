"""The Lambda handler (templates/handler/handler.py) on real SQS event shapes, with fake clients injected."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import math
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
HANDLER_PY = REPO / "templates" / "handler" / "handler.py"
TUTORIAL = "14.0507,0,18.1,0,0.597,6.657,100,1.5275,24,666,20.2,35.05,21.22"


HANDLER_MODULES = ("endpoint_client", "payload_rules", "queue_sends")


def load_handler() -> Any:
    """A fresh copy of the handler package, as a new Lambda execution environment would import it."""
    if str(HANDLER_PY.parent) not in sys.path:
        sys.path.insert(0, str(HANDLER_PY.parent))
    for name in HANDLER_MODULES:
        sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location("mlpipe_handler_under_test", HANDLER_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_error(original_status: int | None) -> ClientError:
    """SageMaker's answer when the container answers non-2xx: HTTP 424 ModelError, the container's own
    status in OriginalStatusCode (botocore puts the error shape's members at the top of the response)."""
    kind = "client" if original_status is not None and original_status < 500 else "server"
    response: dict[str, Any] = {
        "Error": {"Code": "ModelError", "Message": f"Received {kind} error ({original_status}) from primary"},
        "ResponseMetadata": {"HTTPStatusCode": 424},
    }
    if original_status is not None:
        response["OriginalStatusCode"] = original_status
        response["OriginalMessage"] = "fake"
    return ClientError(response, "InvokeEndpoint")


class FakeRuntime:
    """sagemaker-runtime: 'predicts' the sum of each row; can fail the first calls, refuse rows, fail
    every call (`always`), and take `latency_ms` of the context's remaining time per call."""

    def __init__(
        self,
        fail_codes: list[str] | None = None,
        refuse_value: float | None = None,
        refuse_status: int = 400,
        always: ClientError | None = None,
        latency_ms: int = 0,
    ) -> None:
        self.fail_codes = list(fail_codes or [])
        self.refuse_value = refuse_value
        self.refuse_status = refuse_status
        self.always = always
        self.latency_ms = latency_ms
        self.context: Context | None = None
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.context is not None:
            self.context.remaining_ms -= self.latency_ms
        if self.always is not None:
            raise self.always
        if self.fail_codes:
            code = self.fail_codes.pop(0)
            statuses = {"ThrottlingException": 400, "ServiceUnavailable": 503, "ModelNotReadyException": 429}
            status = statuses.get(code, 500)
            raise ClientError(
                {"Error": {"Code": code, "Message": "fake"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                "InvokeEndpoint",
            )
        rows = [[float(v) for v in line.split(",")] for line in kwargs["Body"].decode().splitlines()]
        if self.refuse_value is not None and any(self.refuse_value in row for row in rows):
            raise model_error(self.refuse_status)
        text = "".join(f"{sum(row)}\n" for row in rows)
        return {"Body": io.BytesIO(text.encode()), "ContentType": "text/csv"}


class FakeSqs:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.batches: list[dict[str, Any]] = []

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.batches.append(copy.deepcopy(kwargs))
        if self.fail:
            return {"Successful": [], "Failed": [{"Id": e["Id"], "SenderFault": False} for e in kwargs["Entries"]]}
        return {"Successful": [{"Id": e["Id"], "MessageId": f"m{e['Id']}"} for e in kwargs["Entries"]], "Failed": []}

    def sent(self) -> list[dict[str, Any]]:
        return [entry for batch in self.batches for entry in batch["Entries"]]


class Context:
    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms

    def sleep(self, seconds: float) -> None:
        """Stands in for time.sleep: the backoff takes the function's time, not the test's."""
        self.remaining_ms -= round(seconds * 1000)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "MLPIPE_ENDPOINT_NAME": "demo-dev",
        "MLPIPE_FEATURE_COUNT": "13",
        "MLPIPE_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/demo-dev-dlq",
        "MLPIPE_RESULTS_QUEUE_URL": "",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def sample_event(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / name).read_text()))


def event_with(bodies: list[str]) -> dict[str, Any]:
    """Records shaped like the SAM sample, one per body, with distinct message ids."""
    template = sample_event("sqs_receive_message.json")["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"msg-{number:04d}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def run(
    handler: Any,
    event: dict[str, Any],
    runtime: FakeRuntime,
    sqs: FakeSqs,
    remaining_ms: int = 30_000,
    context: Context | None = None,
) -> Any:
    context = context or Context(remaining_ms)
    runtime.context = context
    handler.use_clients(runtime=runtime, sqs=sqs)
    return handler.handler(event, context)


def failed_ids(result: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def dead_ids(sqs: FakeSqs) -> list[str]:
    return [e["MessageAttributes"]["mlpipe-source-message-id"]["StringValue"] for e in sqs.sent()]


def log_events(capsys: pytest.CaptureFixture[str], kind: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == kind]


def test_tutorial_batch_predicts_every_record_in_one_call(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, runtime, sqs = load_handler(), FakeRuntime(), FakeSqs()
    event = sample_event("sqs_tutorial_batch.json")

    result = run(handler, event, runtime, sqs)

    assert result == {"batchItemFailures": []}
    assert len(runtime.calls) == 1
    call = runtime.calls[0]
    assert call["EndpointName"] == "demo-dev" and call["ContentType"] == "text/csv"
    assert len(call["Body"].decode().splitlines()) == 2
    predictions = log_events(capsys, "prediction")
    assert [p["message_id"] for p in predictions] == [r["messageId"] for r in event["Records"]]
    assert predictions[0]["correlation_id"] == "order-1"
    assert predictions[0]["predictions"] == [pytest.approx(sum(float(v) for v in TUTORIAL.split(",")))]
    assert predictions[0]["rows"] == 1 and predictions[0]["endpoint"] == "demo-dev"
    assert sqs.batches == []


def test_sam_sample_body_is_poison_and_goes_to_the_dlq_with_its_reason(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, runtime, sqs = load_handler(), FakeRuntime(), FakeSqs()
    event = sample_event("sqs_receive_message.json")  # body "Hello from SQS!"

    result = run(handler, event, runtime, sqs)

    assert result == {"batchItemFailures": []}  # not retried: SQS deletes it from the trigger queue
    assert runtime.calls == []
    [entry] = sqs.sent()
    assert sqs.batches[0]["QueueUrl"] == env["MLPIPE_DLQ_URL"]
    assert entry["MessageBody"] == "Hello from SQS!"
    attributes = entry["MessageAttributes"]
    assert attributes["mlpipe-source-message-id"]["StringValue"] == "19dd0b57-b21e-4ac1-bd88-01bbb068cb78"
    assert "has 1 value(s), expected 13 features" in attributes["mlpipe-reason"]["StringValue"]
    [poison] = log_events(capsys, "poison")
    assert poison["excerpt"] == "Hello from SQS!"


def test_mixed_batch_sends_all_valid_rows_in_one_call_and_every_poison_to_the_dlq(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    row = [float(v) for v in TUTORIAL.split(",")]
    valid = [
        json.dumps({"payload": TUTORIAL, "id": "a"}),
        TUTORIAL,
        json.dumps(row),
        json.dumps({"instances": [row, row], "id": "two-rows"}),
        json.dumps({"payload": row}),
    ]
    poison = {
        "12 features": ",".join(TUTORIAL.split(",")[:12]),
        "not a number": TUTORIAL.replace("18.1", "abc"),
        "not finite": TUTORIAL.replace("18.1", "inf"),
        "no payload": json.dumps({"rows": TUTORIAL, "id": "c-9"}),
        "empty": "",
    }
    handler, runtime, sqs = load_handler(), FakeRuntime(), FakeSqs()
    event = event_with(valid + list(poison.values()))

    result = run(handler, event, runtime, sqs)

    assert result == {"batchItemFailures": []}
    assert len(runtime.calls) == 1
    assert len(runtime.calls[0]["Body"].decode().splitlines()) == 6  # 5 messages, one of them with 2 rows
    predictions = log_events(capsys, "prediction")
    assert [p["message_id"] for p in predictions] == [f"msg-{i:04d}" for i in range(5)]
    assert [p["rows"] for p in predictions] == [1, 1, 1, 2, 1]
    dead = sqs.sent()
    assert [e["MessageAttributes"]["mlpipe-source-message-id"]["StringValue"] for e in dead] == [
        f"msg-{i:04d}" for i in range(5, 10)
    ]
    reasons = [e["MessageAttributes"]["mlpipe-reason"]["StringValue"] for e in dead]
    assert "expected 13" in reasons[0]
    assert "not a number" in reasons[1]
    assert "not finite" in reasons[2]
    assert "'payload', 'instances' or 'features'" in reasons[3]
    assert "empty" in reasons[4]
    assert dead[3]["MessageAttributes"]["mlpipe-correlation-id"]["StringValue"] == "c-9"


def test_transient_errors_are_retried_within_the_remaining_time(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = load_handler()
    monkeypatch.setattr(handler.time, "sleep", lambda seconds: None)
    runtime = FakeRuntime(fail_codes=["ThrottlingException", "ServiceUnavailable", "ModelNotReadyException"])

    result = run(handler, event_with([TUTORIAL, TUTORIAL]), runtime, FakeSqs())

    assert result == {"batchItemFailures": []}
    assert len(runtime.calls) == 4
    assert [r["code"] for r in log_events(capsys, "retry")] == [
        "ThrottlingException",
        "ServiceUnavailable",
        "ModelNotReadyException",
    ]


def test_what_still_fails_when_time_runs_out_is_reported_but_poison_is_not(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, context = load_handler(), Context(5000)
    monkeypatch.setattr(handler.time, "sleep", context.sleep)
    runtime, sqs = FakeRuntime(fail_codes=["ThrottlingException"] * 100, latency_ms=3000), FakeSqs()

    result = run(handler, event_with([TUTORIAL, "oops", TUTORIAL]), runtime, sqs, context=context)

    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0000"}, {"itemIdentifier": "msg-0002"}]}
    assert len(runtime.calls) == 1  # 2 s left after it: not the reserve plus a 1 s call, no retry
    assert [e["MessageBody"] for e in sqs.sent()] == ["oops"]
    assert log_events(capsys, "error")[0]["code"] == "ThrottlingException"


def test_a_message_the_model_refuses_is_isolated_and_dead_lettered(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPIPE_FEATURE_COUNT", "0")  # unknown count: only the model can tell
    handler, runtime, sqs = load_handler(), FakeRuntime(refuse_value=999.0), FakeSqs()
    bodies = [TUTORIAL, TUTORIAL, "1,2,999", TUTORIAL]

    result = run(handler, event_with(bodies), runtime, sqs)

    assert result == {"batchItemFailures": []}
    assert [p["message_id"] for p in log_events(capsys, "prediction")] == ["msg-0000", "msg-0001", "msg-0003"]
    [dead] = sqs.sent()
    assert dead["MessageBody"] == "1,2,999"
    assert "model rejected" in dead["MessageAttributes"]["mlpipe-reason"]["StringValue"]


@pytest.mark.parametrize("original_status", [500, 503, 429, None])
def test_a_container_failure_is_retried_then_reported_never_dead_lettered(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    original_status: int | None,
) -> None:
    """ModelError with a 5xx OriginalStatusCode (worker died, out of memory), 429 or none: the
    endpoint fails, not the messages. Before the fix: 19 calls (halving) and all 10 dead-lettered."""
    handler, context, sqs = load_handler(), Context(10_000), FakeSqs()
    monkeypatch.setattr(handler.time, "sleep", context.sleep)
    runtime = FakeRuntime(always=model_error(original_status), latency_ms=1000)
    event = event_with([TUTORIAL] * 10)

    result = run(handler, event, runtime, sqs, context=context)

    assert failed_ids(result) == [r["messageId"] for r in event["Records"]]
    assert sqs.batches == []  # nothing dead-lettered
    # Retried whole (never split) while a call fits: (10 s - 1.5 s reserve - 1 s minimum call) / 1 s + 1.
    assert 2 <= len(runtime.calls) <= 8
    assert all(len(call["Body"].decode().splitlines()) == 10 for call in runtime.calls)
    lines = capsys.readouterr().out
    assert '"event": "poison"' not in lines
    assert '"event": "error"' in lines and '"code": "ModelError"' in lines


@pytest.mark.parametrize("original_status", [400, 415, 422])
def test_a_4xx_on_one_message_of_ten_dead_letters_only_that_one(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, original_status: int
) -> None:
    monkeypatch.setenv("MLPIPE_FEATURE_COUNT", "0")
    handler, sqs = load_handler(), FakeSqs()
    runtime = FakeRuntime(refuse_value=999.0, refuse_status=original_status)
    bodies = [TUTORIAL] * 10
    bodies[6] = "1,2,999"

    result = run(handler, event_with(bodies), runtime, sqs)

    assert result == {"batchItemFailures": []}
    assert dead_ids(sqs) == ["msg-0006"]
    assert f"({original_status})" in sqs.sent()[0]["MessageAttributes"]["mlpipe-reason"]["StringValue"]
    predicted = [p["message_id"] for p in log_events(capsys, "prediction")]
    assert predicted == [f"msg-{i:04d}" for i in range(10) if i != 6]
    assert len(runtime.calls) <= 1 + 2 * math.ceil(math.log2(10))  # 9: halving, not 2N - 1 = 19


def test_isolating_refused_messages_stops_when_time_runs_out(env: dict[str, str]) -> None:
    """The model refuses everything, each call takes 1 s of a 10 s invocation: the halving stops with
    time for the reserve; what it did not reach is redelivered, not dead-lettered unexamined."""
    handler, context, sqs = load_handler(), Context(10_000), FakeSqs()
    runtime = FakeRuntime(always=model_error(400), latency_ms=1000)
    event = event_with([TUTORIAL] * 10)

    result = run(handler, event, runtime, sqs, context=context)

    assert len(runtime.calls) <= 8  # was 19, the last ones after the function's end
    assert context.remaining_ms >= handler.TIME_RESERVE_MS
    failed, dead = failed_ids(result), dead_ids(sqs)
    assert failed and dead and sorted(failed + dead) == [r["messageId"] for r in event["Records"]]


def test_isolating_refused_messages_is_bounded_in_calls(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    handler, sqs = load_handler(), FakeSqs()
    monkeypatch.setattr(handler, "MAX_SPLIT_CALLS", 4)
    runtime = FakeRuntime(always=model_error(400))

    result = run(handler, event_with([TUTORIAL] * 10), runtime, sqs)

    assert len(runtime.calls) == 1 + 4
    assert dead_ids(sqs) == ["msg-0000", "msg-0001"]  # [0-4] -> [0, 1] -> [0], [1]; then out of calls
    assert failed_ids(result) == [f"msg-{i:04d}" for i in range(2, 10)]


def test_no_endpoint_call_starts_without_time_to_finish_it(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, runtime, sqs = load_handler(), FakeRuntime(), FakeSqs()

    result = run(handler, event_with([TUTORIAL, "oops", TUTORIAL]), runtime, sqs, remaining_ms=2400)

    assert runtime.calls == []  # 2.4 s < 1.5 s reserve + 1 s call
    assert failed_ids(result) == ["msg-0000", "msg-0002"]
    assert dead_ids(sqs) == ["msg-0001"]  # poison is still moved: it needs no endpoint
    assert log_events(capsys, "error")[0]["code"] == "NoTimeLeft"


def test_a_slow_endpoint_leaves_later_groups_for_redelivery(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, context = load_handler(), Context(11_000)
    one_row = len(handler.csv_body([[float(v) for v in TUTORIAL.split(",")]]))
    monkeypatch.setattr(handler, "MAX_BODY_BYTES", one_row * 3)  # groups of 3, 3, 3, 1 messages
    runtime = FakeRuntime(latency_ms=4500)

    result = run(handler, event_with([TUTORIAL] * 10), runtime, FakeSqs(), context=context)

    assert len(runtime.calls) == 2  # 11 s -> 6.5 s -> 2 s: no third call (it would outlive the function)
    assert failed_ids(result) == [f"msg-{i:04d}" for i in range(6, 10)]
    assert [p["message_id"] for p in log_events(capsys, "prediction")] == [f"msg-{i:04d}" for i in range(6)]


def test_runtime_client_timeouts_fit_the_remaining_time(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore has no per-call timeout: one client per call budget, cached, with connect + read
    timeouts within the remaining time less the reserve (was read 60 s + connect 5 s for a 30 s function)."""
    created: list[tuple[str, Any]] = []

    def client(name: str, config: Any = None) -> FakeRuntime:
        created.append((name, config))
        return FakeRuntime()

    boto3 = types.ModuleType("boto3")
    boto3.client = client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", boto3)
    handler = load_handler()
    handler.use_clients(sqs=FakeSqs())

    for remaining_ms in (30_000, 29_000, 10_000, 900_000):
        result = handler.handler(event_with([TUTORIAL]), Context(remaining_ms))
        assert result == {"batchItemFailures": []}

    assert [name for name, _ in created] == ["sagemaker-runtime"] * 3  # 30 s and 29 s share a client
    bounds = [(c.connect_timeout, c.read_timeout) for _, c in created]
    assert bounds == [(2, 25), (2, 6), (2, 60)]  # 28.5 s -> 27; 8.5 s -> 8; capped at 2 + 60
    assert all(c.retries == {"total_max_attempts": 1} for _, c in created)


def test_bodies_above_the_endpoint_limit_are_split(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    one_row = len(handler.csv_body([[float(v) for v in TUTORIAL.split(",")]]))
    monkeypatch.setattr(handler, "MAX_BODY_BYTES", one_row * 3)
    runtime = FakeRuntime()

    result = run(handler, event_with([TUTORIAL] * 10), runtime, FakeSqs())

    assert result == {"batchItemFailures": []}
    assert [len(c["Body"].decode().splitlines()) for c in runtime.calls] == [3, 3, 3, 1]
    assert all(len(c["Body"]) <= one_row * 3 for c in runtime.calls)


def test_poison_that_cannot_reach_the_dlq_is_reported_so_redrive_keeps_it(env: dict[str, str]) -> None:
    handler = load_handler()

    result = run(handler, event_with(["bad", TUTORIAL]), FakeRuntime(), FakeSqs(fail=True))

    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0000"}]}


def test_results_queue_gets_each_message_predictions(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPIPE_RESULTS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/demo-results")
    handler, sqs = load_handler(), FakeSqs()

    result = run(handler, event_with([json.dumps({"payload": TUTORIAL, "id": "r-1"})]), FakeRuntime(), sqs)

    assert result == {"batchItemFailures": []}
    assert sqs.batches[0]["QueueUrl"].endswith("demo-results")
    sent = json.loads(sqs.sent()[0]["MessageBody"])
    assert sent["message_id"] == "msg-0000" and sent["correlation_id"] == "r-1"
    assert sent["predictions"] == [pytest.approx(sum(float(v) for v in TUTORIAL.split(",")))]


def test_missing_endpoint_setting_fails_valid_messages_without_raising(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPIPE_ENDPOINT_NAME", "")
    handler = load_handler()

    result = run(handler, event_with([TUTORIAL]), FakeRuntime(), FakeSqs())

    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0000"}]}


@pytest.mark.parametrize(
    ("text", "rows", "expected"),
    [("1.5\n2.5\n", 2, [1.5, 2.5]), ("1.5,2.5", 2, [1.5, 2.5]), ("0.1,0.9\n0.8,0.2\n", 2, [[0.1, 0.9], [0.8, 0.2]])],
)
def test_prediction_formats_of_the_container(text: str, rows: int, expected: list[Any]) -> None:
    assert load_handler().parse_predictions(text, rows) == expected


def test_cold_import_is_fast_and_does_not_import_boto3() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import handler; "
        "print(time.perf_counter() - t, 'boto3' in sys.modules)"
    )
    timings = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=HANDLER_PY.parent, capture_output=True, text=True, check=True
        ).stdout.split()
        timings.append(float(out[0]))
        assert out[1] == "False"
    assert min(timings) <= 0.150


def test_more_poison_than_one_sqs_batch_holds_goes_to_the_dlq_in_batches_of_ten(env: dict[str, str]) -> None:
    handler, runtime, sqs = load_handler(), FakeRuntime(), FakeSqs()
    event = event_with([f"bad message {n}" for n in range(23)])

    result = run(handler, event, runtime, sqs)

    assert result == {"batchItemFailures": []} and runtime.calls == []
    assert [len(batch["Entries"]) for batch in sqs.batches] == [10, 10, 3]
    assert sorted(dead_ids(sqs)) == sorted(r["messageId"] for r in event["Records"])


def test_hostile_bodies_are_poison_with_a_reason_never_retried(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 item 8 / issue 12 item 24: these were retried as transient failures, then dead-lettered
    by SQS without a reason (RecursionError, OverflowError), or named the wrong problem."""
    monkeypatch.setenv("MLPIPE_MAX_ROWS", "100")
    row = [float(v) for v in TUTORIAL.split(",")]
    hostile = {
        "nested too deeply": '{"instances": ' + "[" * 100_000 + "]" * 100_000 + ', "id": "deep"}',
        "overflows a float": json.dumps({"instances": [[*row[:12], 10**4000]]}),
        "too long": '{"instances": [[' + "9" * 5000 + "]]}",
        "malformed JSON": json.dumps({"payload": TUTORIAL, "id": "cut"})[:-10],
        "over the limit of 100": json.dumps({"instances": [row] * 101}),
        "feature 3 overflows a float: '1e999'": TUTORIAL.replace("18.1", "1e999"),
    }
    handler, runtime, sqs = load_handler(), FakeRuntime(), FakeSqs()

    result = run(handler, event_with([*hostile.values(), TUTORIAL]), runtime, sqs)

    assert result == {"batchItemFailures": []}  # nothing left for SQS to retry
    reasons = [e["MessageAttributes"]["mlpipe-reason"]["StringValue"] for e in sqs.sent()]
    assert len(reasons) == len(hostile)
    for expected, reason in zip(hostile, reasons, strict=True):
        assert expected in reason, (expected, reason)
    assert len(log_events(capsys, "prediction")) == 1  # the good row of the same batch is predicted
