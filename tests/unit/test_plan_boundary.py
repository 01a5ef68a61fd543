"""plan/boundary.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlpipe.errors import ForeignResourceError, UsageError
from mlpipe.names import Names
from mlpipe.plan.boundary import Boundary, diff, diff_deletion
from mlpipe.plan.model import Change

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
DOCUMENT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
CURRENT = Boundary(OURS, DOCUMENT)


def operations(change: Change) -> list[str]:
    return [c.operation for c in change.calls]


def test_a_missing_boundary_is_created_tagged() -> None:
    change = diff(DOCUMENT, None, NAMES)
    assert (change.action, operations(change)) == ("create", ["create_policy"])
    assert change.calls[0].params["PolicyName"] == NAMES.boundary_policy


def test_the_same_document_is_a_noop() -> None:
    assert diff(DOCUMENT, CURRENT, NAMES) == Change("noop", "iam-boundary-policy", NAMES.boundary_policy)


@pytest.mark.parametrize(
    ("old_versions", "deleted"),
    [((), []), (("v1", "v2", "v3"), []), (("v1", "v2", "v3", "v4"), ["v1"])],
)
def test_a_new_document_becomes_the_default_version_after_making_room(
    old_versions: tuple[str, ...], deleted: list[str]
) -> None:
    change = diff({**DOCUMENT, "Statement": []}, replace(CURRENT, old_versions=old_versions), NAMES)
    assert operations(change) == ["delete_policy_version"] * len(deleted) + ["create_policy_version"]
    assert [
        c.params["VersionId"] for c in change.calls[:-1]
    ] == deleted  # IAM keeps five, the old default among them: the oldest go
    assert change.calls[-1].params["SetAsDefault"] is True


def test_a_boundary_over_the_managed_policy_limit_is_a_usage_error() -> None:
    huge = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "x" * 7000}],
    }
    with pytest.raises(UsageError, match="over IAM's 6144"):
        diff(huge, None, NAMES)


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "house", "mlpipe:stage": "prod"}])
def test_an_unowned_boundary_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="IAM policy"):
        diff(DOCUMENT, replace(CURRENT, tags=tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(replace(CURRENT, tags=tags), NAMES)


def test_deletion_waits_for_the_roles_that_carry_it() -> None:
    assert diff_deletion(None, NAMES).detail == "absent"
    kept = diff_deletion(replace(CURRENT, users=("house-dev-worker-role",)), NAMES)
    assert (kept.action, kept.detail) == ("noop", "kept: role house-dev-worker-role still carries it")
    change = diff_deletion(replace(CURRENT, old_versions=("v1",)), NAMES)
    assert operations(change) == ["delete_policy_version", "delete_policy"]
