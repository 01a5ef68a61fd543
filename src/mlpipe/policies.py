"""The Lambda execution role's least-privilege inline policy, rendered from data.

Every statement names the ARNs of this app/stage's own resources; nothing is granted on "*".
"""

from __future__ import annotations

from typing import Any

from mlpipe.names import Names

# (actions, resources) pairs; rendered into an IAM policy document by `lambda_policy`.
Grant = tuple[tuple[str, ...], tuple[str, ...]]

TRIGGER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")
SEND_ACTIONS = ("sqs:SendMessage",)
INVOKE_ACTIONS = ("sagemaker:InvokeEndpoint",)
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def lambda_grants(names: Names, results_queue: bool) -> list[Grant]:
    send_to = [names.queue_arn(names.dlq)]
    if results_queue:
        send_to.append(names.queue_arn(names.results_queue))
    log_group = names.log_group_arn(names.log_group)
    return [
        (TRIGGER_ACTIONS, (names.queue_arn(names.trigger_queue),)),
        (SEND_ACTIONS, tuple(send_to)),
        (INVOKE_ACTIONS, (names.endpoint_arn,)),
        (LOG_ACTIONS, (log_group, f"{log_group}:*")),
    ]


def render(grants: list[Grant]) -> dict[str, Any]:
    """An IAM policy document with one Allow statement per grant."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)} for actions, resources in grants
        ],
    }


def lambda_policy(names: Names, results_queue: bool) -> dict[str, Any]:
    return render(lambda_grants(names, results_queue))
