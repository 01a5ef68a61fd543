"""plan/event_source.py's decisions from hand-written snapshots, without a server.

No refuse-unowned case: the mapping carries no ownership of its own; it joins our queue to our
function, and both are tag-checked by their own planners before this one runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.names import Names
from mlpipe.plan.event_source import EventMapping, MappingSpec, diff, diff_deletion, problem
from mlpipe.plan.model import Change, Wait

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
SPEC = MappingSpec("arn:aws:sqs:us-east-1:123456789012:house-dev-trigger", "house-dev-worker", 10, 5, None)
SETTINGS: dict[str, Any] = {
    "BatchSize": 10,
    "MaximumBatchingWindowInSeconds": 5,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "ScalingConfig": {},
    "Enabled": True,
}


def mapping(uuid: str = "u1", **over: Any) -> EventMapping:
    return EventMapping(uuid, {**SETTINGS, **over})


def operations(change: Change) -> list[str]:
    return [s.operation if not isinstance(s, Wait) else "wait" for s in change.steps]


def test_no_mapping_is_created_without_an_empty_scaling_config() -> None:
    change = diff(SPEC, (), NAMES)
    (create,) = change.calls
    assert (change.action, create.operation, create.save) == (
        "create",
        "create_event_source_mapping",
        {"mapping_uuid": "UUID"},
    )
    assert "ScalingConfig" not in create.params and create.params["Tags"] == OURS


def test_a_matching_mapping_is_a_noop() -> None:
    assert diff(SPEC, (mapping(),), NAMES) == Change("noop", "event-source-mapping", "house-dev-trigger")


@pytest.mark.parametrize(
    ("observed", "expected", "changed"),
    [
        ((mapping(BatchSize=1),), ["wait", "update_event_source_mapping"], {"BatchSize": 10}),
        ((mapping(Enabled=False),), ["wait", "update_event_source_mapping"], {"Enabled": True}),
        ((mapping(), mapping("u2"), mapping("u3")), ["delete_event_source_mapping"] * 2, None),
    ],
)
def test_an_update_changes_only_what_differs(
    observed: tuple[EventMapping, ...], expected: list[str], changed: dict[str, Any] | None
) -> None:
    change = diff(SPEC, observed, NAMES)
    assert (change.action, operations(change)) == ("update", expected)
    if changed is not None:
        assert change.calls[-1].params == {"UUID": "u1", **changed}
    else:
        assert [c.params["UUID"] for c in change.calls] == ["u2", "u3"]
        assert change.detail == "2 duplicate(s) removed"


def test_a_maximum_concurrency_is_set_on_an_existing_mapping() -> None:
    spec = MappingSpec(SPEC.queue_arn, SPEC.function, 10, 5, 4)
    change = diff(spec, (mapping(),), NAMES)
    assert change.calls[-1].params == {"UUID": "u1", "ScalingConfig": {"MaximumConcurrency": 4}}


def test_deletion_removes_every_mapping() -> None:
    assert diff_deletion((), NAMES).detail == "absent"
    change = diff_deletion((mapping(), mapping("u2")), NAMES)
    assert (change.action, [c.params["UUID"] for c in change.calls]) == ("delete", ["u1", "u2"])


def reported(state: str, reason: str = "", last: str = "") -> EventMapping:
    return EventMapping("u1", SETTINGS, state, reason, last)


@pytest.mark.parametrize(
    ("state", "reason", "last", "expected"),
    [
        ("Enabled", "USER_INITIATED", "", None),  # an SQS mapping on AWS: no LastProcessingResult
        ("Creating", "USER_INITIATED", "", None),  # on its way to Enabled
        ("Updating", "User action", "OK", None),
        ("Enabled", "User action", "No records processed", None),
        ("Enabled", "User action", "PROBLEM: Function call failed", "PROBLEM: Function call failed"),
        ("Disabled", "USER_INITIATED", "", "State Disabled (USER_INITIATED)"),
        ("Disabling", "", "", "State Disabling"),
        (
            "Disabled",
            "User action",
            "PROBLEM: Function call failed",
            "PROBLEM: Function call failed; State Disabled (User action)",
        ),
        ("", "", "", None),  # nothing reported: nothing to say
    ],
)
def test_a_mapping_problem_is_what_its_documented_fields_report(
    state: str, reason: str, last: str, expected: str | None
) -> None:
    assert problem(reported(state, reason, last)) == expected


def test_an_sqs_mapping_is_answered_as_aws_answers_it_and_a_stream_mapping_left_alone() -> None:
    from mlpipe.local.ext.mapping_state import as_aws

    sqs = {"EventSourceArn": "arn:aws:sqs:us-east-1:1:q", "StateTransitionReason": "User initiated",
           "LastProcessingResult": None}  # fmt: skip
    as_aws(sqs)
    assert sqs == {"EventSourceArn": "arn:aws:sqs:us-east-1:1:q", "StateTransitionReason": "USER_INITIATED"}
    stream = {"EventSourceArn": "arn:aws:kinesis:us-east-1:1:stream/s", "StateTransitionReason": "User initiated"}
    as_aws(stream)
    assert stream["StateTransitionReason"] == "User initiated"
