"""plan/iam.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.iam import INLINE_POLICY, Role, RoleSpec, diff, diff_deletion
from mlpipe.plan.model import Change
from mlpipe.policies.trust import trust_policy

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "arn:q"}],
}
BOUNDARY = "arn:aws:iam::123456789012:policy/house-dev-boundary"
SPEC = RoleSpec("house-dev-worker-role", "lambda.amazonaws.com", POLICY, boundary_arn=BOUNDARY)
TRUST = trust_policy("lambda.amazonaws.com", "123456789012")
CURRENT = Role(OURS, TRUST, BOUNDARY, POLICY)


def operations(change: Change) -> list[str]:
    return [c.operation for c in change.calls]


def test_a_missing_role_is_created_with_its_boundary_then_its_policy() -> None:
    change = diff(SPEC, None, NAMES)
    assert (change.action, operations(change)) == ("create", ["create_role", "put_role_policy"])
    assert change.calls[0].params["PermissionsBoundary"] == BOUNDARY
    assert change.calls[1].params["PolicyName"] == INLINE_POLICY


def test_a_matching_role_is_a_noop() -> None:
    assert diff(SPEC, CURRENT, NAMES) == Change("noop", "iam-role", SPEC.name)


@pytest.mark.parametrize(
    ("observed", "expected", "detail"),
    [
        (replace(CURRENT, inline_policy=None), ["put_role_policy"], "inline policy changed"),
        (
            replace(CURRENT, trust=trust_policy("ec2.amazonaws.com", "123456789012")),
            ["update_assume_role_policy"],
            "trust policy changed",
        ),
        # the boundary comes first: the operator may write a role's policy only once it carries it
        (
            replace(CURRENT, boundary_arn=None, inline_policy={}),
            ["put_role_permissions_boundary", "put_role_policy"],
            "permissions boundary, inline policy changed",
        ),
    ],
)
def test_an_update_makes_exactly_the_needed_calls(observed: Role, expected: list[str], detail: str) -> None:
    change = diff(SPEC, observed, NAMES)
    assert (change.action, operations(change), change.detail) == ("update", expected, detail)


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "house", "mlpipe:stage": "prod"}])
def test_an_unowned_role_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="IAM role"):
        diff(SPEC, replace(CURRENT, tags=tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(SPEC.name, Role(tags), NAMES)


def test_deletion_removes_inline_and_attached_policies_first() -> None:
    assert diff_deletion(SPEC.name, None, NAMES).detail == "absent"
    change = diff_deletion(SPEC.name, Role(OURS, inline_names=("mlpipe", "extra"), attached_arns=("arn:p",)), NAMES)
    assert operations(change) == ["delete_role_policy", "delete_role_policy", "detach_role_policy", "delete_role"]
    assert change.calls[2].params == {"RoleName": SPEC.name, "PolicyArn": "arn:p"}
