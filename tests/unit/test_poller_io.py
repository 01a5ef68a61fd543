"""The mapping runner's in-process queue and log writes keep the snapshot's guarantees (persistence.mutation)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlpipe.local import persistence
from mlpipe.local.persistence import STATE_KEY, Persistence, mutation
from mlpipe.local.poller_io import _attribute
from mlpipe.local.registry import Context


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

    from mlpipe.local.poller_io import put_log_lines

    backend, group = logs_backends["111122223333"]["eu-west-1"], "/aws/lambda/poller-io-unit"
    moto_create = backend.create_log_group

    def the_other_poller_first(name: str, tags: dict[str, str], **kwargs: object) -> object:
        moto_create(name, tags)  # the other poller wins the race
        return moto_create(name, tags, **kwargs)

    monkeypatch.setattr(backend, "create_log_group", the_other_poller_first)
    now = int(time.time() * 1000)
    put_log_lines(
        Context("http://127.0.0.1:1"), "111122223333", "eu-west-1", group, "s", [{"timestamp": now, "message": "kept"}]
    )
    assert [e.message for e in backend.groups[group].streams["s"].events] == ["kept"]
