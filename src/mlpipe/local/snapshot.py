"""One snapshot of the embedded AWS's state as bytes: moto's backends in use plus the `ctx.state`
entries extensions marked `registry.persistent`, pickled in one piece so objects shared between
services stay shared. Locks are pickled as fresh locks, weak dictionaries and moto's
`defaultdict(lambda: ...)` as their plain equivalents.

A snapshot is moto's object graph: `load` accepts only one written by the same moto version.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import io
import logging
import pickle
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from mlpipe.local import registry
from mlpipe.local.registry import Context

log = logging.getLogger("mlpipe.local")

FORMAT = 1
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):  # a fresh, released lock of the same kind
            return (threading.RLock if isinstance(obj, _LOCK_TYPES[1]) else threading.Lock), ()
        if isinstance(obj, weakref.WeakValueDictionary):
            return (_weak_values, (dict(obj.items()),))
        if isinstance(obj, collections.defaultdict) and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            made = obj.default_factory()  # type: ignore[misc]  # moto's `defaultdict(lambda: {})`
            if type(made) in (dict, list, set) and not made:
                return (collections.defaultdict, (type(made),), None, None, iter(obj.items()))
        return NotImplemented


def _moto_version() -> str:
    import moto

    return str(moto.__version__)


def _backend_dicts() -> Iterator[tuple[str, str, Any]]:
    """(module, attribute, BackendDict) of every moto service in use."""
    from moto.core.base_backend import BackendDict

    for found in list(BackendDict._instances):  # type: ignore[misc]
        module = sys.modules.get(found.backend.__module__)
        name = next((k for k, v in vars(module).items() if v is found), None) if module else None
        if name is None:
            log.warning("snapshot: cannot locate moto's %s backends; they are not kept", found.service_name)
            continue
        yield found.backend.__module__, name, found


def _sqs_locks() -> list[Any]:
    from moto.sqs.models import sqs_backends

    locks = []
    for _, _, backend in sqs_backends.iter_backends():
        locks += [q._messages_lock for q in list(backend.queues.values())]  # type: ignore[attr-defined]
    return locks


@contextlib.contextmanager
def _holding(locks: list[Any]) -> Iterator[None]:
    """All the locks at once, in any order without deadlock: a receive holds its queue's lock and
    then takes its dead-letter queue's to move a message there, so a fixed order could meet it."""
    while True:
        held = []
        for lock in locks:
            if not lock.acquire(blocking=False):
                break
            held.append(lock)
        else:
            break
        for got in reversed(held):
            got.release()
        if lock.acquire(timeout=1):  # wait for the busy one, then try them all again
            lock.release()
    try:
        yield
    finally:
        for got in reversed(held):
            got.release()


def capture(ctx: Context) -> bytes:
    """The state of moto and of the persistent extensions, pickled."""
    backends = {
        (module, attr): {account: dict(regions) for account, regions in list(found.items())}
        for module, attr, found in _backend_dicts()
    }
    ext = {key: ctx.state[key] for key in registry.PERSISTENT if key in ctx.state}
    payload = {"format": FORMAT, "moto": _moto_version(), "backends": backends, "ext": ext}
    for attempt in range(3):  # a thread outside the gate may change a dict while it is pickled
        buffer = io.BytesIO()
        try:
            with _holding(_sqs_locks()):
                _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
            return _header() + buffer.getvalue()
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _header() -> bytes:
    return f"mlpipe-local-state {FORMAT} moto={_moto_version()}\n".encode()


def load(ctx: Context, data: bytes) -> None:
    """Put a snapshot's state into this process's moto and `ctx.state` (a fresh server's)."""
    header, _, body = data.partition(b"\n")
    if header != _header().rstrip(b"\n"):
        raise ValueError(f"written by another version ({header.decode(errors='replace')[:80]})")
    payload = pickle.loads(body)  # our own file, checked to be the user's alone (read_private)
    try:
        _install(ctx, payload)
    except Exception:
        forget(ctx)  # nothing half restored
        raise


def _install(ctx: Context, payload: dict[str, Any]) -> None:
    for (module, attr), accounts in payload["backends"].items():
        found = getattr(importlib.import_module(module), attr)
        for account, regions in accounts.items():
            per_account = found[account]  # creates it and registers the BackendDict as in use
            for region, backend in regions.items():
                dict.__setitem__(per_account, region, backend)
    for key, value in payload["ext"].items():
        if key in registry.PERSISTENT:
            ctx.state[key] = value
    for key, fix in registry.PERSISTENT.items():
        if fix is not None and key in ctx.state:
            fix(ctx)


def forget(ctx: Context) -> None:
    """Empty moto and the persistent extension state (after a load that failed half way)."""
    from moto.core.base_backend import BackendDict

    BackendDict.reset()
    for key in registry.PERSISTENT:
        ctx.state.pop(key, None)
