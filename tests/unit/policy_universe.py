"""Shared by tests/unit/test_policies_*.py: every policy mlpipe writes or prints for an app, every
resource ARN an app's stage has, and the IAM evaluator's decision for one statement or policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlpipe.config import Config
from mlpipe.local.iam.evaluator import Decision, evaluate
from mlpipe.names import PIPELINE_SCOPE, Names
from mlpipe.policies.boundary import boundary_policy
from mlpipe.policies.build_role import build_role_policy
from mlpipe.policies.lambda_role import lambda_policy
from mlpipe.policies.operator import policies_for
from mlpipe.policies.pipeline_role import pipeline_role_policy
from mlpipe.policies.sagemaker_role import sagemaker_policy
from mlpipe.policies.statements import as_list

ACCOUNT = "123456789012"
REGION = "eu-west-1"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
# A trained version, and the suffixed ones train makes when two versions share a second.
VERSIONS = ("20261126-212110", "20261126-212110-1", "20261126-212110-12")
SERVICES = ("lambda.amazonaws.com", "sagemaker.amazonaws.com", "codebuild.amazonaws.com", "codepipeline.amazonaws.com")

Policy = dict[str, Any]


def names(app: str, stage: str) -> Names:
    return Names(app=app, stage=stage, region=REGION, account=ACCOUNT)


def config(app: str, stages: Sequence[str] = ("dev", "prod")) -> Config:
    return Config.model_validate({"app": app, "stage": stages[0], "pipeline": {"stages": list(stages)}})


def stage_policies(cfg: Config, app: str, stage: str) -> dict[str, Policy]:
    """What mlpipe writes for one stage: its roles' policies and boundary; and what iam-policy prints."""
    n, scope = names(app, stage), names(app, PIPELINE_SCOPE)
    stage_cfg = cfg.model_copy(update={"stage": stage})
    out = {
        f"{n.lambda_role}": lambda_policy(n, results_queue=True),
        f"{n.sagemaker_role}": sagemaker_policy(n, IMAGE),
        f"{n.build_role(stage)}": build_role_policy(cfg, scope, stage),
        f"{n.boundary_policy}": boundary_policy(cfg, n),
    }
    for part in policies_for(stage_cfg, n):
        out[f"iam-policy {app}/{stage} {part.audience}"] = part.document
    return out


def app_policies(cfg: Config) -> dict[str, Policy]:
    scope = names(cfg.app, PIPELINE_SCOPE)
    out = {scope.pipeline_role: pipeline_role_policy(cfg, scope), scope.boundary_policy: boundary_policy(cfg, scope)}
    for stage in cfg.pipeline.stages:
        out.update(stage_policies(cfg, cfg.app, stage))
    return out


def stage_arns(app: str, stage: str) -> list[str]:
    """Every ARN of one app/stage: what deploy, train and bootstrap create, and what they write into."""
    n = names(app, stage)
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}".format
    models = n.bucket_arn(n.model_bucket)
    group = n.log_group_arn(n.log_group)
    build_group = n.log_group_arn(n.build_log_group(stage))
    training = n.log_group_arn("/aws/sagemaker/TrainingJobs")
    endpoint_group = n.log_group_arn(f"/aws/sagemaker/Endpoints/{n.endpoint}")
    versions = [n.model_name(v) for v in VERSIONS]
    return [
        *(n.queue_arn(q) for q in (n.trigger_queue, n.dlq, n.results_queue)),
        n.function_arn,
        arn("lambda", "event-source-mapping:0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"),  # whose: lambda:FunctionArn
        *(n.role_arn(r) for r in (n.lambda_role, n.sagemaker_role, n.build_role(stage))),
        group,
        f"{group}:log-stream:2026/11/26/[$LATEST]abc",
        build_group,
        f"{build_group}:log-stream:abc",
        endpoint_group,
        f"{endpoint_group}:log-stream:AllTraffic/i-1",
        *(f"{training}:log-stream:{v}/algo-1-1764192000" for v in versions),
        *(n.alarm_arn(a) for a in n.alarms),
        n.topic_arn(n.alarm_topic),
        n.log_group_arn(f"sns/{REGION}/{ACCOUNT}/{n.alarm_topic}"),
        n.endpoint_arn,
        *(arn("sagemaker", f"{kind}/{v}") for kind in ("model", "endpoint-config", "training-job") for v in versions),
        models,
        f"{models}/models/model.json",
        f"{models}/training/{VERSIONS[0]}/output/model.tar.gz",
        n.boundary_arn,
        n.build_project_arn(stage),
    ]


def app_arns(app: str, stages: Iterable[str]) -> list[str]:
    scope = names(app, PIPELINE_SCOPE)
    artifacts = scope.bucket_arn(scope.artifact_bucket)
    cicd = [artifacts, f"{artifacts}/source/x.zip", scope.pipeline_arn(), scope.repository_arn()]
    cicd += [scope.role_arn(scope.pipeline_role), scope.boundary_arn]
    return cicd + [a for stage in stages for a in stage_arns(app, stage)]


def context(owner: Names, caller: Names) -> dict[str, Any]:
    """The request context for a call by `caller`'s principal on `owner`'s resources: what AWS fixes
    (the resource's account, tags and function), and every value a caller could choose for what it
    sends (tags, the service it passes a role to, the boundary it names). A list value satisfies a
    positive condition when any of its values does: one context stands for all the caller's choices."""
    return {
        "s3:ResourceAccount": ACCOUNT,
        "lambda:FunctionArn": owner.function_arn,
        "aws:ResourceTag/mlpipe:app": owner.app,
        "aws:ResourceTag/mlpipe:stage": owner.stage,
        "cloudwatch:namespace": "/aws/sagemaker/Endpoints",
        "aws:RequestTag/mlpipe:app": [caller.app, owner.app],
        "aws:RequestTag/mlpipe:stage": [caller.stage, owner.stage],
        "iam:PassedToService": list(SERVICES),
        "iam:PermissionsBoundary": [caller.boundary_arn, owner.boundary_arn],
    }


def allows(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def one_statement(statement: Mapping[str, Any], resource: str, context: Mapping[str, Any]) -> Decision:
    """Does this one Allow statement grant its first action on `resource`? (Action and Resource
    match independently: the statement's other actions give the same answer on the same resource.)"""
    action = as_list(statement["Action"])[0]
    return evaluate(action, resource, identity_policies=[{"Statement": [statement]}], context=context)


def decide(
    action: str,
    resource: str,
    policy: Mapping[str, Any],
    boundary: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    return evaluate(action, resource, identity_policies=[policy], boundary=boundary, context=context or {})


def decide_all(
    action: str, resource: str, policies: Sequence[Mapping[str, Any]], context: Mapping[str, Any]
) -> Decision:
    """Several identity policies of one principal (e.g. the operator part next to AdministratorAccess)."""
    return evaluate(action, resource, identity_policies=policies, context=context)
