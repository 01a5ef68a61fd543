"""The escalation chain of issue 10, evaluated against the OPERATOR part of `mlpipe iam-policy` with
the IAM evaluator: each step is denied; the same legitimate call with the stage's boundary is allowed.

Chain: rewrite an mlpipe role's policy without the boundary (PutRolePolicy), remove the boundary
(DeleteRolePermissionsBoundary), trust one's own user (UpdateAssumeRolePolicy), create a role
without the boundary (CreateRole), change the boundary (CreatePolicyVersion), then assume the role.
"""

from __future__ import annotations

import pytest
from policy_universe import ACCOUNT, config, decide, decide_all, names

from mlpipe.policies.boundary import boundary_policy
from mlpipe.policies.operator import ADMIN_COMMANDS, OPERATOR_COMMANDS, operator_policy

CONFIG = config("house")
DEV = names("house", "dev")
OPERATOR = operator_policy(CONFIG, DEV, OPERATOR_COMMANDS).document
ADMIN = operator_policy(CONFIG, DEV, ADMIN_COMMANDS).document
ROLES = [DEV.role_arn(DEV.lambda_role), DEV.role_arn(DEV.sagemaker_role)]
OURS = {"iam:PermissionsBoundary": DEV.boundary_arn}
OTHER_BOUNDARY = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/wide-open"}
ADMIN_ACCESS = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["iam:PutRolePolicy", "iam:CreateRole", "iam:PutRolePermissionsBoundary"])
def test_role_writes_only_with_the_stage_boundary(role: str, action: str) -> None:
    assert not decide(action, role, OPERATOR).allowed  # no boundary on the role / in the request
    assert not decide(action, role, OPERATOR, context=OTHER_BOUNDARY).allowed
    assert decide(action, role, OPERATOR, context=OURS).allowed  # the legitimate call


@pytest.mark.parametrize("role", ROLES)
def test_without_the_boundary_is_denied_explicitly_whatever_else_the_principal_holds(role: str) -> None:
    """An explicit Deny: attaching AdministratorAccess next to the operator part does not reopen it."""
    for action in ("iam:PutRolePolicy", "iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"):
        assert not decide(action, role, OPERATOR, context=OTHER_BOUNDARY).allowed
        both = decide_all(action, role, [OPERATOR, ADMIN_ACCESS], OTHER_BOUNDARY)
        assert not both.allowed and "explicit deny" in both.reason
    removal = decide_all("iam:DeleteRolePermissionsBoundary", role, [OPERATOR, ADMIN_ACCESS], OURS)
    assert not removal.allowed and "explicit deny" in removal.reason


@pytest.mark.parametrize("role", ROLES)
def test_the_boundary_is_never_removed_nor_a_managed_policy_attached(role: str) -> None:
    for context in ({}, OURS):
        assert not decide("iam:DeleteRolePermissionsBoundary", role, OPERATOR, context=context).allowed
        assert not decide("iam:DeleteRolePermissionsBoundary", role, ADMIN, context=context).allowed
        attach = OURS | {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
        assert not decide("iam:AttachRolePolicy", role, OPERATOR, context=attach).allowed


@pytest.mark.parametrize("role", ROLES)
def test_trust_policies_are_the_admin_part_only(role: str) -> None:
    """IAM has no condition key for what a new trust policy says, so the operator never changes one."""
    assert not decide("iam:UpdateAssumeRolePolicy", role, OPERATOR).allowed
    assert decide("iam:UpdateAssumeRolePolicy", role, ADMIN).allowed  # putting mlpipe's trust back


@pytest.mark.parametrize(
    "action", ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"]
)
def test_the_boundary_policy_is_changed_by_the_admin_part_only(action: str) -> None:
    assert not decide(action, DEV.boundary_arn, OPERATOR).allowed
    assert decide("iam:GetPolicyVersion", DEV.boundary_arn, OPERATOR).allowed  # deploy checks it
    if action != "iam:SetDefaultPolicyVersion":  # mlpipe sets the default with CreatePolicyVersion
        assert decide(action, DEV.boundary_arn, ADMIN).allowed


def test_no_role_outside_this_stage_and_no_role_assumed() -> None:
    prod = names("house", "prod")
    for role in (prod.role_arn(prod.lambda_role), f"arn:aws:iam::{ACCOUNT}:role/admin", DEV.role_arn("house-dev-x")):
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole", "iam:DeleteRole"):
            context = {"iam:PermissionsBoundary": DEV.boundary_arn, "iam:PassedToService": "lambda.amazonaws.com"}
            assert not decide(action, role, OPERATOR, context=context).allowed, (action, role)
    for role in ROLES:
        assert not decide("sts:AssumeRole", role, OPERATOR).allowed


BOUNDARY = boundary_policy(CONFIG, DEV)
EVERYTHING = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PutRolePolicy", ROLES[0]),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/escape"),
        ("iam:DeleteRolePermissionsBoundary", ROLES[1]),
        ("iam:PutRolePermissionsBoundary", ROLES[0]),
        ("iam:UpdateAssumeRolePolicy", ROLES[0]),
        ("iam:CreatePolicyVersion", DEV.boundary_arn),
        ("iam:AttachRolePolicy", ROLES[0]),
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin"),
        ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/admin"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin"),
        ("lambda:UpdateFunctionCode", names("house", "prod").function_arn),
        ("sqs:SendMessage", names("house", "prod").queue_arn("house-prod-trigger")),
        ("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/secret"),
    ],
)
def test_a_role_whose_policy_says_everything_stays_inside_its_boundary(action: str, resource: str) -> None:
    """The worst inline policy an operator could write on a role (`*` on `*`): the boundary caps it."""
    context = OURS | {"iam:PassedToService": "lambda.amazonaws.com", "s3:ResourceAccount": ACCOUNT}
    assert not decide(action, resource, EVERYTHING, BOUNDARY, context).allowed


def test_the_boundary_still_lets_the_stage_roles_work() -> None:
    context = {"iam:PassedToService": "lambda.amazonaws.com", "s3:ResourceAccount": ACCOUNT}
    for action, resource in (
        ("sqs:ReceiveMessage", DEV.queue_arn(DEV.trigger_queue)),
        ("sagemaker:InvokeEndpoint", DEV.endpoint_arn),
        ("lambda:UpdateFunctionCode", DEV.function_arn),
        ("iam:PassRole", DEV.role_arn(DEV.lambda_role)),
        ("s3:GetObject", DEV.bucket_arn(DEV.model_bucket) + "/models/model.json"),
    ):
        assert decide(action, resource, EVERYTHING, BOUNDARY, context).allowed, action
