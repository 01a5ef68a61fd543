"""Planner for a permissions boundary: a customer managed policy that mlpipe owns (tagged).

Created before any role that carries it; changed by a new default version (IAM keeps at most five
versions, so the oldest non-default one goes first); deleted last, once no role that would still
carry it exists. Planning makes read calls only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.errors import UsageError
from mlpipe.names import Names
from mlpipe.plan.common import normalized, require_owned, tag_dict, tag_list
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read
from mlpipe.policies.boundary import MANAGED_POLICY_LIMIT, size

KIND = "iam-boundary-policy"
MAX_VERSIONS = 5  # IAM's limit of versions per managed policy
MISSING = ("NoSuchEntity",)


def _policy(clients: Clients, arn: str) -> dict[str, Any] | None:
    iam = clients.client("iam")
    found = read(clients, lambda: iam.get_policy(PolicyArn=arn), MISSING)
    return found["Policy"] if found else None


def _document(clients: Clients, arn: str, version: str) -> Any:
    iam = clients.client("iam")
    found = read(clients, lambda: iam.get_policy_version(PolicyArn=arn, VersionId=version), MISSING)
    return found["PolicyVersion"]["Document"] if found else None


def _owned(clients: Clients, names: Names, policy: dict[str, Any]) -> None:
    tags = policy.get("Tags")
    if not tags:  # GetPolicy leaves Tags out in some implementations
        iam = clients.client("iam")
        tags = (read(clients, lambda: iam.list_policy_tags(PolicyArn=policy["Arn"])) or {}).get("Tags")
    require_owned(names, "IAM policy", policy["PolicyName"], tag_dict(tags))


def plan_boundary(document: dict[str, Any], clients: Clients, names: Names) -> Change:
    """Create the boundary of `names` (app and stage), or make `document` its default version."""
    if size(document) > MANAGED_POLICY_LIMIT:
        raise UsageError(
            f"the permissions boundary {names.boundary_policy} would be {size(document)} characters, over "
            f"IAM's {MANAGED_POLICY_LIMIT} for a managed policy",
            hint="use a shorter app or stage name in mlpipe.yaml",
        )
    text = json.dumps(document, sort_keys=True)
    policy = _policy(clients, names.boundary_arn)
    if policy is None:
        create = Call(
            "iam",
            "create_policy",
            {
                "PolicyName": names.boundary_policy,
                "PolicyDocument": text,
                "Description": f"mlpipe {names.app}/{names.stage}: permissions boundary of its roles",
                "Tags": tag_list(names.tags),
            },
        )
        return Change("create", KIND, names.boundary_policy, "caps every role of this stage", (create,))
    _owned(clients, names, policy)
    current = _document(clients, names.boundary_arn, policy["DefaultVersionId"])
    if normalized(current) == normalized(document):
        return Change("noop", KIND, names.boundary_policy)
    return Change(
        "update", KIND, names.boundary_policy, "document changed", (*_make_room(clients, names), _new(text, names))
    )


def _new(text: str, names: Names) -> Call:
    params = {"PolicyArn": names.boundary_arn, "PolicyDocument": text, "SetAsDefault": True}
    return Call("iam", "create_policy_version", params)


def _versions(clients: Clients, arn: str) -> list[dict[str, Any]]:
    iam = clients.client("iam")
    found = read(clients, lambda: iam.list_policy_versions(PolicyArn=arn), MISSING) or {}
    return list(found.get("Versions", []))


def _make_room(clients: Clients, names: Names) -> list[Call]:
    versions = [v for v in _versions(clients, names.boundary_arn) if not v.get("IsDefaultVersion")]
    versions.sort(key=lambda v: str(v.get("CreateDate", "")))
    excess = len(versions) + 1 - (MAX_VERSIONS - 1)  # room for the new one, next to the default
    return [_delete_version(names, v["VersionId"]) for v in versions[: max(excess, 0)]]


def _delete_version(names: Names, version: str) -> Call:
    return Call("iam", "delete_policy_version", {"PolicyArn": names.boundary_arn, "VersionId": version}, ok_on=MISSING)


def _role_exists(clients: Clients, name: str) -> bool:
    iam = clients.client("iam")
    return read(clients, lambda: iam.get_role(RoleName=name), MISSING) is not None


def plan_boundary_deletion(clients: Clients, names: Names, users: Sequence[str] = ()) -> Change:
    """Delete the boundary, unless a role in `users` (roles that would still carry it) exists."""
    policy = _policy(clients, names.boundary_arn)
    if policy is None:
        return Change("noop", KIND, names.boundary_policy, "absent")
    _owned(clients, names, policy)
    remaining = [user for user in users if _role_exists(clients, user)]
    if remaining:
        return Change("noop", KIND, names.boundary_policy, f"kept: role {', '.join(remaining)} still carries it")
    steps = [
        _delete_version(names, v["VersionId"])
        for v in _versions(clients, names.boundary_arn)
        if not v.get("IsDefaultVersion")
    ]
    steps.append(Call("iam", "delete_policy", {"PolicyArn": names.boundary_arn}, ok_on=MISSING))
    return Change("delete", KIND, names.boundary_policy, steps=tuple(steps))
