"""The one builder of IAM statements and policy documents, used by every module of this package."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlpipe.names import Names

VERSION = "2012-10-17"

Statement = dict[str, Any]
Policy = dict[str, Any]


def _values(values: str | Iterable[str]) -> str | list[str]:
    """One value stays a string; several are sorted and de-duplicated, so documents compare stably."""
    return values if isinstance(values, str) else sorted(set(values))


def statement(
    sid: str | None,
    actions: str | Iterable[str],
    resources: str | Iterable[str],
    *,
    effect: str = "Allow",
    condition: Mapping[str, Mapping[str, Any]] | None = None,
    principal: str | Mapping[str, Any] | None = None,
    not_actions: bool = False,
    not_resources: bool = False,
) -> Statement:
    """One statement. `not_actions`/`not_resources` turn Action/Resource into NotAction/NotResource."""
    out: Statement = {}
    if sid is not None:
        out["Sid"] = sid
    out["Effect"] = effect
    if principal is not None:  # resource policies only
        out["Principal"] = principal if isinstance(principal, str) else dict(principal)
    out["NotAction" if not_actions else "Action"] = _values(actions)
    out["NotResource" if not_resources else "Resource"] = _values(resources)
    if condition:
        out["Condition"] = {op: dict(values) for op, values in condition.items()}
    return out


def document(statements: Iterable[Statement]) -> Policy:
    return {"Version": VERSION, "Statement": list(statements)}


def arn(names: Names, service: str, resource: str) -> str:
    """An ARN of this account and region: arn:<partition>:<service>:<region>:<account>:<resource>."""
    return f"arn:{names.partition}:{service}:{names.region}:{names.account}:{resource}"


def as_list(value: str | Iterable[str]) -> list[str]:
    """A statement's Action or Resource as a list (IAM accepts a string or a list)."""
    return [value] if isinstance(value, str) else list(value)
