"""The Lambda handler (templates/handler/handler.py) on real SQS event shapes, with fake clients injected."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
HANDLER_PY = REPO / "templates" / "handler" / "handler.py"
TUTORIAL = "14.0507,0,18.1,0,0.597,6.657,100,1.5275,24,666,20.2,35.05,21.22"


def load_handler() -> Any:
    spec = importlib.util.spec_from_file_location("mlpipe_handler_under_test", HANDLER_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeRuntime:
    """sagemaker-runtime: 'predicts' the sum of each row; can fail the first calls or refuse rows."""

    def __init__(self, fail_codes: list[str] | None = None, refuse_value: float | None = None) -> None:
        self.fail_codes = list(fail_codes or [])
        self.refuse_value = refuse_value
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
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
            raise ClientError(
                {
                    "Error": {"Code": "ModelError", "Message": "Received client error (400) from primary"},
                    "ResponseMetadata": {"HTTPStatusCode": 424},
                },
                "InvokeEndpoint",
            )
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


def run(handler: Any, event: dict[str, Any], runtime: FakeRuntime, sqs: FakeSqs, remaining_ms: int = 30_000) -> Any:
    handler.use_clients(runtime=runtime, sqs=sqs)
    return handler.handler(event, Context(remaining_ms))


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
        "not finite": TUTORIAL.replace("18.1", "nan"),
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
    assert "'payload' or 'instances'" in reasons[3]
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
    handler = load_handler()
    monkeypatch.setattr(handler.time, "sleep", lambda seconds: None)
    runtime, sqs = FakeRuntime(fail_codes=["ThrottlingException"] * 100), FakeSqs()

    result = run(handler, event_with([TUTORIAL, "oops", TUTORIAL]), runtime, sqs, remaining_ms=1000)

    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0000"}, {"itemIdentifier": "msg-0002"}]}
    assert len(runtime.calls) == 1  # less time left than the reserve: no retry
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


def test_bodies_above_the_endpoint_limit_are_split(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    one_row = len(handler._csv([[float(v) for v in TUTORIAL.split(",")]]))
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
