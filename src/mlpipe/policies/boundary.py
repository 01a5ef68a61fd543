"""Permissions boundaries: managed policies that cap every role mlpipe creates.

One boundary per app and stage (`{app}-{stage}-boundary`) caps that stage's roles: its Lambda
role, its SageMaker role and its build role. One more (`{app}-pipeline-boundary`) caps the app's
CI/CD roles (the pipeline role and the EventBridge role that starts it). Whatever inline policy a
role gets (mlpipe's, or one an operator writes with iam:PutRolePolicy), it can do no more than its
boundary allows.

A boundary allows the union of what mlpipe's own policies grant the roles it caps, on the same
exact resources, grouped per service (a role may at most combine one service's mlpipe actions
across its own stage's resources of that service), and denies every IAM write except iam:PassRole:
creating a role (with or without a boundary), writing policies, removing or replacing a boundary,
changing a boundary policy or a trust policy. No mlpipe role needs any of them.

Why per stage and not one per app: a single document naming every stage's exact ARNs does not fit
IAM's 6,144-character limit for a managed policy with two or three stages, and a stage-generic one
(`${aws:PrincipalTag/mlpipe:stage}` in the ARNs) would need the embedded AWS to put role tags in the
request context, which it does not. Per stage, a dev role's cap names nothing of prod either.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mlpipe.config import Config
from mlpipe.names import PIPELINE_SCOPE, Names
from mlpipe.policies.build_role import build_role_policy
from mlpipe.policies.events_role import events_role_policy
from mlpipe.policies.lambda_role import lambda_policy
from mlpipe.policies.pipeline_role import pipeline_role_policy
from mlpipe.policies.sagemaker_role import sagemaker_policy
from mlpipe.policies.statements import Policy, Statement, as_list, document, statement

# SageMaker's XGBoost images live in an AWS-owned registry account that depends on the region.
ANY_REGISTRY_IMAGE = "*.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:any"
# Every IAM write (by IAM's access levels: Write, Permissions management, Tagging) except
# iam:PassRole, which a build role needs to give the function its role.
IAM_WRITES = tuple(
    f"iam:{verb}*"
    for verb in (
        "Add", "Attach", "Change", "Create", "Deactivate", "Delete", "Detach", "Enable", "Put",
        "Remove", "Reset", "Resync", "Set", "Tag", "Untag", "Update", "Upload",
    )
)  # fmt: skip
# AWS's limit for a customer managed policy (characters, whitespace excluded).
MANAGED_POLICY_LIMIT = 6_144

# Roles of the CI/CD scope other than the pipeline role (e.g. an EventBridge role) add their
# policy builders here, so the pipeline boundary covers them: (config, pipeline-scope names) -> policy.
CICD_ROLE_POLICIES: list[Callable[[Config, Names], Policy]] = [
    pipeline_role_policy,
    lambda config, names: events_role_policy(names),
]


def s3_training_data(config: Config) -> str | None:
    data = config.model.data
    return data if data is not None and data.startswith("s3://") else None


def pipeline_scope(names: Names) -> Names:
    return dataclasses.replace(names, stage=PIPELINE_SCOPE)


def stage_role_policies(config: Config, names: Names) -> list[Policy]:
    """Every inline policy mlpipe gives a role of this stage (at its widest: with a results queue)."""
    return [
        lambda_policy(names, results_queue=True),
        # Training data in S3 is read by the SageMaker role: the boundary allows the prefix model.data
        # names (`train --remote --data` must lie under it), never "any bucket of the account".
        sagemaker_policy(names, ANY_REGISTRY_IMAGE.format(region=names.region), data_uri=s3_training_data(config)),
        build_role_policy(config, pipeline_scope(names), names.stage),
    ]


def boundary_policy(config: Config, names: Names) -> Policy:
    """The boundary of the roles of `names`' stage; of the CI/CD roles for the PIPELINE_SCOPE."""
    if names.stage == PIPELINE_SCOPE:
        policies = [build(config, names) for build in CICD_ROLE_POLICIES]
    else:
        policies = stage_role_policies(config, names)
    return document([*_per_service(policies), guard_statement()])


def guard_statement() -> Statement:
    return statement("DenyEveryIamWrite", IAM_WRITES, "*", effect="Deny")


def size(policy: Mapping[str, Any]) -> int:
    """Characters IAM counts against its size limit (whitespace excluded)."""
    return len(json.dumps(policy, separators=(",", ":")))


def _per_service(policies: Iterable[Policy]) -> list[Statement]:
    """One Allow per (service, condition, "*" or not): the actions and resources of that service;
    one for every action that has no resource type."""
    groups: dict[tuple[str, str, bool], tuple[set[str], set[str], Mapping[str, Any] | None]] = {}
    for policy in policies:
        for one in policy["Statement"]:
            resources = as_list(one["Resource"])
            for action in as_list(one["Action"]):
                # Actions without a resource type (on "*", no condition) share one statement.
                service = "" if resources == ["*"] and not one.get("Condition") else action.split(":")[0]
                key = (service, json.dumps(one.get("Condition"), sort_keys=True), resources == ["*"])
                actions, arns, _ = groups.setdefault(key, (set(), set(), one.get("Condition")))
                actions.add(action)
                arns.update(resources)
    # No Sids: IAM counts every character of a managed policy, and the boundary is the largest.
    return [
        statement(None, actions, "*" if star else _uncovered(arns), condition=condition)
        for (_, _, star), (actions, arns, condition) in sorted(groups.items())
    ]


def _uncovered(arns: set[str]) -> list[str]:
    """Drop an ARN that another one of the set, ending in its only wildcard `*`, already covers."""
    wide = [a[:-1] for a in arns if a.endswith("*") and "*" not in a[:-1] and "?" not in a]
    return [a for a in arns if not any(a != w + "*" and a.startswith(w) for w in wide)]
