"""The Lambda execution role's least-privilege inline policy.

Every statement names the ARNs of this app/stage's own resources; nothing is granted on "*".
"""

from __future__ import annotations

from mlpipe.names import Names
from mlpipe.policies.statements import Policy, document, statement

TRIGGER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")
SEND_ACTIONS = ("sqs:SendMessage",)
INVOKE_ACTIONS = ("sagemaker:InvokeEndpoint",)
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def lambda_policy(names: Names, results_queue: bool) -> Policy:
    send_to = [names.queue_arn(names.dlq)]
    if results_queue:
        send_to.append(names.queue_arn(names.results_queue))
    log_group = names.log_group_arn(names.log_group)
    return document(
        [
            statement(None, TRIGGER_ACTIONS, [names.queue_arn(names.trigger_queue)]),
            statement(None, SEND_ACTIONS, send_to),
            statement(None, INVOKE_ACTIONS, [names.endpoint_arn]),
            statement(None, LOG_ACTIONS, [log_group, f"{log_group}:*"]),
        ]
    )
