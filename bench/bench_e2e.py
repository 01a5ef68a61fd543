"""End to end through the embedded AWS: SQS -> mapping runner -> handler -> InvokeEndpoint -> logs.

    .venv/bin/python bench/bench_e2e.py [messages]

Queues 1,000 messages (batch size 10) with the mapping disabled, enables it, and times until every
message is predicted and deleted. Baseline, measured in the same run on the same server: a plain
SQS consumer (receive 10 + delete batch, no Lambda, no endpoint) draining the same number of
messages: the emulator's own ceiling. Also reports InvokeEndpoint calls per 1,000 messages (target
<= 100 + retries) and the handler's cold import time (target <= 150 ms).

Targets: >= 100 messages/s end to end on the project's 2-core machine, and >= 0.6 of the baseline
(MLPIPE_LOCAL_IAM=off measures the same without the IAM checks).

MLPIPE_BENCH_PERSIST=1 runs the server as `mlpipe local up` does, snapshotting its state (and
reports the snapshots taken, their size and time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "functional"))
os.environ.setdefault("MLPIPE_LOCAL_PENDING_SECONDS", "0.2")
os.environ.setdefault("MLPIPE_CACHE_DIR", tempfile.mkdtemp(prefix="mlpipe-bench-"))

import local_helpers as h  # noqa: E402  (the functional tests' stack builder)

MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
TARGET_RATE = 100.0
TARGET_IMPORT_MS = 150.0
TARGET_RATIO = 0.6  # issue 14: end to end >= 0.6 of the plain consumer, signatures and IAM on


def admin(url: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    from mlpipe.local.control import admin_request

    status, answer = admin_request(url, method, path, body, timeout=10)
    if status != 200:
        raise SystemExit(f"{method} {path} answered {status}: {answer}")
    return dict(answer)


def baseline_rate(url: str, bodies: list[str]) -> float:
    """Messages/s of a plain receive+delete consumer on the same emulator (no Lambda, no model)."""
    sqs = h.client(url, "sqs")
    queue = sqs.create_queue(QueueName="bench-baseline")["QueueUrl"]
    h.send_all(sqs, queue, bodies)
    started, done = time.perf_counter(), 0
    while done < len(bodies):
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            done += len(messages)
    return len(bodies) / (time.perf_counter() - started)


def e2e(url: str, bodies: list[str]) -> tuple[float, int, int]:
    """(messages/s, InvokeEndpoint calls, retries logged) for the whole architecture."""
    stack = h.deploy_stack(url, app="bench", batch_size=10, timeout=10, visibility=60)
    lam, sqs = h.client(url, "lambda"), stack.sqs()
    lam.update_event_source_mapping(UUID=stack.mapping_uuid, Enabled=False)
    time.sleep(1.5)  # the mapping runner stops polling
    # Warm the worker and the model first, as a long-running deployment would be.
    sqs.send_message(QueueUrl=stack.trigger_url, MessageBody=json.dumps({"payload": h.TUTORIAL_PAYLOAD}))
    lam.update_event_source_mapping(UUID=stack.mapping_uuid, Enabled=True)
    h.wait_for(lambda: h.queue_depth(sqs, stack.trigger_url) == 0, 60, "the warm-up message")
    lam.update_event_source_mapping(UUID=stack.mapping_uuid, Enabled=False)
    time.sleep(1.5)
    h.send_all(sqs, stack.trigger_url, bodies)
    # A fault rule that never fires counts the endpoint calls.
    admin(url, "POST", "/_mlpipe/faults", {"service": "sagemaker-runtime", "operation": "InvokeEndpoint", "rate": 0})

    started = time.perf_counter()
    lam.update_event_source_mapping(UUID=stack.mapping_uuid, Enabled=True)
    h.wait_for(lambda: h.queue_depth(sqs, stack.trigger_url) == 0, 600, "the queue to drain")
    elapsed = time.perf_counter() - started

    lines = h.log_lines(url, stack.log_group)
    ids = [p["correlation_id"] for p in h.json_events(lines, "prediction") if p["correlation_id"]]
    if len(set(ids)) != len(bodies):
        raise SystemExit(f"only {len(set(ids))} of {len(bodies)} messages were predicted")
    if len(ids) != len(bodies):  # SQS delivers at least once; say so rather than hide it
        print(f"note: {len(ids) - len(bodies)} message(s) were delivered and predicted twice")
    calls = int(admin(url, "GET", "/_mlpipe/faults")["faults"][0]["calls"])
    for mapping in admin(url, "GET", "/_mlpipe/status")["mappings"]:
        if mapping["errors"]:
            print(f"note: poller errors {mapping['errors']}, last: {mapping['last_error']}")
    return len(bodies) / elapsed, calls, len(h.json_events(lines, "retry"))


def cold_import_ms(runs: int = 7) -> float:
    code = "import time; t = time.perf_counter(); import handler; print((time.perf_counter() - t) * 1000)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], cwd=h.HANDLER_DIR, capture_output=True, text=True).stdout)
        for _ in range(runs)
    ]
    return sorted(times)[len(times) // 2]


def main() -> None:
    from mlpipe.local.server import EmbeddedServer

    persist = os.environ.get("MLPIPE_BENCH_PERSIST", "") not in ("", "0")
    snapshot = Path(os.environ["MLPIPE_CACHE_DIR"]) / "local-state.pickle" if persist else None
    server = EmbeddedServer(port=0, state_path=snapshot)
    server.start()
    url = server.endpoint_url
    # Every client here (boto3's chain, the admin routes) signs with the server's operator keys.
    os.environ["AWS_ACCESS_KEY_ID"] = server.operator.access_key_id
    os.environ["AWS_SECRET_ACCESS_KEY"] = server.operator.secret_access_key
    bodies = [json.dumps({"payload": h.TUTORIAL_PAYLOAD, "id": f"b-{n}"}) for n in range(MESSAGES)]
    try:
        base = baseline_rate(url, bodies)
        rate, calls, retries = e2e(url, bodies)
        kept = admin(url, "GET", "/_mlpipe/status").get("persistence")
    finally:
        server.stop()
    per_thousand = calls * 1000 / MESSAGES
    import_ms = cold_import_ms()
    print(f"messages:                         {MESSAGES} (batch size 10)")
    print(f"baseline (plain SQS consumer):    {base:8.1f} messages/s")
    print(f"end to end (Lambda + endpoint):   {rate:8.1f} messages/s   target >= {TARGET_RATE:.0f}")
    print(f"ratio end to end / baseline:      {rate / base:8.2f}        target >= {TARGET_RATIO}")
    print(f"InvokeEndpoint calls per 1,000:   {per_thousand:8.1f}        target <= 100 + retries ({retries} retries)")
    print(f"handler cold import (median):     {import_ms:8.1f} ms      target <= {TARGET_IMPORT_MS:.0f} ms")
    if kept:
        print(f"snapshots: {kept['snapshots']}, last {kept['last_bytes']} bytes in {kept['last_seconds']} s")
    ok = (
        rate >= TARGET_RATE
        and rate / base >= TARGET_RATIO
        and per_thousand <= 100 + retries * 1000 / MESSAGES
        and import_ms <= TARGET_IMPORT_MS
    )
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
