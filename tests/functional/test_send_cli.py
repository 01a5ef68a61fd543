"""send, tail and redrive through the CLI: output, exit codes, one-line errors, nothing half-done."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from send_helpers import dead_letter_like_sqs, deployment, depth, queue_url, write_log_lines

from mlpipe.cli.app import run


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clients, endpoint_url: str) -> list[str]:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: shop\ntarget: local\n")
    deployment(clients)
    return ["--endpoint-url", endpoint_url]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_send_file_and_stdin(project, clients, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "rows.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    code, out, _ = _run([*project, "--output", "json", "send", "--file", "rows.csv"], capsys)
    assert code == 0
    data = json.loads(out)
    assert (data["rows"], data["messages"], data["header_line"], data["feature_count"]) == (2, 2, 1, 3)
    monkeypatch.setattr("sys.stdin", io.StringIO("7,8,9\n"))
    code, out, _ = _run([*project, "send", "--file", "-"], capsys)
    assert code == 0 and out.startswith("message id: ")
    assert depth(clients, clients.names("shop", "dev").trigger_queue) == 3


@pytest.mark.parametrize(
    ("argv", "expect", "code"),
    [
        (["send", "--file", "rows.csv"], "Error: rows.csv:3: 2 values, the deployed model expects 3 features", 2),
        (["send", "--file", "empty.csv"], "Error: empty.csv: no rows to send", 2),
        (["send", "--file", "missing.csv"], "Error: missing.csv: no such file", 2),
        (["send", "--json", "{nope"], "Error: --json: malformed JSON at line 1 column 2", 2),
        (["send", "--payload", "1,2,3", "--wait", "--timeout", "-5"], "Error: --timeout -5: must not be negative", 2),
        (["send"], "Error: give exactly one of --payload, --json, --file", 2),
        (["tail", "logs", "--since", "last tuesday"], "Error: --since 'last tuesday': not a duration", 2),
        (["--stage", "qa", "send", "--payload", "1,2,3"], "Error: app 'shop' stage 'qa' is not deployed", 7),
        (["--stage", "qa", "tail", "dlq"], "Error: app 'shop' stage 'qa' is not deployed", 7),
        (["--stage", "qa", "tail", "logs"], "Error: app 'shop' stage 'qa' is not deployed", 7),
        (["--stage", "qa", "redrive"], "Error: app 'shop' stage 'qa' is not deployed", 7),
        (["redrive", "--rate", "0"], "Error: --rate 0: must be between 1 and 500", 2),
    ],
)
def test_bad_inputs_are_one_line_errors_and_send_nothing(  # type: ignore[no-untyped-def]
    project, clients, tmp_path: Path, capsys, argv: list[str], expect: str, code: int
) -> None:
    (tmp_path / "rows.csv").write_text("1,2,3\n1,2,3\n1,2\n")
    (tmp_path / "empty.csv").write_text("\n")
    got, _, err = _run([*project, *argv], capsys)
    assert got == code, err
    lines = err.strip().splitlines()
    assert lines[0].startswith(expect), err
    assert len(lines) <= 2 and "Traceback" not in err  # the error, and at most a hint
    assert depth(clients, clients.names("shop", "dev").trigger_queue) == 0


def test_tail_logs_renders_predictions_readably_and_raw_as_json(project, clients, capsys) -> None:  # type: ignore[no-untyped-def]
    names = clients.names("shop", "dev")
    line = {
        "event": "prediction",
        "message_id": "m-42",
        "correlation_id": "c",
        "rows": 1,
        "predictions": [23.456789],
        "latency_ms": 9.5,
    }
    write_log_lines(clients, names.log_group, ["START RequestId: r1", line])
    code, out, _ = _run([*project, "tail", "logs", "--since", "5m"], capsys)
    assert code == 0
    readable = out.strip().splitlines()
    assert readable[0].endswith("START RequestId: r1")
    assert readable[1].split("  ")[1:] == ["prediction", "m-42", "[23.4568]", "9.5 ms"]
    code, out, _ = _run([*project, "-o", "json", "tail", "logs", "--since", "5m", "--filter", '"prediction"'], capsys)
    [raw] = [json.loads(x) for x in out.strip().splitlines()]
    assert json.loads(raw["message"]) == line and raw["logStreamName"] == "s1"


def test_tail_dlq_and_redrive(project, clients, capsys) -> None:  # type: ignore[no-untyped-def]
    names = clients.names("shop", "dev")
    clients.client("sqs").send_message(
        QueueUrl=queue_url(clients, names.dlq),
        MessageBody="1,2",
        MessageAttributes={"mlpipe-reason": {"DataType": "String", "StringValue": "row 1 has 2 value(s)"}},
    )
    code, out, _ = _run([*project, "tail", "dlq"], capsys)
    assert code == 0 and "row 1 has 2 value(s)" in out and "shop-dev-dlq: 1 of ~1 message(s)" in out
    code, out, _ = _run([*project, "-o", "json", "tail", "dlq"], capsys)
    [listed] = json.loads(out)["messages"]
    assert (listed["body"], listed["reason"], listed["receive_count"]) == ("1,2", "row 1 has 2 value(s)", 2)
    code, out, _ = _run([*project, "redrive"], capsys)
    assert code == 0
    assert out.strip() == "completed: moved 1 of ~1 message(s) from shop-dev-dlq to shop-dev-trigger"
    assert depth(clients, names.trigger_queue) == 1 and depth(clients, names.dlq) == 0
    code, out, _ = _run([*project, "redrive"], capsys)
    assert (code, out.strip()) == (0, "shop-dev-dlq is empty: nothing moved")


def test_send_wait_timeout_is_a_delivery_error(project, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run([*project, "send", "--payload", "1,2,3", "--wait", "--timeout", "0.5"], capsys)
    assert code == 9
    assert out.strip() == "result: no result within 0.5s"
    assert "Error: 1 of 1 message(s) gave no prediction (0 in the dead-letter queue, 1 still pending)" in err


def test_send_wait_shows_a_message_sqs_dead_lettered(project, clients, capsys) -> None:  # type: ignore[no-untyped-def]
    import threading

    names = clients.names("shop", "dev")
    stop = threading.Event()
    worker = threading.Thread(target=dead_letter_like_sqs, args=(clients, names, stop), kwargs={"error_line": False})
    worker.start()
    try:
        code, out, err = _run([*project, "send", "--payload", "1,2,3", "--wait", "--timeout", "3"], capsys)
    finally:
        stop.set()
        worker.join()
    assert code == 9
    assert out.strip() == "result: in the dead-letter queue: exceeded maxReceiveCount"
    assert "Error: 1 of 1 message(s) gave no prediction (1 in the dead-letter queue, 0 still pending)" in err
    assert depth(clients, names.dlq) == 1


def test_send_imports_no_heavy_package(project, clients, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import re
    import subprocess
    import sys

    argv = [sys.executable, "-X", "importtime", "-m", "mlpipe", *project, "send", "--payload", "1,2,3"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = set(re.findall(r"\|\s+([\w.]+)\s*$", done.stderr, flags=re.MULTILINE))
    assert "mlpipe.ops.send" in imported  # the log is real: the command ran
    heavy = {m.split(".")[0] for m in imported} & {"xgboost", "sklearn", "pandas", "sagemaker", "numpy", "moto"}
    assert heavy == set()
    assert depth(clients, clients.names("shop", "dev").trigger_queue) == 1


def test_send_wait_with_a_model_but_no_endpoint_says_so_at_once(
    tmp_path: Path, monkeypatch, clients, endpoint_url, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: shop\ntarget: local\n")
    _, names = deployment(clients)  # a model and its endpoint ...
    clients.client("sagemaker").delete_endpoint(EndpointName=names.endpoint)  # ... then the endpoint is gone
    argv = ["--endpoint-url", endpoint_url, "send", "--payload", "1,2,3", "--wait", "--timeout", "300"]
    code, out, err = _run(argv, capsys)  # would wait 300 s without the check
    assert code == 7 and out == ""
    assert f"Error: endpoint {names.endpoint} does not exist" in err and "mlpipe --stage dev train" in err
    assert depth(clients, names.trigger_queue) == 0  # nothing sent


def test_send_wait_without_a_model_says_so_at_once(tmp_path: Path, monkeypatch, clients, endpoint_url, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: shop\ntarget: local\n")
    _, names = deployment(clients, feature_count=None)  # queues, but no model (train never ran)
    argv = ["--endpoint-url", endpoint_url, "send", "--payload", "1,2,3", "--wait", "--timeout", "300"]
    code, out, err = _run(argv, capsys)  # would wait 300 s without the check
    assert code == 7 and out == ""
    assert "Error: no model is trained for shop/dev: nothing would answer" in err and "mlpipe train" in err
    assert depth(clients, names.trigger_queue) == 0  # nothing sent
