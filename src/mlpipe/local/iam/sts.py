"""STS answers about the embedded AWS's own identities (moto's STS knows only keys it made itself).

GetCallerIdentity returns the caller's principal, as AWS does: the operator's user ARN, or the
assumed-role session ARN of a Lambda handler, a build or SageMaker (moto would say `user/moto`).
AssumeRole hands out keys the server's CredentialStore knows, so the session can sign requests and
IAM evaluates the role's policies for it. Patched into moto's STS backend at start-up, like
mapping_runner.detach_moto_consumers patches SQS.
"""

from __future__ import annotations

import hashlib
from typing import Any

_STORES: list[Any] = []  # the CredentialStore of each server of this process (tests may run one)


def install(store: Any) -> None:
    from moto.sts.models import STSBackend

    if store not in _STORES:
        _STORES.append(store)
    if getattr(STSBackend.get_caller_identity, "_mlpipe", False):
        return
    moto_caller_identity = STSBackend.get_caller_identity
    moto_assume_role = STSBackend.assume_role

    def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
        if self.get_assumed_role_from_access_key(access_key_id) is None:
            identity = _lookup(access_key_id)
            if identity is not None:
                return user_id(identity.principal_arn), identity.principal_arn, identity.principal_arn.split(":")[4]
        return moto_caller_identity(self, access_key_id, region)

    def assume_role(self: Any, **kwargs: Any) -> Any:
        role = moto_assume_role(self, **kwargs)
        if _STORES:
            issued = _STORES[-1].issue(role.arn, session=True)
            role.access_key_id = issued.access_key_id
            role.secret_access_key = issued.secret_access_key
            role.session_token = issued.session_token
        return role

    get_caller_identity._mlpipe = True  # type: ignore[attr-defined]
    STSBackend.get_caller_identity = get_caller_identity  # type: ignore[method-assign]
    STSBackend.assume_role = assume_role  # type: ignore[method-assign,assignment]


def _lookup(access_key_id: str) -> Any:
    for store in reversed(_STORES):
        identity = store.lookup(access_key_id)
        if identity is not None:
            return identity
    return None


def user_id(principal_arn: str) -> str:
    """AWS's UserId shapes: AROA...:<session> for a role session, AIDA... for a user, the account for root."""
    resource = principal_arn.split(":", 5)[-1]
    if resource.startswith("assumed-role/"):
        _, role, session = resource.split("/", 2)
        return f"AROA{_digest(principal_arn.split(':')[4] + role)}:{session}"
    if resource == "root":
        return principal_arn.split(":")[4]
    return f"AIDA{_digest(principal_arn)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest().upper()[:17]
