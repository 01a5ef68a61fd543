"""Planner for a permissions boundary: a customer managed policy that mlpipe owns (tagged).

Created before any role that carries it; changed by a new default version (IAM keeps at most five
versions, so the oldest non-default one goes first); deleted last, once no role that would still
carry it exists. Planning makes read calls only: `observe` does them all and returns a plain
snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def _tags(clients: Clients, policy: dict[str, Any]) -> dict[str, str]:
    tags = policy.get("Tags")
    if not tags:  # GetPolicy leaves Tags out in some implementations
        iam = clients.client("iam")
        tags = (read(clients, lambda: iam.list_policy_tags(PolicyArn=policy["Arn"])) or {}).get("Tags")
    return tag_dict(tags)


def _versions(clients: Clients, arn: str) -> list[dict[str, Any]]:
    iam = clients.client("iam")
    found = read(clients, lambda: iam.list_policy_versions(PolicyArn=arn), MISSING) or {}
    return list(found.get("Versions", []))


def _role_exists(clients: Clients, name: str) -> bool:
    iam = clients.client("iam")
    return read(clients, lambda: iam.get_role(RoleName=name), MISSING) is not None


@dataclass(frozen=True)
class Boundary:
    """What IAM reports about the boundary policy: tags, default document, the versions that are not
    the default (oldest first), and which of the roles asked about exist (deletion)."""

    tags: Mapping[str, str]
    document: Any = None
    old_versions: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


def observe(
    clients: Clients, names: Names, document: Mapping[str, Any] | None = None, users: Sequence[str] = ()
) -> Boundary | None:
    """The boundary of `names`, or None. Its versions are listed only when the default document
    differs from `document` (a new version is due): the build and status roles may not list them.
    `users`: roles whose existence the snapshot records (deletion)."""
    policy = _policy(clients, names.boundary_arn)
    if policy is None:
        return None
    current = _document(clients, names.boundary_arn, policy["DefaultVersionId"])
    old: tuple[str, ...] = ()
    if document is None or normalized(current) != normalized(document):
        versions = [v for v in _versions(clients, names.boundary_arn) if not v.get("IsDefaultVersion")]
        old = tuple(v["VersionId"] for v in sorted(versions, key=lambda v: str(v.get("CreateDate", ""))))
    existing = tuple(user for user in users if _role_exists(clients, user))
    return Boundary(_tags(clients, policy), current, old, existing)


def _check_size(document: dict[str, Any], names: Names) -> None:
    if size(document) > MANAGED_POLICY_LIMIT:
        raise UsageError(
            f"the permissions boundary {names.boundary_policy} would be {size(document)} characters, over "
            f"IAM's {MANAGED_POLICY_LIMIT} for a managed policy",
            hint="use a shorter app or stage name in mlpipe.yaml",
        )


def diff(document: dict[str, Any], observed: Boundary | None, names: Names) -> Change:
    """Create the boundary of `names` (app and stage), or make `document` its default version."""
    _check_size(document, names)
    text = json.dumps(document, sort_keys=True)
    if observed is None:
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
    require_owned(names, "IAM policy", names.boundary_policy, observed.tags)
    if normalized(observed.document) == normalized(document):
        return Change("noop", KIND, names.boundary_policy)
    # IAM keeps at most five versions: room for the new one, next to the default.
    excess = max(len(observed.old_versions) + 1 - (MAX_VERSIONS - 1), 0)
    room = [_delete_version(names, v) for v in observed.old_versions[:excess]]
    return Change("update", KIND, names.boundary_policy, "document changed", (*room, _new(text, names)))


def plan_boundary(document: dict[str, Any], clients: Clients, names: Names) -> Change:
    _check_size(document, names)  # before any call, as a bad config should be
    return diff(document, observe(clients, names, document), names)


def _new(text: str, names: Names) -> Call:
    params = {"PolicyArn": names.boundary_arn, "PolicyDocument": text, "SetAsDefault": True}
    return Call("iam", "create_policy_version", params)


def _delete_version(names: Names, version: str) -> Call:
    return Call("iam", "delete_policy_version", {"PolicyArn": names.boundary_arn, "VersionId": version}, ok_on=MISSING)


def diff_deletion(observed: Boundary | None, names: Names) -> Change:
    """Delete the boundary, unless a role that would still carry it exists (`observed.users`)."""
    if observed is None:
        return Change("noop", KIND, names.boundary_policy, "absent")
    require_owned(names, "IAM policy", names.boundary_policy, observed.tags)
    if observed.users:
        return Change("noop", KIND, names.boundary_policy, f"kept: role {', '.join(observed.users)} still carries it")
    steps = [_delete_version(names, v) for v in observed.old_versions]
    steps.append(Call("iam", "delete_policy", {"PolicyArn": names.boundary_arn}, ok_on=MISSING))
    return Change("delete", KIND, names.boundary_policy, steps=tuple(steps))


def plan_boundary_deletion(clients: Clients, names: Names, users: Sequence[str] = ()) -> Change:
    """Delete the boundary, unless a role in `users` (roles that would still carry it) exists."""
    return diff_deletion(observe(clients, names, users=users), names)
