"""parliament, with its community auditors, on every policy mlpipe writes (role policies, boundaries,
TLS-only resource policies) and prints (`mlpipe iam-policy`, both parts).

The community privilege-escalation auditor looks at action names only, never at resources or
conditions. It flags two patterns that deploying a Lambda function cannot avoid, on the policies
that deploy (a stage's build role, its boundary, the operator part):

- EditExistingLambdaFunctionWithRole: lambda:UpdateFunctionCode;
- PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo: iam:PassRole + lambda:CreateFunction +
  lambda:CreateEventSourceMapping;

and one on the admin part, whose job it is: CreateNewPolicyVersion (iam:CreatePolicyVersion on the
app's boundaries). The tests below pin that these, and only these, are reported, and show with the
IAM evaluator why the Lambda ones are no escalation: the only role a deployer can pass is its own
stage's function role, to Lambda only, and the only functions it can edit are its own stage's, whose
role is capped by the same stage boundary.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from parliament import analyze_policy_string
from policy_universe import ACCOUNT, IMAGE, app_policies, config, decide, names

from mlpipe.policies.resource_policies import tls_only_bucket_policy, tls_only_queue_policy

CONFIG = config("house", ("dev", "prod"))
DEV = names("house", "dev")
LAMBDA_DEPLOY = {"EditExistingLambdaFunctionWithRole", "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo"}
EXPECTED = {
    "house-dev-build-role": LAMBDA_DEPLOY,
    "house-prod-build-role": LAMBDA_DEPLOY,
    "house-dev-boundary": LAMBDA_DEPLOY,
    "house-prod-boundary": LAMBDA_DEPLOY,
    "iam-policy house/dev operator": LAMBDA_DEPLOY,
    "iam-policy house/prod operator": LAMBDA_DEPLOY,
    "iam-policy house/dev admin": {"CreateNewPolicyVersion"},
    "iam-policy house/prod admin": {"CreateNewPolicyVersion"},
}


def _policies() -> dict[str, dict[str, Any]]:
    out = app_policies(CONFIG)
    out["tls-only bucket"] = tls_only_bucket_policy(DEV, DEV.model_bucket)
    out["tls-only queue"] = tls_only_queue_policy(DEV, DEV.trigger_queue)
    return out


POLICIES = _policies()


def _escalations(policy: dict[str, Any]) -> set[str]:
    findings = analyze_policy_string(json.dumps(policy), include_community_auditors=True).findings
    return {f.location["type"] for f in findings if f.issue == "PRIVILEGE_ESCALATION"}


@pytest.mark.parametrize("label", list(POLICIES))
def test_only_the_lambda_deploy_patterns_are_reported(label: str) -> None:
    assert _escalations(POLICIES[label]) == EXPECTED.get(label, set())


def test_every_policy_mlpipe_writes_is_covered() -> None:
    assert {"house-dev-predict-role", "house-dev-sagemaker-role", "house-pipeline-role"} <= set(POLICIES)
    assert {"house-pipeline-boundary", "house-dev-boundary", "house-prod-build-role"} <= set(POLICIES)


@pytest.mark.parametrize("label", [k for k, v in EXPECTED.items() if v == LAMBDA_DEPLOY])
def test_the_lambda_patterns_stay_inside_the_stage(label: str) -> None:
    stage = names("house", "prod" if "prod" in label else "dev")
    other = names("house", "dev" if stage.stage == "prod" else "prod")
    policy = POLICIES[label]
    # A build role carries its stage's boundary; the boundary itself and the operator part stand alone.
    boundary = POLICIES[stage.boundary_policy] if label.endswith("build-role") else None
    passed = {"iam:PassedToService": "lambda.amazonaws.com"}
    admin = f"arn:aws:iam::{ACCOUNT}:role/admin"
    # Pass: only the stage's own function role, and only to Lambda.
    assert decide("iam:PassRole", stage.role_arn(stage.lambda_role), policy, boundary, passed).allowed
    for role in (admin, other.role_arn(other.lambda_role), stage.role_arn(stage.build_role(stage.stage))):
        assert not decide("iam:PassRole", role, policy, boundary, passed).allowed, role
    ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert not decide("iam:PassRole", stage.role_arn(stage.lambda_role), policy, boundary, ec2).allowed
    # Edit or create: only the stage's own function.
    for action in ("lambda:UpdateFunctionCode", "lambda:CreateFunction"):
        assert decide(action, stage.function_arn, policy, boundary).allowed
        assert not decide(action, other.function_arn, policy, boundary).allowed
        assert not decide(action, f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:admin-tool", policy, boundary).allowed


def test_the_function_role_a_deployer_passes_is_no_wider_than_its_boundary() -> None:
    """What code in the function can do: the Lambda role, capped by the stage boundary: no IAM, no
    other stage, no role to assume."""
    role, boundary = POLICIES["house-dev-predict-role"], POLICIES["house-dev-boundary"]
    prod = names("house", "prod")
    for action, resource in (
        ("iam:PutRolePolicy", DEV.role_arn(DEV.build_role("dev"))),
        ("sts:AssumeRole", DEV.role_arn(DEV.build_role("dev"))),
        ("sqs:SendMessage", prod.queue_arn(prod.trigger_queue)),
        ("sagemaker:InvokeEndpoint", prod.endpoint_arn),
        ("lambda:UpdateFunctionCode", DEV.function_arn),
    ):
        assert not decide(action, resource, role, boundary).allowed, action
    assert decide("sagemaker:InvokeEndpoint", DEV.endpoint_arn, role, boundary).allowed


def test_the_sagemaker_image_is_the_only_ecr_repository() -> None:
    role = POLICIES["house-dev-sagemaker-role"]
    repository = f"arn:aws:ecr:eu-west-1:{IMAGE.split('.')[0]}:repository/sagemaker-xgboost"
    assert decide("ecr:BatchGetImage", repository, role).allowed
    assert not decide("ecr:BatchGetImage", f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/private", role).allowed
