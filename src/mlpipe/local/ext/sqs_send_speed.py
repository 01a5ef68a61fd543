"""Keep moto's SendMessage / SendMessageBatch O(1) in the queue's depth.

moto's `send_message` reads `queue.attributes` to learn whether content-based deduplication is on,
and that property computes every attribute, including three full scans of the queue for the
approximate message counts. At 5,000 queued messages each sent message cost ~10 ms, so sending a
10,000-row file took minutes. While a message is being sent, the property answers from the
queue's settings only (what send_message and add_message read); everywhere else it is moto's.
(`sqs_speed` makes the clock cheap; this removes the scans.)
"""

from __future__ import annotations

import threading
from typing import Any

from moto.sqs import models as sqs_models

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


sqs_models.Queue.attributes = property(_attributes)  # type: ignore[assignment,method-assign]
sqs_models.SQSBackend.send_message = _send_message  # type: ignore[method-assign]
