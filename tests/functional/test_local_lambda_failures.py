"""Crashed and timed-out invocations keep their log lines, with the lines Lambda itself writes."""

from __future__ import annotations

import re

from local_helpers import client, create_function, handler_zip, log_lines, wait_for
from test_local_mappings import queues

FAILING = """
import os, sys, time

def handler(event, context):
    body = event["Records"][0]["body"]
    print("started", body, flush=True)
    if body == "crash":
        os._exit(3)
    if body == "sleep":
        time.sleep(30)
    return {}
"""


def _run(endpoint_url: str, name: str, body: str) -> list[str]:
    url, arn, _ = queues(endpoint_url, name, visibility=30, max_receive=5)
    create_function(endpoint_url, f"{name}-fn", {}, 1, handler_zip(FAILING))
    client(endpoint_url, "lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=f"{name}-fn")
    client(endpoint_url, "sqs").send_message(QueueUrl=url, MessageBody=body)
    group = f"/aws/lambda/{name}-fn"
    return wait_for(lambda: (ls := log_lines(endpoint_url, group)) and ls[-1].startswith("REPORT") and ls, 30, "REPORT")


def test_a_timed_out_invocation_keeps_its_lines_and_says_task_timed_out(endpoint_url: str) -> None:
    lines = _run(endpoint_url, "late", "sleep")

    start, printed, timed_out, end, report = lines[:5]
    request_id = start.split()[2]
    assert start == f"START RequestId: {request_id} Version: $LATEST"
    assert printed == "started sleep"  # printed before the timeout, kept as Lambda keeps it
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {request_id} Task timed out after 1\.00 seconds", timed_out
    )
    assert end == f"END RequestId: {request_id}"
    assert report.startswith(f"REPORT RequestId: {request_id}\tDuration: ") and report.endswith("\tStatus: timeout")
    assert int(re.search(r"Max Memory Used: (\d+) MB", report).group(1)) > 0  # type: ignore[union-attr]


def test_a_crashed_invocation_keeps_its_lines_and_says_runtime_exit_error(endpoint_url: str) -> None:
    lines = _run(endpoint_url, "crashing", "crash")

    request_id = lines[0].split()[2]
    assert lines[1:5] == [
        "started crash",
        f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
        "Runtime.ExitError",
        f"END RequestId: {request_id}",
    ]
    assert lines[5].endswith("\tStatus: error\tError Type: Runtime.ExitError")
