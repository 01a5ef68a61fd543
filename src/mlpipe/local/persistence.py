"""Snapshots of the embedded AWS's state, so a restart (or a killed server) brings everything back.

What a snapshot holds: every moto backend in use (queues with their messages, receive counts and
attributes; S3 objects; log events; Lambda functions with their code; event source mappings; IAM;
SageMaker; CodeCommit...) and the `ctx.state` entries extensions marked `registry.persistent`
(CodeCommit's git repositories, pipeline and build history...). Pickled in one piece, so objects
shared between services stay shared; locks, conditions and weak dictionaries are re-created on load.

When: a background thread writes a snapshot shortly after the state changed (at most every
`MIN_INTERVAL_S`, and never spending more than ~5% of the time on it), and a last one on a clean
stop. A crash loses at most the changes of that last interval. Written atomically (temp file,
fsync, rename), 0600, under the cache directory.

Consistency: mutating requests pass a gate; a snapshot waits until none is in flight (holding new
ones back only if it waited long) and takes every SQS queue's message lock, which receives (long
polls included, which wait without it) hold while they change a queue.

A snapshot is moto's object graph: it loads only with the moto version that wrote it. One from
another version (or unreadable, or writable by others) is moved aside and the server starts empty.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from mlpipe.local import registry
from mlpipe.local.registry import Context
from mlpipe.local.snapshot import capture, load

log = logging.getLogger("mlpipe.local")

MIN_INTERVAL_S = 0.5
CHECK_INTERVAL_S = 0.1
FAILED_BACKOFF_S = 5.0
QUIET_WAIT_S = 0.5  # wait this long for no mutating request in flight before holding new ones back
HOLD_WAIT_S = 2.0  # then at most this long (a request that calls the server itself cannot finish)
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Filter", "Search", "Lookup")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def snapshot_file() -> Path:
    from mlpipe.cache import cache_dir

    return cache_dir() / "local-state.pickle"


# -- what changes state ------------------------------------------------------------------------
_changes = [0]  # bumped by every change this process sees (requests, receives that returned messages)


def changed() -> None:
    """Mark the state changed (for work done outside requests)."""
    _changes[0] += 1


def _count_receives() -> None:
    """A receive that returned messages changed their receive counts and visibility."""
    from moto.sqs import models as sqs_models

    receive = sqs_models.SQSBackend.receive_message
    if getattr(receive, "_mlpipe_counted", False):
        return

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        messages = receive(self, *args, **kwargs)
        if messages:
            _changes[0] += 1
        return messages

    counted._mlpipe_counted = True  # type: ignore[attr-defined]
    counted._mlpipe_locked = True  # type: ignore[attr-defined]  # (sqs_speed: already wrapped)
    sqs_models.SQSBackend.receive_message = counted  # type: ignore[method-assign]


def mutating(environ: dict[str, Any]) -> bool:
    """Whether a request may change state (reads and SQS receives do not pass the gate)."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/_mlpipe/"):
        return False  # status and fault switches: not kept
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
        return operation != "ReceiveMessage" and not operation.startswith(_READ_PREFIXES)
    if path.startswith("/endpoints/") and path.endswith("/invocations"):
        return False  # SageMaker InvokeEndpoint
    return environ.get("REQUEST_METHOD") not in ("GET", "HEAD", "OPTIONS")


class Gate:
    """Mutating requests share it; a snapshot takes it alone. After `close`, they get a 503."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._held = False
        self.closed = False

    def holding(self, timeout: float) -> bool:
        """Wait until a snapshot holds new mutating requests back (tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._held, timeout)

    def enter(self) -> bool:
        with self._cond:
            while self._held:
                self._cond.wait()
            if self.closed:
                return False
            self._active += 1
            return True

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            _changes[0] += 1
            if self._active == 0:
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self, close: bool = False) -> Iterator[bool]:
        with self._cond:
            quiet = self._cond.wait_for(lambda: self._active == 0, QUIET_WAIT_S)
            self._held = True
            self.closed = self.closed or close
            self._cond.notify_all()  # (for whoever watches `holding`)
            if not quiet:
                quiet = self._cond.wait_for(lambda: self._active == 0, HOLD_WAIT_S)
        try:
            yield quiet
        finally:
            with self._cond:
                self._held = False
                self._cond.notify_all()


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())  # the rename must never expose a file whose blocks are not written
    os.replace(tmp, path)


