"""The mapping runner's in-process queue and log writes keep the snapshot's guarantees (persistence.mutation)."""

from __future__ import annotations

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
