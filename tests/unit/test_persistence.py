"""Snapshots of the embedded AWS: what counts as a change, the gate, pickling, the file's safety."""

from __future__ import annotations

import collections
import io
import pickle
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest

from mlpipe.local import persistence, snapshot
from mlpipe.local.registry import Context


@pytest.mark.parametrize(
    ("method", "path", "target", "expected"),
    [
        ("POST", "/", "AmazonSQS.SendMessageBatch", True),
        ("POST", "/", "AmazonSQS.ReceiveMessage", False),  # consistent through the queue locks
        ("POST", "/", "AmazonSQS.GetQueueAttributes", False),
        ("POST", "/", "Logs_20140328.FilterLogEvents", False),
        ("POST", "/", "CodeCommit_20150413.GetFolder", False),
        ("POST", "/", "Logs_20140328.PutLogEvents", True),
        ("PUT", "/bucket/key", "", True),  # S3 PutObject
        ("GET", "/bucket/key", "", False),
        ("POST", "/endpoints/x/invocations", "", False),  # InvokeEndpoint
        ("POST", "/2015-03-31/functions", "", True),  # Lambda CreateFunction
        ("POST", "/_mlpipe/faults", "", False),  # not kept
        ("POST", "/v1/repos/app/git-receive-pack", "", True),  # git push
    ],
)
def test_what_counts_as_a_change(method: str, path: str, target: str, expected: bool) -> None:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    assert persistence.mutating(environ) is expected


def test_gate_waits_for_requests_in_flight_and_holds_new_ones_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persistence, "QUIET_WAIT_S", 0.01)
    gate = persistence.Gate()
    assert gate.enter()
    events: list[str] = []
    snapshot_done = threading.Event()

    def take_snapshot() -> None:
        with gate.exclusive() as quiet:
            events.append(f"snapshot quiet={quiet}")
        snapshot_done.set()

    taker = threading.Thread(target=take_snapshot)
    taker.start()
    assert gate.holding(10)  # its quiet wait ran out: from now on new requests wait
    late = threading.Thread(target=lambda: (gate.enter(), events.append("late request"), gate.leave()))
    late.start()
    events.append("first request done")
    gate.leave()
    assert snapshot_done.wait(10)
    late.join(10)
    assert events[0] == "first request done"
    assert "snapshot quiet=True" in events and events.index("snapshot quiet=True") < events.index("late request")


def test_closed_gate_refuses_mutating_requests() -> None:
    gate = persistence.Gate()
    with gate.exclusive(close=True) as quiet:
        assert quiet
    assert not gate.enter()


class _Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rlock = threading.RLock()
        self.cond = threading.Condition()
        self.items = {"a": self}
        self.weak: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary({"a": self})
        self.aliases: collections.defaultdict[str, dict[str, int]] = collections.defaultdict(lambda: {})
        self.aliases["f"]["x"] = 1


def test_pickles_locks_weak_dictionaries_and_lambda_defaultdicts() -> None:
    original = _Holder()
    original.lock.acquire()
    buffer = io.BytesIO()
    snapshot._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(original)
    copy = pickle.loads(buffer.getvalue())
    assert copy.lock.acquire(blocking=False)  # a fresh, released lock
    with copy.rlock, copy.cond:
        pass
    assert copy.weak["a"] is copy and copy.items["a"] is copy
    assert copy.aliases["f"] == {"x": 1} and copy.aliases["new"] == {}


def test_snapshot_file_is_private_and_a_shared_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "local-state.pickle"
    persistence.write_atomically(path, b"data")
    assert path.stat().st_mode & 0o777 == 0o600
    assert persistence.read_private(path) == b"data"
    path.chmod(0o644)
    with pytest.raises(ValueError, match="not private"):
        persistence.read_private(path)
    assert persistence.read_private(tmp_path / "absent") is None


def test_a_snapshot_of_another_version_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "local-state.pickle"
    persistence.write_atomically(path, b"mlpipe-local-state 1 moto=0.0.1\n" + pickle.dumps({}))
    keeper = persistence.Persistence(Context(endpoint_url="http://127.0.0.1:1"), path)
    assert keeper.restore() is False
    assert not path.exists()
    [aside] = tmp_path.glob("local-state.pickle.unloadable-*")
    assert aside.read_bytes().startswith(b"mlpipe-local-state 1 moto=0.0.1")


def test_a_git_repository_survives_pickling_with_its_commits_and_default_branch() -> None:
    from mlpipe.local.gitstore import EXECUTABLE, NORMAL, GitRepository

    repo = GitRepository("app", "eu-west-1")
    repo.tags = {"team": "ml"}
    first = repo.write_commit("main", None, {"a/b.txt": (NORMAL, b"B"), "run": (EXECUTABLE, b"x")}, "one", "me", "m@e")
    second = repo.write_commit("feature", first, {**repo.entries(first), "c": (NORMAL, b"C")}, "two", "me", "m@e")
    copy = pickle.loads(pickle.dumps(repo))
    assert copy.branches() == {"main": first, "feature": second}
    assert copy.default_branch == "main" and copy.tags == {"team": "ml"} and copy.region == "eu-west-1"
    assert copy.files(second) == {"a/b.txt": b"B", "run": b"x", "c": b"C"}
    assert copy.entries(second)["run"].mode == EXECUTABLE
    assert copy.write_commit("main", first, {"d": (NORMAL, b"D")}, "three", "me", "m@e") in copy.branches().values()


def test_extension_state_marked_persistent_pickles() -> None:
    """Every ctx.state entry the extensions keep across restarts goes through the snapshot pickler."""
    from mlpipe.local import registry
    from mlpipe.local.alarms import AlarmHistory
    from mlpipe.local.ext import codebuild, codecommit, codepipeline, events_delivery

    registry.load_extensions()
    assert {
        "codecommit",
        "codepipeline",
        "codebuild",
        "sagemaker_endpoints",
        "alarm_history",
        "events_delivery",
    } <= set(registry.PERSISTENT)
    history = AlarmHistory()
    history.add("1", "us-east-1", "a", "StateUpdate", "OK to ALARM", {"x": 1}, 1.0)
    values = [
        history,
        events_delivery.Deliveries(),
        codecommit.Store(),
        codepipeline.Executions(),
        codebuild.Builds(),
    ]
    copies = []
    for value in values:
        buffer = io.BytesIO()
        snapshot._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        copies.append(pickle.loads(buffer.getvalue()))
        assert type(copies[-1]) is type(value)
    copy = copies[0]
    assert [i["HistorySummary"] for i in copy.items("1", "us-east-1", "a")] == ["OK to ALARM"]
