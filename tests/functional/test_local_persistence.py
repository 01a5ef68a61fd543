"""The embedded AWS keeps its state across restarts: a real `mlpipe local up` process is killed
with 500 messages queued, started again, and delivers all 500 as predictions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
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
    """A cache directory (so a snapshot and operator keys) of this test's own; the server it
    started is stopped. boto3 clients sign with the keys exported by `start`."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MLPIPE_CACHE_DIR", str(cache))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "")  # restored after the test, whatever `start` exports
    yield cache
    control.stop()
    boto3.DEFAULT_SESSION = None  # it cached this server's keys


def start(port: int) -> str:
    """`mlpipe local up` in its own process; its keys exported as `eval "$(mlpipe local env)"` does."""
    state = control.start_background(port).state
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = state.access_key_id, state.secret_access_key
    boto3.DEFAULT_SESSION = None  # boto3.client() resolves (and caches) keys once per default session
    return state.endpoint_url


def status(endpoint_url: str) -> dict[str, Any]:
    code, body = control.admin_request(endpoint_url, "GET", "/_mlpipe/status")
    assert code == 200, body
    return dict(body)


def kill_hard() -> None:
    state = read_state()
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    os.waitpid(state.pid, 0)  # our child: reap it, so it no longer looks alive


def test_kill_nine_with_500_queued_messages_loses_none(own_cache: Path) -> None:
    port = free_port()
    url = start(port)
    stack = deploy_stack(url, app="keep", batch_size=10, timeout=20, visibility=120)
    lam, sqs = client(url, "lambda"), stack.sqs()
    lam.update_event_source_mapping(UUID=stack.mapping_uuid, Enabled=False)
    wait_for(lambda: not any(m["enabled"] for m in status(url)["mappings"]), 20, "the mapping runner to stop polling")
    ids = send_all(
        sqs, stack.trigger_url, [json.dumps({"payload": TUTORIAL_PAYLOAD, "id": f"c-{n}"}) for n in range(500)]
    )
    wait_for(lambda: not status(url)["persistence"]["pending"], 20, "a snapshot with the 500 messages")
    kept = status(url)["persistence"]

    kill_hard()
    assert start(port) == url  # and the same keys: the clients made before the crash keep working
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


def test_clean_restart_keeps_objects_logs_and_receive_counts(own_cache: Path) -> None:
    port = free_port()
    url = start(port)
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
    start(port)
    shown = mlpipe("local", "status")
    assert f"State kept in {snapshot_file()}" in shown.stdout and "restored" in shown.stdout, shown.stdout

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


def mlpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlpipe", *args], capture_output=True, text=True, timeout=120)


def test_local_reset_empties_the_running_server_and_the_kept_state(own_cache: Path) -> None:
    port = free_port()
    url = start(port)
    sqs = client(url, "sqs")
    sqs.create_queue(QueueName="to-forget")
    reset = mlpipe("local", "reset")
    assert reset.returncode == 0 and "Emptied the running embedded AWS" in reset.stderr, reset.stderr
    assert sqs.list_queues().get("QueueUrls", []) == []
    wait_for(lambda: not status(url)["persistence"]["pending"], 20, "a snapshot of the empty state")
    control.stop()
    start(port)
    assert sqs.list_queues().get("QueueUrls", []) == []  # the reset was kept

    sqs.create_queue(QueueName="kept-until-reset")
    control.stop()
    assert snapshot_file().exists()
    reset = mlpipe("local", "reset")
    assert reset.returncode == 0 and "the next `mlpipe local up` starts empty" in reset.stderr, reset.stderr
    assert not snapshot_file().exists()
    start(port)
    assert sqs.list_queues().get("QueueUrls", []) == []
    again = mlpipe("--output", "json", "local", "reset")
    assert json.loads(again.stdout) == {"reset": "running"}


def test_a_pushed_repository_survives_a_killed_server(own_cache: Path, tmp_path: Path) -> None:
    """`git push` through the credential helper `bootstrap-pipeline` prints, kill -9, clone again."""
    port = free_port()
    url = start(port)
    client(url, "codecommit").create_repository(repositoryName="pushed")
    remote = f"{url}/v1/repos/pushed"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }

    def git(cwd: Path, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "config", f"credential.{url}.helper", f"!{sys.executable} -m mlpipe local git-credential")
    git(work, "remote", "add", "local", remote)
    (work / "mlpipe.yaml").write_text("app: pushed\n")
    git(work, "add", "mlpipe.yaml")
    git(work, "commit", "-qm", "first")
    git(work, "push", "-q", "local", "main")
    head = git(work, "rev-parse", "HEAD")
    assert (
        client(url, "codecommit").get_branch(repositoryName="pushed", branchName="main")["branch"]["commitId"] == head
    )

    wait_for(lambda: not status(url)["persistence"]["pending"], 20, "a snapshot with the push")
    kill_hard()
    start(port)
    git(
        tmp_path,
        "-c",
        f"credential.{url}.helper=!{sys.executable} -m mlpipe local git-credential",
        "clone",
        "-q",
        remote,
        "again",
    )
    assert git(tmp_path / "again", "rev-parse", "HEAD") == head
    assert (tmp_path / "again" / "mlpipe.yaml").read_text() == "app: pushed\n"
