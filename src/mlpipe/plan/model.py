"""The plan: plain, printable data. No boto3 here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete", "noop"]


@dataclass(frozen=True)
class Ref:
    """A value only known while applying: the output an earlier Call saved under `var`."""

    var: str

    def __repr__(self) -> str:
        return f"<{self.var}>"


@dataclass(frozen=True)
class Call:
    """One mutating AWS API call: `clients.client(service).<operation>(**params)`."""

    service: str
    operation: str  # boto3 method name, e.g. "create_queue"
    params: Mapping[str, Any]  # values may be Ref (also nested in dicts and lists)
    # var name -> top-level key of the response to remember (e.g. {"trigger_url": "QueueUrl"})
    save: Mapping[str, str] = field(default_factory=dict)
    # Errors retried with backoff, e.g. a role that IAM has not propagated yet: "Code", or
    # "Code:fragment" to retry only when the message contains the fragment (case-insensitive), so a
    # genuinely invalid request fails at once instead of after a minute of retries.
    retry_on: tuple[str, ...] = ()
    # Errors that mean the work is already done (idempotent delete: "not found"): "Code" or "Code:fragment".
    ok_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Wait:
    """Poll a read call until a condition holds (e.g. a Lambda function leaving Pending)."""

    service: str
    operation: str
    params: Mapping[str, Any]
    path: tuple[str, ...]  # where the status is in the response, e.g. ("Configuration", "State")
    until: tuple[str, ...]  # statuses that end the wait successfully
    fail_on: tuple[str, ...] = ()  # statuses that end it with an error
    timeout_s: float = 300.0
    description: str = ""


Step = Call | Wait


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str  # resource type, e.g. "sqs-queue", "lambda-function"
    name: str  # physical name
    detail: str = ""  # what differs, for humans (e.g. "VisibilityTimeout 30 -> 180")
    steps: tuple[Step, ...] = ()

    @property
    def calls(self) -> tuple[Call, ...]:
        return tuple(s for s in self.steps if isinstance(s, Call))


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    vars: Mapping[str, Any] = field(default_factory=dict)  # values known from the read phase

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action != "noop")

    @property
    def is_empty(self) -> bool:
        return not self.pending

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0, "noop": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for `--dry-run --output json`."""
        return {
            "summary": self.summary(),
            "changes": [
                {
                    "action": c.action,
                    "kind": c.kind,
                    "name": c.name,
                    "detail": c.detail,
                    "calls": [f"{s.service}:{s.operation}" for s in c.calls],
                }
                for c in self.changes
            ],
        }
