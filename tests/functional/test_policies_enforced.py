"""The escalation chain of issue 10 against the IAM-enforcing embedded AWS: the embedded IAM's
authorizer, holding the OPERATOR part of `mlpipe iam-policy` as the operator's policy, decides each
call against the roles and boundary as they exist in its IAM state; the escalations are AccessDenied,
the same calls with the stage's boundary are allowed."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from local_helpers import client

from mlpipe.config import Config
from mlpipe.local.iam.authorizer import IamSettings, authorize
from mlpipe.local.protocols import ApiRequest
from mlpipe.local.registry import AwsApiError, Context
from mlpipe.names import Names
from mlpipe.policies.boundary import boundary_policy
from mlpipe.policies.operator import operator_policy
from mlpipe.policies.trust import trust_policy

ACCT = "123456789012"
REGION = "us-east-1"
OPERATOR = f"arn:aws:iam::{ACCT}:user/mlpipe-operator"
NAMES = Names(app="house", stage="dev", region=REGION, account=ACCT)
CONFIG = Config.model_validate({"app": "house"})
LAMBDA_TRUST = json.dumps(trust_policy("lambda.amazonaws.com", ACCT))
SELF_TRUST = json.dumps(
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": OPERATOR}, "Action": "sts:AssumeRole"}]}
)
WIDE_OPEN = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture
def ctx(endpoint_url: str) -> Context:
    """The embedded IAM state as mlpipe leaves it (the stage's boundary, its Lambda role carrying it,
    a SageMaker role created before boundaries existed), and the operator limited to the OPERATOR part."""
    iam = client(endpoint_url, "iam")
    iam.create_policy(PolicyName=NAMES.boundary_policy, PolicyDocument=json.dumps(boundary_policy(CONFIG, NAMES)))
    iam.create_role(
        RoleName=NAMES.lambda_role, AssumeRolePolicyDocument=LAMBDA_TRUST, PermissionsBoundary=NAMES.boundary_arn
    )
    iam.create_role(RoleName=NAMES.sagemaker_role, AssumeRolePolicyDocument=LAMBDA_TRUST)  # no boundary
    policy = operator_policy(CONFIG, NAMES).document
    operator = SimpleNamespace(principal_arn=OPERATOR)
    state = {"credentials": SimpleNamespace(operator=operator), "iam": IamSettings(operator_policy=policy)}
    return Context(endpoint_url=endpoint_url, state=state)


def call(ctx: Context, operation: str, **params: Any) -> None:
    request = ApiRequest("iam", operation, "query", params, REGION)
    authorize(ctx, SimpleNamespace(principal_arn=OPERATOR), request)


def denied(ctx: Context, operation: str, **params: Any) -> str:
    with pytest.raises(AwsApiError) as caught:
        call(ctx, operation, **params)
    assert caught.value.code == "AccessDenied"
    return caught.value.message


def test_the_escalation_chain_is_access_denied(ctx: Context) -> None:
    role, legacy = NAMES.lambda_role, NAMES.sagemaker_role
    # PutRolePolicy on an mlpipe role without the boundary
    assert "explicit deny" in denied(ctx, "PutRolePolicy", RoleName=legacy, PolicyName="x", PolicyDocument=WIDE_OPEN)
    # DeleteRolePermissionsBoundary
    denied(ctx, "DeleteRolePermissionsBoundary", RoleName=role)
    # UpdateAssumeRolePolicy to a user ARN
    denied(ctx, "UpdateAssumeRolePolicy", RoleName=role, PolicyDocument=SELF_TRUST)
    # CreateRole without the boundary, or with another one
    denied(ctx, "CreateRole", RoleName=legacy, AssumeRolePolicyDocument=LAMBDA_TRUST)
    other = f"arn:aws:iam::{ACCT}:policy/wide-open"
    denied(ctx, "CreateRole", RoleName=legacy, AssumeRolePolicyDocument=LAMBDA_TRUST, PermissionsBoundary=other)
    denied(ctx, "PutRolePermissionsBoundary", RoleName=role, PermissionsBoundary=other)
    # CreatePolicyVersion on the boundary
    denied(ctx, "CreatePolicyVersion", PolicyArn=NAMES.boundary_arn, PolicyDocument=WIDE_OPEN, SetAsDefault=True)
    denied(ctx, "DeletePolicy", PolicyArn=NAMES.boundary_arn)
    # a managed policy on the role
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    denied(ctx, "AttachRolePolicy", RoleName=role, PolicyArn=admin)


def test_the_same_calls_with_the_boundary_are_allowed(ctx: Context) -> None:
    call(ctx, "PutRolePolicy", RoleName=NAMES.lambda_role, PolicyName="mlpipe", PolicyDocument=WIDE_OPEN)
    call(ctx, "PutRolePermissionsBoundary", RoleName=NAMES.sagemaker_role, PermissionsBoundary=NAMES.boundary_arn)
    call(
        ctx,
        "CreateRole",
        RoleName=NAMES.sagemaker_role,
        AssumeRolePolicyDocument=LAMBDA_TRUST,
        PermissionsBoundary=NAMES.boundary_arn,
    )
    call(ctx, "GetPolicyVersion", PolicyArn=NAMES.boundary_arn, VersionId="v1")
