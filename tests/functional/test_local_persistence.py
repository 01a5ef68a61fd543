"""The embedded AWS keeps its state across restarts: a real `mlpipe local up` process is killed
with 500 messages queued, started again, and delivers all 500 as predictions."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_helpers import (
    TUTORIAL_PAYLOAD,
    client,
    deploy_stack,
    json_events,
    log_lines,
    queue_depth,
    send_all,
    wait_for,
)

from conftest import free_port
from mlpipe.local import control
from mlpipe.local.persistence import snapshot_file
from mlpipe.local.state import read_state


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache directory (so a snapshot) of this test's own; any server it started is stopped."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MLPIPE_CACHE_DIR", str(cache))
    yield cache
    control.stop()


def status(endpoint_url: str) -> dict[str, Any]:
    return dict(json.loads(urllib.request.urlopen(f"{endpoint_url}/_mlpipe/status", timeout=10).read()))


def kill_hard() -> None:
    state = read_state()
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    os.waitpid(state.pid, 0)  # our child: reap it, so it no longer looks alive


@pytest.mark.slow
def test_kill_nine_with_500_queued_messages_loses_none(own_cache: Path) -> None:
    port = free_port()
    url = control.start_background(port).state.endpoint_url
    stack = deploy_stack(url, app="keep", batch_size=10, timeout=20, visibility=120)
    lam, sqs = client(url, "lambda"), stack.sqs()
    lam.update_event_source_mapping(UUID=stack.mapping_uuid, Enabled=False)
    wait_for(lambda: not any(m["enabled"] for m in status(url)["mappings"]), 20, "the executor to stop polling")
    ids = send_all(
        sqs, stack.trigger_url, [json.dumps({"payload": TUTORIAL_PAYLOAD, "id": f"c-{n}"}) for n in range(500)]
    )
    wait_for(lambda: not status(url)["persistence"]["pending"], 20, "a snapshot with the 500 messages")
    kept = status(url)["persistence"]

    kill_hard()
    restarted = control.start_background(port).state
    assert restarted.endpoint_url == url
    restored = status(url)["persistence"]["restored"]
    assert restored["bytes"] == kept["last_bytes"]

    # Resources back: queues (with their redrive policy), function, mapping (still disabled), model.
    attributes = sqs.get_queue_attributes(QueueUrl=stack.trigger_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 3
    assert queue_depth(sqs, stack.trigger_url) == 500
    assert lam.get_function(FunctionName=stack.function)["Configuration"]["State"] == "Active"
    assert lam.get_event_source_mapping(UUID=stack.mapping_uuid)["State"] == "Disabled"
    assert client(url, "sagemaker").describe_endpoint(EndpointName=stack.endpoint)["EndpointStatus"] == "InService"

    lam.update_event_source_mapping(UUID=stack.mapping_uuid, Enabled=True)
    wait_for(lambda: queue_depth(sqs, stack.trigger_url) == 0, 240, "the 500 messages to be consumed")
    predicted = {p["message_id"] for p in json_events(log_lines(url, stack.log_group), "prediction")}
    assert predicted == set(ids)
    print(f"\nsnapshot {kept['last_bytes']} bytes in {kept['last_seconds']} s; restored in {restored['seconds']} s")


@pytest.mark.slow
def test_clean_restart_keeps_objects_logs_and_receive_counts(own_cache: Path) -> None:
    port = free_port()
    url = control.start_background(port).state.endpoint_url
    s3, logs, sqs = client(url, "s3"), client(url, "logs"), client(url, "sqs")
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="a/b.bin", Body=b"\x00" * 70_000)
    now_ms = int(time.time() * 1000)
    logs.create_log_group(logGroupName="/kept")
    logs.create_log_stream(logGroupName="/kept", logStreamName="s")
    logs.put_log_events(logGroupName="/kept", logStreamName="s", logEvents=[{"timestamp": now_ms, "message": "hi"}])
    queue = sqs.create_queue(QueueName="kept", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(
        QueueUrl=queue,
        MessageBody="m",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    sqs.receive_message(QueueUrl=queue)
    sqs.receive_message(QueueUrl=queue)
    cc = client(url, "codecommit")
    cc.create_repository(repositoryName="kept-repo", tags={"k": "v"})
    commit = cc.create_commit(
        repositoryName="kept-repo", branchName="main", putFiles=[{"filePath": "a/b.txt", "fileContent": b"B"}]
    )["commitId"]

    control.stop()  # `local down`: the last snapshot is written on the way out
    assert snapshot_file().stat().st_mode & 0o777 == 0o600
    control.start_background(port)

    assert s3.get_object(Bucket="kept-bucket", Key="a/b.bin")["Body"].read() == b"\x00" * 70_000
    events = logs.get_log_events(logGroupName="/kept", logStreamName="s")["events"]
    assert [e["message"] for e in events] == ["hi"]
    [message] = sqs.receive_message(
        QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"], MessageAttributeNames=["All"]
    )["Messages"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "3"
    assert message["MessageAttributes"]["k"]["StringValue"] == "v"
    assert cc.get_branch(repositoryName="kept-repo", branchName="main")["branch"]["commitId"] == commit
    assert cc.get_file(repositoryName="kept-repo", filePath="a/b.txt")["fileContent"] == b"B"
    arn = cc.get_repository(repositoryName="kept-repo")["repositoryMetadata"]["Arn"]
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"k": "v"}
