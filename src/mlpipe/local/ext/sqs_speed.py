"""Keep moto's SQS usable at queue depths of thousands of messages, and safe for concurrent consumers.

moto asks for the current time through datetime arithmetic (~20 us a call) once or twice per
queued message on every send, receive and attribute read, and re-computes *all* queue attributes
(three scans of the queue) per received message just to read the retention period. At 1,000
queued messages a receive took ~2 s and a batch send ~0.3 s. Same semantics, computed cheaply.

moto's ReceiveMessage also has no lock: two consumers receiving from one queue at the same time
(the executor's pollers, or a test draining a queue) could both get the same message. Receives of
one queue are serialised here, as SQS guarantees.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.sqs import models as sqs_models


def _unix_time(dt: Any = None) -> float:
    if dt is None:
        return time.time()
    return float(dt.timestamp()) if dt.tzinfo else _naive_utc_seconds(dt)


def _naive_utc_seconds(dt: Any) -> float:
    import calendar

    return calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1e6


def _unix_time_millis(dt: Any = None) -> float:
    return _unix_time(dt) * 1000.0


def _retention_ok(self: Any, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    return bool(int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time())


_receive_locks: dict[tuple[int, str], threading.Lock] = {}
_receive_locks_guard = threading.Lock()
_moto_receive = sqs_models.SQSBackend.receive_message


def _receive_one_at_a_time(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    with _receive_locks_guard:
        lock = _receive_locks.setdefault((id(self), queue_name), threading.Lock())
    with lock:
        return _moto_receive(self, queue_name, *args, **kwargs)


sqs_models.unix_time = _unix_time
sqs_models.unix_time_millis = _unix_time_millis
sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retention_ok  # type: ignore[method-assign]
if not getattr(_moto_receive, "_mlpipe_wrapped", False):  # imported twice (tests): wrap once
    _receive_one_at_a_time._mlpipe_wrapped = True  # type: ignore[attr-defined]
    sqs_models.SQSBackend.receive_message = _receive_one_at_a_time  # type: ignore[method-assign]
