"""Ctrl-C where stopping is safe.

Python raises KeyboardInterrupt wherever the main thread happens to be: between the calls that make
one resource (a bucket without its public access block), or between an SQS answer and the note of
what it sent. Code that must not be cut there runs in `deferred(what)`: while the CLI's `handling()`
is installed, a Ctrl-C inside the block is held until the block ends, where KeyboardInterrupt is
raised, and a second Ctrl-C raises at once (the user's way out of a call that hangs). Loops that can
stop early inside such a block ask `requested()`.

Without `handling()` (mlpipe used as a library, threads other than the main one, in-process tests)
both change nothing: Ctrl-C is Python's KeyboardInterrupt. Library code never prints: `handling` is
given the function that tells the user why the command has not stopped yet.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


@dataclass
class _State:
    installed: bool = False
    depth: int = 0  # nested deferred blocks of the main thread
    what: str = ""  # what the outermost block finishes, for the notice
    pending: bool = False  # a Ctrl-C is held


_state = _State()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def requested() -> bool:
    """A Ctrl-C is held: the deferred block should wind down (start nothing new)."""
    return _state.pending


@contextmanager
def deferred(what: str) -> Iterator[None]:
    """Hold a Ctrl-C until the block ends (then raise KeyboardInterrupt); `what` names the work that
    is finished first ("create sqs-queue app-dev-trigger"), for the notice the user sees."""
    if not (_state.installed and _main_thread()):
        yield
        return
    outer = _state.what
    _state.depth += 1
    _state.what = outer or what
    try:
        yield
    finally:
        _state.depth -= 1
        _state.what = outer
    if _state.depth == 0 and _state.pending:
        _state.pending = False
        raise KeyboardInterrupt


@contextmanager
def handling(notify: Callable[[str], None]) -> Iterator[None]:
    """Install the SIGINT handler for the block, in the main thread, only where Ctrl-C would raise
    KeyboardInterrupt (a process started with SIGINT ignored, e.g. in the background, keeps ignoring
    it). `notify(what)` runs, in the signal handler, when a Ctrl-C is held: it must not block."""
    if _state.installed or not _main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if _state.depth == 0 or _state.pending:
            _state.pending = False
            raise KeyboardInterrupt
        _state.pending = True
        notify(_state.what)

    previous = signal.signal(signal.SIGINT, on_sigint)
    _state.installed = True
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _state.installed, _state.depth, _state.what, _state.pending = False, 0, "", False
