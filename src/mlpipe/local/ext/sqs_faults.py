"""Per-entry SendMessageBatch failures, the way SQS reports a partly failed batch (HTTP 200, some
entries in `Failed`), so `mlpipe send`'s retries are testable offline.

Configured through the fault switch (`POST /_mlpipe/faults`) under the operation name
`SendMessageBatch:Entries` (docs/CONTRACTS.md), e.g.
`{"service": "sqs", "operation": "SendMessageBatch:Entries", "rate": 0.2, "error": "ServiceUnavailable", "seed": 1}`:
each entry fails with that probability, with SenderFault false (a transient failure, to retry).
A whole-call fault on "SendMessageBatch" stays the switch's own business.
"""

from __future__ import annotations

from typing import Any

from mlpipe.local.faults import FaultSwitch
from mlpipe.local.registry import AwsApiError, Context, after, before

ENTRY_FAULT = ("sqs", "SendMessageBatch:Entries")
STASH = "sqs_failed_entries"


@before("sqs", "SendMessageBatch")
def drop_entries(ctx: Context, params: dict[str, Any]) -> None:
    switch = ctx.state.get("faults")
    entries = params.get("Entries")
    if not isinstance(switch, FaultSwitch) or not isinstance(entries, list) or not entries:
        return
    kept, failed = [], []
    for entry in entries:
        try:
            switch.check(*ENTRY_FAULT)  # raises when this entry's draw says "fail"
            kept.append(entry)
        except AwsApiError as exc:
            failed.append({"Id": entry.get("Id"), "SenderFault": False, "Code": exc.code, "Message": exc.message})
    if not kept:
        # moto rejects an empty batch; let one entry through rather than fail the whole call.
        kept.append(entries[0])
        failed = failed[1:]
    if failed:
        params["Entries"] = kept
        ctx.request_state[STASH] = failed


@after("sqs", "SendMessageBatch")
def report_entries(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    failed = ctx.request_state.get(STASH)
    if failed:
        response.setdefault("Failed", []).extend(failed)