def read_private(path: Path) -> bytes | None:
    """The file's bytes; None when absent. Refused (ValueError) unless it is the user's alone."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise ValueError(f"{path} is not private to this user (mode {oct(info.st_mode & 0o777)})")
        return f.read()


def discard(path: Path | None = None) -> bool:
    """Delete the snapshot (`mlpipe local reset` with no server running); True if there was one."""
    path = path or snapshot_file()
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


# -- the server's snapshotter ---------------------------------------------------------------------
STATE_KEY = "_persistence"  # ctx.state entry of the running Persistence (itself not kept)


def attach(ctx: Context, path: Path | None) -> Persistence | None:
    """Restore from `path` into a server being started; None (nothing kept) when path is None."""
    if path is None:
        return None
    keeper = Persistence(ctx, path)
    keeper.restore()
    ctx.state[STATE_KEY] = keeper
    return keeper


@contextlib.contextmanager
def mutation(ctx: Context) -> Iterator[None]:
    """In-process work that changes state outside a request (the mapping runner's deletes and log
    writes): it passes the snapshot gate as a mutating request does, and marks the state changed."""
    keeper = ctx.state.get(STATE_KEY)
    if keeper is None:
        yield
        return
    if not keeper.gate.enter():
        raise RuntimeError("the embedded AWS is stopping")
    try:
        yield
    finally:
        keeper.gate.leave()  # (counts the change)


def detach(ctx: Context) -> None:
    """On stop, before the extensions stop: the last snapshot."""
    keeper = ctx.state.pop(STATE_KEY, None)
    if keeper is not None:
        try:
            keeper.close()
        except Exception:  # the server must still stop; the previous snapshot stays on disk
            log.exception("last snapshot failed: the changes since the previous one are lost")


@registry.on_status
def _status(ctx: Context) -> dict[str, Any]:
    keeper = ctx.state.get(STATE_KEY)
    return keeper.status() if keeper is not None else {}


class Persistence:
    """Restores at start, snapshots on change, and a last time at stop."""

    def __init__(self, ctx: Context, path: Path) -> None:
        self.ctx = ctx
        self.path = path
        self.gate = Gate()
        self.saved_at_change = -1
        self.snapshots = 0
        self.last_bytes = 0
        self.last_seconds = 0.0
        self.last_saved = 0.0
        self.restored: dict[str, Any] = {}
        self.last_error = ""
        self._stop = threading.Event()
        self._save_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _count_receives()

    def restore(self) -> bool:
        started = time.perf_counter()
        try:
            data = read_private(self.path)
            if data is None:
                return False
            load(self.ctx, data)
        except Exception as exc:  # unreadable or foreign: keep it for inspection, start empty
            aside = self.path.with_name(f"{self.path.name}.unloadable-{int(time.time())}")
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            log.warning("snapshot %s not restored (%s); moved to %s, starting empty", self.path, exc, aside)
            return False
        self.restored = {"bytes": len(data), "seconds": round(time.perf_counter() - started, 3)}
        self.saved_at_change = _changes[0]
        log.info("restored state from %s (%d bytes in %.3f s)", self.path, len(data), self.restored["seconds"])
        return True

    def wrap(self, app: WsgiApp) -> WsgiApp:
        gate = self.gate

        def gated(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            if not mutating(environ):
                return app(environ, start_response)
            if not gate.enter():
                start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")])
                return [b"the embedded AWS is stopping"]
            try:
                chunks = app(environ, start_response)
                try:
                    return [b"".join(chunks)]  # the body is produced inside the gate
                finally:
                    getattr(chunks, "close", lambda: None)()
            finally:
                gate.leave()

        return gated

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mlpipe-snapshots", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(CHECK_INTERVAL_S):
            spacing = max(MIN_INTERVAL_S, 20 * self.last_seconds)  # <= ~5% of the time
            if _changes[0] != self.saved_at_change and time.monotonic() - self.last_saved >= spacing:
                try:
                    self.save()
                except Exception as exc:
                    self.last_saved = time.monotonic() + FAILED_BACKOFF_S  # not every tick
                    if repr(exc) != self.last_error:
                        log.exception("snapshot failed: the state is not kept across a restart")
                    self.last_error = repr(exc)

    def save(self, close: bool = False) -> bool:
        with self._save_lock:
            change = _changes[0]
            started = time.perf_counter()
            with self.gate.exclusive(close=close) as quiet:
                if not quiet and not close:
                    return False  # a request is stuck in the gate: try again on the next tick
                data = capture(self.ctx)
            write_atomically(self.path, data)
            self.saved_at_change = change
            self.snapshots += 1
            self.last_bytes, self.last_seconds = len(data), time.perf_counter() - started
            self.last_saved = time.monotonic()
            self.last_error = ""
            return True

    def close(self) -> None:
        """Last snapshot; mutating requests from here on are refused (503), so none is lost."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.save(close=True)

    def status(self) -> dict[str, Any]:
        return {
            "persistence": {
                "path": str(self.path),
                "snapshots": self.snapshots,
                "last_bytes": self.last_bytes,
                "last_seconds": round(self.last_seconds, 4),
                "pending": _changes[0] != self.saved_at_change,
                "restored": self.restored,
                "error": self.last_error,
            }
        }
