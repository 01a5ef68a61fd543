"""Planner for an IAM role with one inline policy and a permissions boundary (every role mlpipe creates).

The boundary is set when the role is created and comes first in an update, so that PutRolePolicy
is made on a role that already carries it (the operator policy allows role writes only then).
`observe` / `observe_for_deletion` do every read and return a plain snapshot; `diff` and
`diff_deletion` decide from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
        iam = clients.client("iam")
        tags = tag_dict((read(clients, iam.list_role_tags, RoleName=role["RoleName"]) or {}).get("Tags"))
    return tags


@dataclass(frozen=True)
class Role:
    """What IAM reports about a role: tags, trust policy, permissions boundary, and either its inline
    policy `mlpipe` (planning) or the names of every inline and attached policy (deletion)."""

    tags: Mapping[str, str]
    trust: Any = None
    boundary_arn: str | None = None
    inline_policy: Any = None  # the document of INLINE_POLICY, None when absent
    inline_names: tuple[str, ...] = ()
    attached_arns: tuple[str, ...] = ()


def observe(clients: Clients, name: str) -> Role | None:
    role = _get_role(clients, name)
    if role is None:
        return None
    boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    trust = role.get("AssumeRolePolicyDocument")
    return Role(_role_tags(clients, role), trust, boundary, _inline_policy(clients, name))


def observe_for_deletion(clients: Clients, name: str) -> Role | None:
    role = _get_role(clients, name)
    if role is None:
        return None
    iam = clients.client("iam")
    inline = (read(clients, iam.list_role_policies, RoleName=name) or {}).get("PolicyNames", [])
    attached = (read(clients, iam.list_attached_role_policies, RoleName=name) or {}).get("AttachedPolicies", [])
    return Role(
        _role_tags(clients, role), inline_names=tuple(inline), attached_arns=tuple(p["PolicyArn"] for p in attached)
    )


def diff(spec: RoleSpec, observed: Role | None, names: Names) -> Change:
    policy_json = json.dumps(spec.policy, sort_keys=True)
    put_policy = Call(
        "iam", "put_role_policy", {"RoleName": spec.name, "PolicyName": INLINE_POLICY, "PolicyDocument": policy_json}
    )
    trust_json = json.dumps(trust_policy(spec.service, names.account), sort_keys=True)
    if observed is None:
        create = {
            "RoleName": spec.name,
            "AssumeRolePolicyDocument": trust_json,
            "Description": spec.description or f"mlpipe {names.app}/{names.stage}",
            "Tags": tag_list(names.tags),
            **({"PermissionsBoundary": spec.boundary_arn} if spec.boundary_arn else {}),
        }
        steps = (Call("iam", "create_role", create), put_policy)
        return Change("create", "iam-role", spec.name, f"assumable by {spec.service}", steps)
    require_owned(names, "IAM role", spec.name, observed.tags)
    updates: list[Call] = []
    details = []
    if spec.boundary_arn and observed.boundary_arn != spec.boundary_arn:
        params = {"RoleName": spec.name, "PermissionsBoundary": spec.boundary_arn}
        updates.append(Call("iam", "put_role_permissions_boundary", params))
        details.append("permissions boundary")
    if normalized(observed.trust) != normalized(trust_policy(spec.service, names.account)):
        updates.append(Call("iam", "update_assume_role_policy", {"RoleName": spec.name, "PolicyDocument": trust_json}))
        details.append("trust policy")
    if normalized(observed.inline_policy) != normalized(spec.policy):
        updates.append(put_policy)
        details.append("inline policy")
    if not updates:
        return Change("noop", "iam-role", spec.name)
    return Change("update", "iam-role", spec.name, ", ".join(details) + " changed", tuple(updates))


def plan_role(spec: RoleSpec, clients: Clients, names: Names) -> Change:
    return diff(spec, observe(clients, spec.name), names)


def diff_deletion(name: str, observed: Role | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "iam-role", name, "absent")
    require_owned(names, "IAM role", name, observed.tags)
    absent = ("NoSuchEntity",)
    steps = [
        Call("iam", "delete_role_policy", {"RoleName": name, "PolicyName": p}, ok_on=absent)
        for p in observed.inline_names
    ]
    steps += [
        Call("iam", "detach_role_policy", {"RoleName": name, "PolicyArn": arn}, ok_on=absent)
        for arn in observed.attached_arns
    ]
    steps.append(Call("iam", "delete_role", {"RoleName": name}, ok_on=absent))
    return Change("delete", "iam-role", name, steps=tuple(steps))


def plan_role_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(name, observe_for_deletion(clients, name), names)
