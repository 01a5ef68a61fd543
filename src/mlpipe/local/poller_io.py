"""What Lambda's SQS poller does to its queue and to the function's logs, done inside the server.

On AWS these are the Lambda service's own calls, not the function's: it polls, deletes and releases
messages with the function's execution role, and writes START/END/REPORT and the handler's lines
into the log group. Here they call moto's SQS and CloudWatch Logs backends in-process instead of
going through HTTP, SigV4, boto3 and moto's response rendering (four times the work of the call
itself, on the one core the server's threads share). Nothing else differs:

- the queue calls are authorized as the execution role's session (`assumed-role/<role>/<function>`)
  with the authorizer's evaluation (`authorize_action`: identity policies, boundary, queue policy);
  a refusal raises `AccessDenied` with AWS's message, and the queue is left as it was;
- moto's own code receives, deletes and changes visibility (receive counts, visibility, redrive to
  the DLQ), under the queue's message lock (ext/sqs_speed.py) as requests are;
- what changes state passes the snapshot gate and marks the state changed (persistence.mutation);
  a receive that returned messages marks it through the receive wrapper, as a request's does.

Log lines are written as the execution role's session too (role_logs.RoleLogStream, shared with the
embedded CodeBuild and SageMaker): a refusal loses that invocation's lines, as on AWS, and is reported.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
from typing import Any

from mlpipe.local.persistence import mutation
from mlpipe.local.registry import Context


class AccessDenied(Exception):
    """The execution role may not do what the poller needs: the mapping reports it, the queue keeps its messages."""


class RoleQueue:
    """One SQS queue, as the Lambda service reaches it for a function (role ARN + session name)."""

    def __init__(self, ctx: Context, queue_arn: str) -> None:
        _, _, _, self.region, self.account, self.name = queue_arn.split(":", 5)
        self.arn = queue_arn
        self.ctx = dataclasses.replace(ctx, region=self.region)

    def _queue_backend(self) -> Any:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account][self.region]
        backend.get_queue(self.name)  # QueueDoesNotExist when it is gone: the poller stops
        return backend

    def authorize(self, role: str, session: str, action: str) -> None:
        if not role:  # CreateFunction/UpdateFunctionConfiguration refuse that; never act as the emulator
            raise AccessDenied(f"AccessDenied: the function has no execution role to call {action} with")
        from mlpipe.local.iam.actors import session_arn
        from mlpipe.local.iam.authorizer import authorize_action

        principal = session_arn(role, session)
        decision = authorize_action(self.ctx, principal, action, self.arn)
        if not decision.allowed:
            raise AccessDenied(f"AccessDenied: {decision.message(principal, action, self.arn)}")

    def receive(self, role: str, session: str, count: int) -> list[dict[str, Any]]:
        """Up to `count` (<= 10) messages with all their attributes, in ReceiveMessage's shape."""
        self.authorize(role, session, "sqs:ReceiveMessage")
        backend = self._queue_backend()
        visibility = int(backend.get_queue(self.name).visibility_timeout)
        messages = backend.receive_message(self.name, count, 0, visibility, ["All"])
        return [_as_received(m) for m in messages]

    def delete(self, role: str, session: str, handles: list[str]) -> tuple[int, list[dict[str, Any]]]:
        """(deleted, failed entries) for a batch of receipt handles, as DeleteMessageBatch answers."""
        self.authorize(role, session, "sqs:DeleteMessage")
        backend = self._queue_backend()
        with mutation(self.ctx):
            deleted, failed = backend.delete_message_batch(
                self.name, [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
            )
        return len(deleted), list(failed)

    def release(self, role: str, session: str, handles: list[str]) -> None:
        """Make received messages visible again at once (a stopping poller gives its batch back)."""
        self.authorize(role, session, "sqs:ChangeMessageVisibility")
        backend = self._queue_backend()
        with mutation(self.ctx):
            for handle in handles:  # one expired handle must not keep the others in flight
                with contextlib.suppress(Exception):
                    backend.change_message_visibility(self.name, handle, 0)


def _as_received(message: Any) -> dict[str, Any]:
    received: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.body_md5,
        "Body": message.body,
        "Attributes": {
            "SenderId": message.sender_id,
            "SentTimestamp": str(message.sent_timestamp),
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        },
    }
    for name, value in (("MessageDeduplicationId", message.deduplication_id), ("MessageGroupId", message.group_id)):
        if value is not None:
            received["Attributes"][name] = value
    if getattr(message, "sequence_number", None) is not None:
        received["Attributes"]["SequenceNumber"] = message.sequence_number
    trace = (message.system_attributes or {}).get("AWSTraceHeader") or {}
    if trace.get("StringValue"):
        received["Attributes"]["AWSTraceHeader"] = trace["StringValue"]
    if message.message_attributes:
        received["MessageAttributes"] = {k: _attribute(v) for k, v in message.message_attributes.items()}
    return received


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda's event gives it: binary values base64-encoded (JSON has no bytes)."""
    out = dict(value)
    for key in ("BinaryValue",):
        if isinstance(out.get(key), bytes | bytearray):
            out[key] = base64.b64encode(out[key]).decode()
    if out.get("BinaryListValues"):
        out["BinaryListValues"] = [
            base64.b64encode(v).decode() if isinstance(v, bytes | bytearray) else v for v in out["BinaryListValues"]
        ]
    return out
