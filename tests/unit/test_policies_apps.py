"""No statement of one app's policies reaches another app's resources, decided by the IAM evaluator.

App names may contain '-': `proj-dev` is an app of its own, and `proj-dev-*` would match all of it.
Every policy mlpipe writes or prints for `proj` (role policies, boundaries, the admin and operator
parts of iam-policy) is evaluated, statement by statement, against every resource ARN of `proj-dev`
(and of apps named to defeat the version patterns), and the other way round: all denied.
"""

from __future__ import annotations

import json
from pathlib import Path

import parliament
import pytest
from policy_universe import (
    allows,
    app_arns,
    app_policies,
    config,
    context,
    names,
    one_statement,
    stage_arns,
)

from mlpipe.policies.statements import as_list

# (app, its pipeline stages): `proj-dev-abcdefgh`/`stagex` and `proj-dev-x`/`y` give names that
# start with `proj-dev-` and have a '-' where a version of `proj`/`dev` has one.
APPS = {
    "proj": ("dev", "prod"),
    "proj-dev": ("dev", "prod"),
    "proj-dev-abcdefgh": ("stagex",),
    "proj-dev-x": ("y",),
    "proj-d": ("ev",),
}


# The one exception: SageMaker writes every training job's logs to one log group
# (/aws/sagemaker/TrainingJobs). logs:FilterLogEvents cannot be scoped to log streams, so
# `train --remote` (operator part) may search that group; and it may create the group or give it a
# retention (group-level actions, whose resource is the group's `:*` ARN, never a stream). No write
# reaches another app's streams. The two statements share a resource, so they are merged.
SHARED_READS = {
    "TrainJobLogsAndTrainJobLogGroupRetention": [
        "logs:CreateLogGroup",
        "logs:FilterLogEvents",
        "logs:PutRetentionPolicy",
    ]
}


def _no_resource_type() -> set[str]:
    """Actions IAM gives no resource type: a statement with them must name "*"."""
    definition = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    return {
        f"{svc['prefix']}:{p['privilege']}"
        for svc in definition
        for p in svc["privileges"]
        if all(r["resource_type"] == "" for r in p["resource_types"])
    }


NO_RESOURCE_TYPE = _no_resource_type()


def _reaches(app: str, other: str) -> list[str]:
    mine = app_policies(config(app, APPS[app]))
    caller = names(app, APPS[app][0])
    found = []
    for other_stage in APPS[other]:
        owner = names(other, other_stage)
        ctx = context(owner, caller)
        arns = [a for a in app_arns(other, APPS[other]) if a in stage_arns(other, other_stage) or "pipeline" in a]
        for label, policy in mine.items():
            for statement in filter(allows, policy["Statement"]):
                if statement["Resource"] == "*" and "lambda:FunctionArn" not in json.dumps(statement):
                    # no resource type (list/describe, ecr login, metrics): the ARN plays no part;
                    # see test_unscoped_statements_have_no_resource_type
                    continue
                if statement.get("Sid") in SHARED_READS:
                    assert as_list(statement["Action"]) == SHARED_READS[statement["Sid"]]
                    continue
                for arn in arns:
                    if one_statement(statement, arn, ctx).allowed:
                        found.append(f"{label}: {statement.get('Sid')} -> {arn}")
    return found


@pytest.mark.parametrize("other", [a for a in APPS if a != "proj"])
def test_proj_reaches_nothing_of_another_app(other: str) -> None:
    assert _reaches("proj", other) == []


@pytest.mark.parametrize("app", [a for a in APPS if a != "proj"])
def test_another_app_reaches_nothing_of_proj(app: str) -> None:
    assert _reaches(app, "proj") == []


def test_the_check_is_not_vacuous_proj_reaches_its_own_resources() -> None:
    """The same evaluation finds proj's own resources: queues, function, versions, buckets, logs."""
    reached = _reaches("proj", "proj")
    for wanted in (
        ":sqs:eu-west-1:123456789012:proj-dev-trigger",
        ":function:proj-dev-predict",
        ":model/proj-dev-20261126-212110-12",
        ":training-job/proj-dev-20261126-212110",
        ":endpoint-config/proj-prod-20261126-212110-1",
        ":log-stream:proj-dev-20261126-212110/algo-1",
        "proj-dev-models-123456789012-eu-west-1/models/model.json",
        ":role/proj-prod-build-role",
        ":policy/proj-dev-boundary",
    ):
        assert any(wanted in line for line in reached), wanted


def test_unscoped_statements_have_no_resource_type() -> None:
    """A statement on "*" holds only actions IAM cannot scope to a resource, or carries a condition."""
    for app, stages in APPS.items():
        for label, policy in app_policies(config(app, stages)).items():
            for statement in filter(allows, policy["Statement"]):
                if statement["Resource"] != "*" or "Condition" in statement:
                    continue
                scoped = set(as_list(statement["Action"])) - NO_RESOURCE_TYPE
                assert scoped == set(), f"{label}: {statement.get('Sid')} allows {scoped} on *"
