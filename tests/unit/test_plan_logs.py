"""plan/logs.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

import pytest

from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.logs import LogGroup, diff, diff_deletion, diff_service, diff_service_deletion

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
GROUP = "/aws/lambda/house-dev-worker"


def ops(change: object) -> list[str]:
    return [c.operation for c in change.calls]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("observed", "action", "operations", "detail"),
    [
        (None, "create", ["create_log_group", "put_retention_policy"], "retention 14 days"),
        (LogGroup(30, OURS), "update", ["put_retention_policy"], "retention 30 -> 14 days"),
        (LogGroup(None, OURS), "update", ["put_retention_policy"], "retention None -> 14 days"),
        (LogGroup(14, OURS), "noop", [], ""),
    ],
)
def test_log_group(observed: LogGroup | None, action: str, operations: list[str], detail: str) -> None:
    change = diff(GROUP, 14, observed, NAMES)
    assert (change.action, ops(change), change.detail) == (action, operations, detail)
    if action == "create":
        assert change.calls[0].params == {"logGroupName": GROUP, "tags": OURS}
    if operations:
        assert change.calls[-1].params == {"logGroupName": GROUP, "retentionInDays": 14}


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "other", "mlpipe:stage": "dev"}, {"team": "x"}])
def test_an_unowned_log_group_is_refused(tags: dict[str, str]) -> None:
    for decide in (
        lambda: diff(GROUP, 14, LogGroup(14, tags), NAMES),
        lambda: diff_deletion(GROUP, LogGroup(14, tags), NAMES),
    ):
        with pytest.raises(ForeignResourceError, match="log group"):
            decide()


def test_log_group_deletion() -> None:
    assert diff_deletion(GROUP, None, NAMES).action == "noop"
    change = diff_deletion(GROUP, LogGroup(14, OURS), NAMES)
    assert (change.action, ops(change), change.calls[0].ok_on) == (
        "delete",
        ["delete_log_group"],
        ("ResourceNotFoundException",),
    )


ENDPOINT_GROUP = "/aws/sagemaker/Endpoints/house-dev"


@pytest.mark.parametrize(
    ("observed", "shared", "action", "operations"),
    [
        (None, False, "create", ["create_log_group", "put_retention_policy"]),
        (None, True, "create", ["create_log_group", "put_retention_policy"]),
        (LogGroup(None, {}), False, "update", ["put_retention_policy"]),  # SageMaker made it: retention only
        (LogGroup(30, OURS), False, "update", ["put_retention_policy"]),
        (LogGroup(14, {}), False, "noop", []),
        (LogGroup(None, None), True, "update", ["put_retention_policy"]),
        (LogGroup(30, None), True, "noop", []),  # someone chose a retention for the shared group
    ],
)
def test_service_log_group(observed: LogGroup | None, shared: bool, action: str, operations: list[str]) -> None:
    change = diff_service(ENDPOINT_GROUP, 14, observed, NAMES, shared=shared)
    assert (change.action, ops(change)) == (action, operations)
    if action == "create":
        assert ("tags" in change.calls[0].params) is not shared


def test_service_log_group_deletion_keeps_what_the_service_created() -> None:
    assert diff_service_deletion(ENDPOINT_GROUP, None, NAMES).detail == "absent"
    kept = diff_service_deletion(ENDPOINT_GROUP, LogGroup(14, {}), NAMES)
    assert (kept.action, kept.detail) == ("noop", "kept: created by the service, not by mlpipe")
    assert ops(diff_service_deletion(ENDPOINT_GROUP, LogGroup(14, OURS), NAMES)) == ["delete_log_group"]
