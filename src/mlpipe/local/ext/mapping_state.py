"""What the event source mapping API answers about an SQS mapping's state and results, as AWS answers.

AWS gives an SQS mapping `StateTransitionReason: "USER_INITIATED"` and no `LastProcessingResult` at
all: the API reference said "This value will be null if an SQS queue is the event source", and every
SQS mapping AWS returns in its own examples (Lambda developer guide, AWS CLI reference) and in
responses recorded from AWS carries no such key. moto answers "User initiated" for every mapping.
Stream mappings (Kinesis, DynamoDB), which mlpipe does not use and the mapping runner does not run,
keep moto's answer.

So what the mapping runner meets (a receive the execution role may not make, a function that fails)
is not written on the mapping: AWS does not report it there for SQS. It shows in `mlpipe local status`
(errors, last_error) and in what AWS shows too: the messages waiting in the queue.
"""

from __future__ import annotations

from typing import Any

from mlpipe.local.registry import Context, after

SQS_TRANSITION_REASON = "USER_INITIATED"


def as_aws(mapping: dict[str, Any]) -> None:
    """Rewrite one mapping of a response in place (non-SQS mappings are left alone)."""
    if ":sqs:" not in str(mapping.get("EventSourceArn", "")):
        return
    mapping["StateTransitionReason"] = SQS_TRANSITION_REASON
    mapping.pop("LastProcessingResult", None)


@after("lambda", "CreateEventSourceMapping")
@after("lambda", "GetEventSourceMapping")
@after("lambda", "UpdateEventSourceMapping")
@after("lambda", "DeleteEventSourceMapping")
def one_mapping(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    as_aws(response)


@after("lambda", "ListEventSourceMappings")
def listed(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    for mapping in response.get("EventSourceMappings", []):
        as_aws(mapping)
