"""AWS's IAM policy evaluation for one request: pure, no I/O, no moto.

Follows "Policy evaluation logic" of the IAM User Guide for a request inside one account:
an explicit Deny in any policy wins; otherwise the request is allowed when an identity-based policy
allows it and the permissions boundary (if the principal has one) allows it too, or when the
resource-based policy allows it for this principal. A resource policy Allow naming the exact
session ARN is not limited by the boundary; one naming the role ARN or "*" is (as AWS documents
for same-account role sessions). A resource policy naming the account only delegates to IAM.

moto's own access control (moto/iam/access_control.py) has no Resource, Condition, boundary or
resource-policy support, so this small module stands in for it. What is knowingly not modelled is
listed in docs/CONTRACTS.md (SCPs/RCPs, session policies, cross-account, service principals).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # AWS's own wording of the outcome, the tail of its AccessDenied message, e.g.
    # "because no identity-based policy allows the iam:CreateUser action" or
    # "with an explicit deny in an identity-based policy" ("allowed by ..." when allowed).
    reason: str
    sid: str | None = None  # the statement that decided (explicit deny or first allow), if it has a Sid

    def message(self, principal_arn: str, action: str, resource: str) -> str:
        """AWS's AccessDenied message for this decision."""
        return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {self.reason}"


def evaluate(
    action: str,
    resource: str,
    *,
    identity_policies: Sequence[Mapping[str, Any]],
    boundary: Mapping[str, Any] | None = None,
    resource_policy: Mapping[str, Any] | None = None,
    principal_arn: str = "",
    context: Mapping[str, ContextValue] = {},
) -> Decision:
    request = _Request(action, resource, principal_arn, context)
    places = (
        ("an identity-based policy", identity_policies, False),
        ("a permissions boundary", [boundary] if boundary is not None else [], False),
        ("a resource-based policy", [resource_policy] if resource_policy is not None else [], True),
    )
    for place, policies, is_resource_policy in places:
        for statement in _statements(policies):
            if _effect(statement) == "Deny" and request.matches(statement, is_resource_policy):
                return Decision(False, f"with an explicit deny in {place}", statement.get("Sid"))
    identity_sid = _first_allow(request, identity_policies, False)
    boundary_ok = boundary is None or _first_allow(request, [boundary], False) is not None
    if identity_sid is not None and boundary_ok:
        return Decision(True, "allowed by an identity-based policy", identity_sid or None)
    if resource_policy is not None:
        for statement in _statements([resource_policy]):
            if _effect(statement) != "Allow" or not request.matches(statement, True):
                continue
            grant = _principal_grant(statement, principal_arn)
            if grant == "session" or (grant == "broad" and boundary_ok):
                return Decision(True, "allowed by a resource-based policy", statement.get("Sid"))
    if identity_sid is not None:
        return Decision(False, f"because no permissions boundary allows the {action} action")
    return Decision(False, f"because no identity-based policy allows the {action} action")


def allows_principal(
    policy: Mapping[str, Any],
    action: str,
    resource: str,
    *,
    principal_arn: str,
    context: Mapping[str, ContextValue] = {},
) -> bool:
    """Whether an Allow of a resource policy covers this principal at all (naming its account counts):
    a role's trust policy must, for sts:AssumeRole, whatever the caller's identity policies allow."""
    request = _Request(action, resource, principal_arn, context)
    return any(_effect(s) == "Allow" and request.matches(s, True) for s in _statements([policy]))


