"""Keep moto's SQS usable at queue depths of thousands of messages, and safe for concurrent consumers.

moto asks for the current time through datetime arithmetic (~20 us a call) once or twice per
queued message on every send, receive and attribute read, and re-computes *all* queue attributes
(three scans of the queue) per received message just to read the retention period. At 1,000
queued messages a receive took ~2 s and a batch send ~0.3 s. Same semantics, computed cheaply.

moto's queues are not safe for concurrent use either: two ReceiveMessage calls could return the
same message, and DeleteMessage rebuilds the message list without a lock, so two deletes (or a
delete and a send) at the same time could resurrect a deleted message or lose a sent one. Receives
and deletes of a queue take the queue's own message lock here (the one SendMessage appends under;
a long poll releases it while it waits).

Sending is kept O(1) in the queue's depth too: moto's `send_message` reads `queue.attributes` (which
computes every attribute, scanning the queue three times) only to learn whether content-based
deduplication is on; while a message is being sent, that property answers from the queue's
settings alone.
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


_moto_receive = sqs_models.SQSBackend.receive_message
_moto_delete = sqs_models.Queue.delete_message


def _receive_locked(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    with self.get_queue(queue_name)._messages_lock:
        return _moto_receive(self, queue_name, *args, **kwargs)


def _delete_locked(self: Any, receipt_handle: str) -> None:
    with self._messages_lock:
        _moto_delete(self, receipt_handle)


sqs_models.unix_time = _unix_time
sqs_models.unix_time_millis = _unix_time_millis
sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retention_ok  # type: ignore[method-assign]
if not getattr(_moto_receive, "_mlpipe_locked", False):  # imported twice (tests): wrap once
    _receive_locked._mlpipe_locked = True  # type: ignore[attr-defined]
    _delete_locked._mlpipe_locked = True  # type: ignore[attr-defined]
    sqs_models.SQSBackend.receive_message = _receive_locked  # type: ignore[method-assign]
    sqs_models.Queue.delete_message = _delete_locked  # type: ignore[method-assign]

_sending = threading.local()
_moto_attributes: Any = sqs_models.Queue.attributes
_moto_send_message = sqs_models.SQSBackend.send_message


def _attributes(self: Any) -> dict[str, Any]:
    if not getattr(_sending, "active", False):
        return dict(_moto_attributes.fget(self))
    if not self.fifo_queue:
        return {}  # ContentBasedDeduplication exists on FIFO queues only
    return {"ContentBasedDeduplication": str(bool(self.content_based_deduplication)).lower()}


def _send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
    _sending.active = True
    try:
        return _moto_send_message(self, *args, **kwargs)
    finally:
        _sending.active = False


if not getattr(_moto_send_message, "_mlpipe_fast", False):  # imported twice (tests): wrap once
    _send_message._mlpipe_fast = True  # type: ignore[attr-defined]
    sqs_models.Queue.attributes = property(_attributes)  # type: ignore[assignment,method-assign]
    sqs_models.SQSBackend.send_message = _send_message  # type: ignore[method-assign]
