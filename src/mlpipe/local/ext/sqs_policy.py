"""SQS queue policies kept as AWS keeps them: moto 5.2.5's SetQueueAttributes drops a queue's `Policy`
whenever the call does not name it (it sets the policy from every attribute map it is given), so
changing a queue's visibility timeout silently removed mlpipe's TLS-only queue policy.
"""

from __future__ import annotations

from typing import Any

from mlpipe.local.registry import Context, on_startup


@on_startup
def keep_queue_policies(ctx: Context | None = None) -> None:
    from moto.sqs.models import Queue

    original = Queue._set_attributes
    if getattr(original, "_mlpipe_keeps_policy", False):
        return

    def set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        if "Policy" not in attributes and hasattr(self, "_policy_json"):
            attributes = {**attributes, "Policy": self.policy}  # unchanged: what AWS does
        original(self, attributes, now)

    set_attributes._mlpipe_keeps_policy = True  # type: ignore[attr-defined]
    Queue._set_attributes = set_attributes  # type: ignore[method-assign]
