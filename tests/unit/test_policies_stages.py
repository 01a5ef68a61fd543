"""One build role per stage: the dev build, which runs before the approval, reaches nothing of prod;
the pipeline role starts only its own stages' builds. Decided by the IAM evaluator."""

from __future__ import annotations

import pytest
from policy_universe import ACCOUNT, allows, config, context, decide, names, one_statement, stage_arns

from mlpipe.names import PIPELINE_SCOPE
from mlpipe.policies.boundary import MANAGED_POLICY_LIMIT, boundary_policy, size
from mlpipe.policies.build_role import build_role_policy
from mlpipe.policies.pipeline_role import pipeline_role_policy
from mlpipe.policies.statements import as_list

CONFIG = config("house", ("dev", "prod"))
SCOPE = names("house", PIPELINE_SCOPE)
DEV, PROD = names("house", "dev"), names("house", "prod")
DEV_BUILD = build_role_policy(CONFIG, SCOPE, "dev")
DEV_BOUNDARY = boundary_policy(CONFIG, DEV)
EVERYTHING = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.mark.parametrize("arn", stage_arns("house", "prod"))
def test_the_dev_build_role_reaches_no_prod_resource(arn: str) -> None:
    ctx = context(PROD, DEV)
    for statement in filter(allows, DEV_BUILD["Statement"]):
        if statement["Resource"] == "*" and "Condition" not in statement:
            continue  # list/describe calls without a resource type
        for action in as_list(statement["Action"]):
            decision = decide(action, arn, DEV_BUILD, DEV_BOUNDARY, ctx)
            assert not decision.allowed, (statement["Sid"], action, arn)
    # Not even if someone rewrote its policy: the dev boundary names nothing of prod.
    for action in ("lambda:UpdateFunctionCode", "sqs:SetQueueAttributes", "iam:PassRole", "s3:GetObject"):
        assert not decide(action, arn, EVERYTHING, DEV_BOUNDARY, ctx).allowed, (action, arn)


def test_the_dev_build_role_does_reach_dev() -> None:
    """The same evaluation is not vacuous: each statement of the dev build role reaches dev resources."""
    ctx = context(DEV, DEV)
    dev_arns = [*stage_arns("house", "dev"), SCOPE.bucket_arn(SCOPE.artifact_bucket) + "/source/x.zip"]
    for statement in filter(allows, DEV_BUILD["Statement"]):
        if statement["Resource"] == "*":
            continue
        reached = [a for a in dev_arns if one_statement(statement, a, ctx).allowed]
        assert reached, statement["Sid"]
        assert all(decide(as_list(statement["Action"])[0], a, DEV_BUILD, DEV_BOUNDARY, ctx).allowed for a in reached)


def test_the_pipeline_role_starts_only_its_stages_builds() -> None:
    policy = pipeline_role_policy(CONFIG, SCOPE)
    boundary = boundary_policy(CONFIG, SCOPE)
    for stage in ("dev", "prod"):
        assert decide("codebuild:StartBuild", SCOPE.build_project_arn(stage), policy, boundary).allowed
    for other in (
        SCOPE.build_project_arn("test"),
        names("house-dev", PIPELINE_SCOPE).build_project_arn("prod"),
        f"arn:aws:codebuild:eu-west-1:{ACCOUNT}:project/anything",
    ):
        assert not decide("codebuild:StartBuild", other, policy, boundary).allowed
        assert not decide("codebuild:StartBuild", other, EVERYTHING, boundary).allowed


@pytest.mark.parametrize(
    ("app", "stage", "region"),
    [("a-rather-long-app", "abcdefghij", "ap-southeast-5"), ("abcdefghijklmnopqrstuvwx", "dev", "ap-southeast-5")],
)
def test_a_boundary_fits_in_a_managed_policy_for_the_longest_names(app: str, stage: str, region: str) -> None:
    from mlpipe.config import Config
    from mlpipe.names import Names

    cfg = Config.model_validate({"app": app, "stage": stage, "region": region, "pipeline": {"stages": [stage]}})
    for scope in (stage, PIPELINE_SCOPE):
        policy = boundary_policy(cfg, Names(app=app, stage=scope, region=region, account=ACCOUNT))
        assert size(policy) <= MANAGED_POLICY_LIMIT - 300, size(policy)  # room for a few more statements
