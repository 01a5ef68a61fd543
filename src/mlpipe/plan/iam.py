"""Planner for an IAM role with one inline policy and a permissions boundary (every role mlpipe creates).

The boundary is set when the role is created and comes first in an update, so that PutRolePolicy
is made on a role that already carries it (the operator policy allows role writes only then).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.calls import read
from mlpipe.aws.clients import Clients
from mlpipe.names import Names
from mlpipe.plan.common import normalized, require_owned, tag_dict, tag_list
from mlpipe.plan.model import Call, Change
from mlpipe.policies.trust import trust_policy

INLINE_POLICY = "mlpipe"
# A role just created is not assumable for a few seconds; Lambda answers with these errors
# ("Code:message fragment", see Call.retry_on).
PROPAGATION_ERRORS = (
    "InvalidParameterValueException:cannot be assumed",
    "InvalidParameterValueException:execution role does not have permissions",
)


@dataclass(frozen=True)
class RoleSpec:
    name: str
    service: str  # who may assume it, e.g. "lambda.amazonaws.com"
    policy: dict[str, Any]  # the inline, least-privilege policy document
    description: str = ""
    boundary_arn: str | None = None  # the managed policy that caps the role (plan/boundary.py)


def _get_role(clients: Clients, name: str) -> dict[str, Any] | None:
    found = read(clients, clients.client("iam").get_role, RoleName=name, missing=("NoSuchEntity",))
    return found["Role"] if found else None


def _inline_policy(clients: Clients, name: str) -> Any:
    iam = clients.client("iam")
    found = read(clients, iam.get_role_policy, RoleName=name, PolicyName=INLINE_POLICY, missing=("NoSuchEntity",))
    return found["PolicyDocument"] if found else None


def _role_tags(clients: Clients, role: dict[str, Any]) -> dict[str, str]:
    tags = tag_dict(role.get("Tags"))
    if not tags:  # some implementations leave Tags out of GetRole
        tags = tag_dict(clients.client("iam").list_role_tags(RoleName=role["RoleName"]).get("Tags"))
    return tags


def plan_role(spec: RoleSpec, clients: Clients, names: Names) -> Change:
    policy_json = json.dumps(spec.policy, sort_keys=True)
    put_policy = Call(
        "iam", "put_role_policy", {"RoleName": spec.name, "PolicyName": INLINE_POLICY, "PolicyDocument": policy_json}
    )
    trust_json = json.dumps(trust_policy(spec.service, names.account), sort_keys=True)
    role = _get_role(clients, spec.name)
    if role is None:
        return Change(
            "create",
            "iam-role",
            spec.name,
            f"assumable by {spec.service}",
            (
                Call(
                    "iam",
                    "create_role",
                    {
                        "RoleName": spec.name,
                        "AssumeRolePolicyDocument": trust_json,
                        "Description": spec.description or f"mlpipe {names.app}/{names.stage}",
                        "Tags": tag_list(names.tags),
                        **({"PermissionsBoundary": spec.boundary_arn} if spec.boundary_arn else {}),
                    },
                ),
                put_policy,
            ),
        )
    require_owned(names, "IAM role", spec.name, _role_tags(clients, role))
    steps: list[Call] = []
    details = []
    current_boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if spec.boundary_arn and current_boundary != spec.boundary_arn:
        params = {"RoleName": spec.name, "PermissionsBoundary": spec.boundary_arn}
        steps.append(Call("iam", "put_role_permissions_boundary", params))
        details.append("permissions boundary")
    if normalized(role.get("AssumeRolePolicyDocument")) != normalized(trust_policy(spec.service, names.account)):
        steps.append(
            Call(
                "iam",
                "update_assume_role_policy",
                {"RoleName": spec.name, "PolicyDocument": trust_json},
            )
        )
        details.append("trust policy")
    if normalized(_inline_policy(clients, spec.name)) != normalized(spec.policy):
        steps.append(put_policy)
        details.append("inline policy")
    if not steps:
        return Change("noop", "iam-role", spec.name)
    return Change("update", "iam-role", spec.name, ", ".join(details) + " changed", tuple(steps))


def plan_role_deletion(name: str, clients: Clients, names: Names) -> Change:
    role = _get_role(clients, name)
    if role is None:
        return Change("noop", "iam-role", name, "absent")
    require_owned(names, "IAM role", name, _role_tags(clients, role))
    policies = clients.client("iam").list_role_policies(RoleName=name).get("PolicyNames", [])
    steps = [
        Call("iam", "delete_role_policy", {"RoleName": name, "PolicyName": p}, ok_on=("NoSuchEntity",))
        for p in policies
    ]
    attached = clients.client("iam").list_attached_role_policies(RoleName=name).get("AttachedPolicies", [])
    steps += [
        Call("iam", "detach_role_policy", {"RoleName": name, "PolicyArn": p["PolicyArn"]}, ok_on=("NoSuchEntity",))
        for p in attached
    ]
    steps.append(Call("iam", "delete_role", {"RoleName": name}, ok_on=("NoSuchEntity",)))
    return Change("delete", "iam-role", name, steps=tuple(steps))
