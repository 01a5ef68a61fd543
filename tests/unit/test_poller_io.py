"""The mapping runner's in-process queue and log writes keep the snapshot's guarantees (persistence.mutation)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlpipe.local import persistence, role_logs
from mlpipe.local.persistence import STATE_KEY, Persistence, mutation
from mlpipe.local.poller_io import AccessDenied, RoleQueue, _attribute
from mlpipe.local.registry import Context
from mlpipe.local.role_logs import RoleLogStream


def test_an_in_process_change_passes_the_gate_and_marks_the_state_changed(tmp_path: Path) -> None:
    ctx = Context("http://127.0.0.1:1")
    keeper = Persistence(ctx, tmp_path / "state.pickle")
    ctx.state[STATE_KEY] = keeper
    before = persistence._changes[0]
    with mutation(ctx):
        assert keeper.gate._active == 1  # a snapshot waits for it, as for a mutating request
    assert keeper.gate._active == 0
    assert persistence._changes[0] > before  # the snapshotter sees a change to keep


def test_an_in_process_change_is_refused_once_the_server_is_stopping(tmp_path: Path) -> None:
    ctx = Context("http://127.0.0.1:1")
    keeper = Persistence(ctx, tmp_path / "state.pickle")
    ctx.state[STATE_KEY] = keeper
    keeper.gate.closed = True  # the last snapshot is taken: nothing may change after it
    with pytest.raises(RuntimeError, match="stopping"), mutation(ctx):
        pytest.fail("ran after the last snapshot")


def test_without_persistence_a_change_just_runs() -> None:
    ran = []
    with mutation(Context("http://127.0.0.1:1")):
        ran.append(True)
    assert ran == [True]


def test_binary_message_attributes_reach_the_event_base64_encoded() -> None:
    value = _attribute({"DataType": "Binary", "BinaryValue": b"\x00\x01"})
    assert value == {"DataType": "Binary", "BinaryValue": "AAE="}


def test_log_lines_reach_a_group_another_writer_created_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two pollers' first invocations both find the group missing: the one that creates it second
    must still write its lines (moto answers ResourceAlreadyExists to the second creation)."""
    from moto.logs.models import logs_backends

    backend, group = logs_backends["111122223333"]["eu-west-1"], "/aws/lambda/poller-io-unit"
    moto_create = backend.create_log_group

    def the_other_poller_first(name: str, tags: dict[str, str], **kwargs: object) -> object:
        moto_create(name, tags)  # the other poller wins the race
        return moto_create(name, tags, **kwargs)

    monkeypatch.setattr(backend, "create_log_group", the_other_poller_first)
    monkeypatch.setattr(role_logs, "refusal", lambda *args: "")  # the race, not the role, is under test
    now = int(time.time() * 1000)
    writer = RoleLogStream(
        "111122223333", "eu-west-1", group, "s", "arn:aws:iam::111122223333:role/poller-io-unit", "poller-io-unit"
    )
    assert writer.write(Context("http://127.0.0.1:1"), [{"timestamp": now, "message": "kept"}]) == ""
    assert [e.message for e in backend.groups[group].streams["s"].events] == ["kept"]


def test_a_function_without_a_role_is_never_served_as_the_emulator() -> None:
    """The API refuses an empty Role (ext/request_validation.py); should one exist anyway, the
    poller may neither receive nor write logs for it, instead of acting with the emulator's rights."""
    from moto.logs.models import logs_backends

    ctx = Context("http://127.0.0.1:1")
    with pytest.raises(AccessDenied, match="no execution role"):
        RoleQueue(ctx, "arn:aws:sqs:eu-west-1:111122223333:no-role-q").authorize("", "fn", "sqs:ReceiveMessage")
    writer = RoleLogStream("111122223333", "eu-west-1", "/aws/lambda/no-role", "s", "", "fn")
    refused = writer.write(ctx, [{"timestamp": 1, "message": "x"}])
    assert "no execution role" in refused and "logs:CreateLogGroup" in refused
    assert "/aws/lambda/no-role" not in logs_backends["111122223333"]["eu-west-1"].groups


def test_releasing_a_batch_goes_on_past_an_expired_receipt_handle(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import sqs_backends

    backend = sqs_backends["111122223333"]["eu-west-1"]
    backend.create_queue("release-q", VisibilityTimeout="60")
    for body in ("a", "b"):
        backend.send_message("release-q", body)
    queue = RoleQueue(Context("http://127.0.0.1:1"), "arn:aws:sqs:eu-west-1:111122223333:release-q")
    monkeypatch.setattr(queue, "authorize", lambda *args: None)  # the release, not the role, is under test
    handles = [m["ReceiptHandle"] for m in queue.receive("role", "fn", 10)]
    assert len(handles) == 2

    queue.release("role", "fn", ["expired-handle", *handles])

    assert sorted(m["Body"] for m in queue.receive("role", "fn", 10)) == ["a", "b"]  # both visible again
