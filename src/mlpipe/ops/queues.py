"""Find the deployment's queues (trigger, DLQ) and make sure they are ours before touching them."""

from __future__ import annotations

from dataclasses import dataclass

from mlpipe.aws.calls import call, read
from mlpipe.aws.clients import Clients
from mlpipe.errors import ForeignResourceError, NotDeployedError
from mlpipe.names import Names

_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


@dataclass(frozen=True)
class QueueRef:
    name: str
    url: str
    arn: str


def owned_queue(clients: Clients, names: Names, queue_name: str) -> QueueRef:
    """URL and ARN of one of this deployment's queues; NotDeployedError / ForeignResourceError otherwise."""
    sqs = clients.client("sqs")
    found = read(clients, sqs.get_queue_url, QueueName=queue_name, missing=_MISSING)
    if found is None:
        raise NotDeployedError(
            f"app '{names.app}' stage '{names.stage}' is not deployed on {clients.target.description} "
            f"(no queue {queue_name})",
            hint=f"run `mlpipe --stage {names.stage} deploy` first",
        )
    url = found["QueueUrl"]
    tags = call(clients, sqs.list_queue_tags, QueueUrl=url).get("Tags", {})
    if not names.owns(tags):
        raise ForeignResourceError(
            f"queue {queue_name} exists but is not tagged as app '{names.app}' stage '{names.stage}'",
            hint="it belongs to something else; mlpipe will not touch it (choose another app name)",
        )
    return QueueRef(queue_name, url, names.queue_arn(queue_name))