class _Request:
    def __init__(self, action: str, resource: str, principal_arn: str, context: Mapping[str, ContextValue]) -> None:
        self.action = action
        self.resource = resource
        self.principal_arn = principal_arn
        # Condition keys are case-insensitive (values are not).
        self.context = {k.lower(): _as_list(v) for k, v in context.items()}
        if principal_arn:
            self.context.setdefault("aws:principalarn", [principal_arn])

    def matches(self, statement: Mapping[str, Any], is_resource_policy: bool) -> bool:
        if is_resource_policy and not _principal_matches(statement, self.principal_arn):
            return False
        if not _element_matches(statement, "Action", lambda p: _action_matches(p, self.action)):
            return False
        # A resource-based policy without Resource (a role's trust policy) is about the resource it is on.
        implicit = is_resource_policy and "Resource" not in statement and "NotResource" not in statement
        if not implicit and not _element_matches(
            statement, "Resource", lambda p: _wildcard(self.resolve(p), self.resource, False)
        ):
            return False
        return _conditions_hold(statement.get("Condition") or {}, self)

    def resolve(self, text: str) -> str | None:
        """Resolve policy variables (${aws:username}, ${*}...); None when one has no value."""
        if "${" not in text:
            return text
        missing = False

        def value(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            if name in ("*", "?", "$"):
                return {"*": "\x00", "?": "\x01", "$": "$"}[name]  # literal, not a wildcard
            name, _, default = name.partition(", ")
            values = self.context.get(name.strip().lower()) or ([default.strip("'")] if default else [])
            missing = missing or not values
            return values[0] if values else ""

        resolved = re.sub(r"\$\{([^}]+)\}", value, text)
        return None if missing else resolved


def _statements(policies: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for policy in policies:
        statements = policy.get("Statement", [])
        yield from [statements] if isinstance(statements, Mapping) else statements


def _effect(statement: Mapping[str, Any]) -> str:
    return str(statement.get("Effect", ""))


def _first_allow(request: _Request, policies: Sequence[Mapping[str, Any]], is_resource_policy: bool) -> str | None:
    """The Sid ("" when none) of the first matching Allow statement, or None."""
    for statement in _statements(policies):
        if _effect(statement) == "Allow" and request.matches(statement, is_resource_policy):
            return str(statement.get("Sid", ""))
    return None


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_text(v) for v in value]
    return [_text(value)]


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _element_matches(statement: Mapping[str, Any], name: str, match: Callable[[str], bool]) -> bool:
    """Action/NotAction, Resource/NotResource: a statement without either matches nothing."""
    if name in statement:
        return any(match(p) for p in _as_list(statement[name]))
    if "Not" + name in statement:
        return not any(match(p) for p in _as_list(statement["Not" + name]))
    return False


def _action_matches(pattern: str, action: str) -> bool:
    return _wildcard(pattern, action, True)


def _wildcard(pattern: str | None, value: str, ignore_case: bool) -> bool:
    if pattern is None:
        return False
    if pattern == "*":
        return True
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        parts.append({"*": ".*", "?": ".", "\x00": r"\*", "\x01": r"\?"}.get(char) or re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


# -- principals (resource-based policies) ---------------------------------------------------


def _principal_ids(element: Any) -> list[str]:
    if element == "*":
        return ["*"]
    if isinstance(element, Mapping):
        return [v for key, values in element.items() for v in _as_list(values) if key == "AWS" or v == "*"]
    return []


def _role_of(principal_arn: str) -> tuple[str, str] | None:
    """(account, role name) of an assumed-role session ARN, else None."""
    match = re.fullmatch(r"arn:[^:]+:sts::(\d+):assumed-role/([^/]+)/.+", principal_arn)
    return (match.group(1), match.group(2)) if match else None


def _grant_kind(listed: str, principal_arn: str) -> str | None:
    """How a Principal entry covers the caller: "session" (its own ARN), "broad" (role ARN or "*"),
    "account" (the account: delegates to identity policies), or None."""
    if listed == "*":
        return "broad"
    if listed == principal_arn:
        return "session"
    account = principal_arn.split(":")[4] if principal_arn.count(":") >= 5 else ""
    if listed in (account, f"arn:aws:iam::{account}:root") and account:
        return "account"
    role = _role_of(principal_arn)
    if role and re.fullmatch(rf"arn:[^:]+:iam::{role[0]}:role/(.+/)?{re.escape(role[1])}", listed):
        return "broad"
    return None


def _principal_grant(statement: Mapping[str, Any], principal_arn: str) -> str | None:
    if "NotPrincipal" in statement:
        return "broad" if _principal_matches(statement, principal_arn) else None
    kinds = {_grant_kind(p, principal_arn) for p in _principal_ids(statement.get("Principal"))}
    for kind in ("session", "broad"):
        if kind in kinds:
            return kind
    return None  # "account" only: the identity-based policies decide


def _principal_matches(statement: Mapping[str, Any], principal_arn: str) -> bool:
    if "NotPrincipal" in statement:
        return not any(_grant_kind(p, principal_arn) for p in _principal_ids(statement["NotPrincipal"]))
    return any(_grant_kind(p, principal_arn) for p in _principal_ids(statement.get("Principal")))


# -- conditions --------------------------------------------------------------------------------


def _conditions_hold(conditions: Mapping[str, Any], request: _Request) -> bool:
    """Every operator, every key in it must hold (AND); the values of one key are alternatives (OR)."""
    for operator, block in conditions.items():
        for key, policy_values in block.items():
            values = [request.resolve(v) for v in _as_list(policy_values)]
            resolved = [v for v in values if v is not None]
            if not _condition(operator, request.context.get(key.lower()), resolved):
                return False
    return True


def _condition(operator: str, context_values: list[str] | None, policy_values: list[str]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if base == "Null":
        wants_absent = policy_values[:1] == ["true"]
        return (not context_values) == wants_absent
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS:
        return False  # IAM rejects such a policy when it is written; never let one match here
    negated, test = _OPERATORS[base]
    if not context_values:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        # A missing key fails a positive operator and satisfies a negated one (IAM User Guide).
        return if_exists or negated

    def positive(value: str) -> bool:
        return any(test(value, p) for p in policy_values)

    if qualifier == "ForAllValues":
        return all(positive(v) != negated for v in context_values)
    if qualifier == "ForAnyValue":
        return any(positive(v) != negated for v in context_values)
    hit = any(positive(v) for v in context_values)
    return not hit if negated else hit


def _arn_like(value: str, pattern: str) -> bool:
    """ARN operators compare each of the six colon-separated parts, each may hold wildcards."""
    value_parts, pattern_parts = value.split(":", 5), pattern.split(":", 5)
    if len(value_parts) != 6 or len(pattern_parts) != 6:
        return False
    return all(_wildcard(p, v, False) for v, p in zip(value_parts, pattern_parts, strict=True))


def _number(value: str) -> float:
    return float(value)


def _date(value: str) -> float:
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)  # epoch seconds, as AWS accepts
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _compare(convert: Callable[[str], float], test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def run(value: str, policy: str) -> bool:
        try:
            return test(convert(value), convert(policy))
        except ValueError:
            return False  # a malformed value never matches (AWS: the condition is false)

    return run


def _ip(value: str, policy: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _binary(value: str, policy: str) -> bool:
    try:
        return base64.b64decode(value) == base64.b64decode(policy)
    except ValueError:
        return False


def _numeric_family(prefix: str, convert: Callable[[str], float]) -> dict[str, tuple[bool, Callable[[str, str], bool]]]:
    return {
        prefix + "Equals": (False, _compare(convert, lambda a, b: a == b)),
        prefix + "NotEquals": (True, _compare(convert, lambda a, b: a == b)),
        prefix + "LessThan": (False, _compare(convert, lambda a, b: a < b)),
        prefix + "LessThanEquals": (False, _compare(convert, lambda a, b: a <= b)),
        prefix + "GreaterThan": (False, _compare(convert, lambda a, b: a > b)),
        prefix + "GreaterThanEquals": (False, _compare(convert, lambda a, b: a >= b)),
    }


# operator -> (negated, positive test(context value, policy value))
_OPERATORS: dict[str, tuple[bool, Callable[[str, str], bool]]] = {
    "StringEquals": (False, lambda v, p: v == p),
    "StringNotEquals": (True, lambda v, p: v == p),
    "StringEqualsIgnoreCase": (False, lambda v, p: v.lower() == p.lower()),
    "StringNotEqualsIgnoreCase": (True, lambda v, p: v.lower() == p.lower()),
    "StringLike": (False, lambda v, p: _wildcard(p, v, False)),
    "StringNotLike": (True, lambda v, p: _wildcard(p, v, False)),
    "ArnEquals": (False, _arn_like),
    "ArnLike": (False, _arn_like),
    "ArnNotEquals": (True, _arn_like),
    "ArnNotLike": (True, _arn_like),
    "Bool": (False, lambda v, p: v.lower() == p.lower()),
    "BinaryEquals": (False, _binary),
    "IpAddress": (False, _ip),
    "NotIpAddress": (True, _ip),
    **_numeric_family("Numeric", _number),
    **_numeric_family("Date", _date),
}
