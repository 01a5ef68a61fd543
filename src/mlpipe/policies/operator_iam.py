"""`mlpipe iam-policy`: the IAM statements of both parts, built around the permissions boundaries.

Role writes (iam:CreateRole, PutRolePolicy, PutRolePermissionsBoundary) are allowed only with the
condition `iam:PermissionsBoundary` = the boundary of the role's stage, and explicitly denied on
mlpipe's roles without it; iam:AttachRolePolicy and iam:DeleteRolePermissionsBoundary are never
allowed (mlpipe attaches no managed policy and never removes a boundary). iam:UpdateAssumeRolePolicy
has no condition key for what the new trust policy says, so only the admin part has it. Changing or
deleting a boundary policy is in the admin part only as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlpipe.names import Names
from mlpipe.policies.statements import Statement, statement

ROLE_READS = (
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
)
BOUNDED_ROLE_WRITES = ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy")
# What the role writes above must never do without the boundary (AttachRolePolicy is never allowed;
# denying it too keeps another policy of the same principal from reopening it).
DENIED_WITHOUT_BOUNDARY = (*BOUNDED_ROLE_WRITES, "iam:AttachRolePolicy")
ROLE_DELETES = ("iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy")
BOUNDARY_READS = ("iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags")
BOUNDARY_WRITES = (
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:ListPolicyVersions",
    "iam:TagPolicy",
)
BOUNDARY_DELETES = ("iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:ListPolicyVersions")


def pass_role(sid: str, role_arns: Sequence[str], service: str) -> Statement:
    return statement(sid, ["iam:PassRole"], role_arns, condition={"StringEquals": {"iam:PassedToService": service}})


def role_reads(sid: str, role_arns: Sequence[str]) -> Statement:
    return statement(sid, ROLE_READS, role_arns)


def role_writes(sid: str, role_arns: Sequence[str], boundary_arn: str) -> list[Statement]:
    """Create the roles and write their policies, only when they carry `boundary_arn`; tag them."""
    with_boundary = {"ArnEquals": {"iam:PermissionsBoundary": boundary_arn}}
    return [
        statement(sid, BOUNDED_ROLE_WRITES, role_arns, condition=with_boundary),
        statement(sid + "Tags", ["iam:TagRole"], role_arns),  # CreateRole with Tags also needs it
    ]


def deny_without_boundary(sid: str, role_arns: Sequence[str], boundary_arn: str) -> list[Statement]:
    """Explicit denies on mlpipe's roles, so that no other policy of the same principal reopens them."""
    return [
        statement(
            sid + "WithoutTheBoundary",
            DENIED_WITHOUT_BOUNDARY,
            role_arns,
            effect="Deny",
            condition={"ArnNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        statement(sid + "BoundaryRemoval", ["iam:DeleteRolePermissionsBoundary"], role_arns, effect="Deny"),
    ]


def role_deletes(sid: str, role_arns: Sequence[str]) -> Statement:
    return statement(sid, ROLE_DELETES, role_arns)


def boundary_reads(sid: str, names: Sequence[Names]) -> Statement:
    return statement(sid, BOUNDARY_READS, [n.boundary_arn for n in names])


def boundary_writes(sid: str, names: Sequence[Names]) -> Statement:
    """Admin only: create a boundary, or make a new version of it the default."""
    return statement(sid, (*BOUNDARY_READS, *BOUNDARY_WRITES), [n.boundary_arn for n in names])


def boundary_deletes(sid: str, names: Sequence[Names]) -> Statement:
    """Admin only: delete a boundary (its versions first)."""
    return statement(sid, (*BOUNDARY_READS, *BOUNDARY_DELETES), [n.boundary_arn for n in names])


def trust_updates(sid: str, role_arns: Sequence[str]) -> Statement:
    """Admin only: put back mlpipe's trust policy on its roles (IAM cannot limit what it says)."""
    return statement(sid, ["iam:UpdateAssumeRolePolicy"], role_arns)
