"""Planner for SQS queues: the trigger queue, its dead-letter queue and the optional results queue.

Attributes are compared one by one; only those that differ are set (SetQueueAttributes). Every
queue carries a TLS-only queue policy (`Policy`: deny any request with aws:SecureTransport false).
`observe` does every read and returns a plain snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.plan.common import require_owned
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import flat, read
from mlpipe.policies.resource_policies import tls_only_queue_policy

MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
# AWS refuses to recreate a queue for 60 s after it was deleted (destroy followed by deploy).
DELETED_RECENTLY = ("AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently")


@dataclass(frozen=True)
class QueueSpec:
    name: str
    url_var: str  # plan variable holding the queue URL (needed by later steps)
    attributes: dict[str, str] = field(default_factory=dict)


def queue_specs(config: Config, names: Names) -> list[QueueSpec]:
    q = config.queue
    sse = "true" if q.sse else "false"
    dlq = QueueSpec(
        names.dlq,
        "dlq_url",
        {"MessageRetentionPeriod": str(q.dlq_retention_s), "SqsManagedSseEnabled": sse},
    )
    redrive = {"deadLetterTargetArn": names.queue_arn(names.dlq), "maxReceiveCount": q.max_receive_count}
    trigger = QueueSpec(
        names.trigger_queue,
        "trigger_url",
        {
            "VisibilityTimeout": str(q.visibility_timeout_s),
            "MessageRetentionPeriod": str(q.retention_s),
            "SqsManagedSseEnabled": sse,
            "RedrivePolicy": json.dumps(redrive, sort_keys=True),
        },
    )
    specs = [dlq, trigger]
    if q.results_queue:
        specs.append(
            QueueSpec(
                names.results_queue,
                "results_url",
                {"MessageRetentionPeriod": str(q.retention_s), "SqsManagedSseEnabled": sse},
            )
        )
    for spec in specs:
        spec.attributes["Policy"] = json.dumps(tls_only_queue_policy(names, spec.name), sort_keys=True)
    return specs


def queue_url(clients: Clients, name: str) -> str | None:
    sqs = clients.client("sqs")
    response = read(clients, lambda: sqs.get_queue_url(QueueName=name), MISSING)
    return None if response is None else str(response["QueueUrl"])


def _same(key: str, current: Any, desired: str) -> bool:
    if key in ("RedrivePolicy", "Policy"):
        try:
            return bool(current) and flat(json.loads(current)) == flat(json.loads(desired))
        except ValueError:
            return False
    return flat(current) == flat(desired)


@dataclass(frozen=True)
class Queue:
    """What SQS reports about one queue: its URL, tags and (unless not read) attributes."""

    url: str
    tags: Mapping[str, str]
    attributes: Mapping[str, str] = field(default_factory=dict)


def observe(clients: Clients, name: str, *, attributes: bool = True) -> Queue | None:
    sqs = clients.client("sqs")
    url = queue_url(clients, name)
    if url is None:
        return None
    tags = read(clients, lambda: sqs.list_queue_tags(QueueUrl=url), MISSING) or {}
    current: Mapping[str, str] = {}
    if attributes:
        found = read(clients, lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])) or {}
        current = found.get("Attributes", {})
    return Queue(url, dict(tags.get("Tags") or {}), dict(current))


def diff(spec: QueueSpec, observed: Queue | None, names: Names) -> tuple[Change, dict[str, Any]]:
    """The change for one queue, and the plan variables already known (its URL when it exists)."""
    if observed is None:
        create = Call(
            "sqs",
            "create_queue",
            {"QueueName": spec.name, "Attributes": spec.attributes, "tags": names.tags},
            save={spec.url_var: "QueueUrl"},
            retry_on=DELETED_RECENTLY,
        )
        return Change("create", "sqs-queue", spec.name, _summary(spec.attributes), (create,)), {}
    require_owned(names, "SQS queue", spec.name, observed.tags)
    url, current = observed.url, observed.attributes
    changed = {k: v for k, v in spec.attributes.items() if not _same(k, current.get(k), v)}
    if not changed:
        return Change("noop", "sqs-queue", spec.name), {spec.url_var: url}
    detail = ", ".join(f"{k} changed" if k == "Policy" else f"{k} {current.get(k)} -> {v}" for k, v in changed.items())
    update = Call("sqs", "set_queue_attributes", {"QueueUrl": url, "Attributes": changed})
    return Change("update", "sqs-queue", spec.name, detail, (update,)), {spec.url_var: url}


def plan_queue(spec: QueueSpec, clients: Clients, names: Names) -> tuple[Change, dict[str, Any]]:
    return diff(spec, observe(clients, spec.name), names)


def _summary(attributes: dict[str, str]) -> str:
    shown = ("VisibilityTimeout", "MessageRetentionPeriod")
    return ", ".join(f"{k} {attributes[k]}" for k in shown if k in attributes)


COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")


def diff_deletion(name: str, observed: Queue | None, names: Names) -> Change:
    """Delete the queue; the detail says how many messages go with it (SQS's approximate counts), as
    a bucket's says how many objects: dead letters especially, which nothing else keeps."""
    if observed is None:
        return Change("noop", "sqs-queue", name, "absent")
    require_owned(names, "SQS queue", name, observed.tags)
    delete = Call("sqs", "delete_queue", {"QueueUrl": observed.url}, ok_on=MISSING)
    detail = ""
    if observed.attributes:
        held = sum(int(observed.attributes.get(key) or 0) for key in COUNTS)
        kind = "dead letter(s): `mlpipe tail dlq` shows them" if name == names.dlq else "message(s)"
        detail = f"and its {held} {kind}" if held else "empty"
    return Change("delete", "sqs-queue", name, detail, (delete,))


def plan_queue_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(name, observe(clients, name), names)
