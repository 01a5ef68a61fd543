"""Who may call the embedded AWS: the access keys it knows, each tied to a principal.

Every server has an operator identity (the CLI's: random at first start, persisted 0600 in the
cache directory so `eval "$(mlpipe local env)"` keeps working across restarts) and hands out
further identities to the actors it runs (Lambda functions, builds, SageMaker) with `issue()`, the
way STS AssumeRole does. The middleware verifies each request's SigV4 signature against the secret
of the key it names (`lookup`).
"""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCOUNT = "123456789012"  # moto's account
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Identity:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    principal_arn: str
    session_token: str | None = field(default=None, repr=False)


def operator_arn(account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:user/mlpipe-operator"


def new_identity(principal_arn: str, *, session: bool = False) -> Identity:
    """Keys shaped like AWS's: AKIA… (long-term) or ASIA… (temporary, with a session token)."""
    prefix = "ASIA" if session else "AKIA"
    key_id = prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    token = secrets.token_urlsafe(96) if session else None
    return Identity(key_id, secret, principal_arn, token)


class CredentialStore:
    """Thread-safe: the server keeps one in `ctx.state["credentials"]`."""

    def __init__(self, operator: Identity, account: str = DEFAULT_ACCOUNT) -> None:
        self.operator = operator
        # The emulator's own calls (reading a model from S3, shipping logs) act as the account's
        # root, which IAM policies do not restrict: the work AWS's services do internally.
        self.internal = new_identity(f"arn:aws:iam::{account}:root")
        self._lock = threading.Lock()
        self._by_key = {operator.access_key_id: operator, self.internal.access_key_id: self.internal}

    def issue(self, principal_arn: str, *, session: bool = False) -> Identity:
        identity = new_identity(principal_arn, session=session)
        with self._lock:
            self._by_key[identity.access_key_id] = identity
        return identity

    def lookup(self, access_key_id: str) -> Identity | None:
        with self._lock:
            return self._by_key.get(access_key_id)


def load_or_create_operator(path: Path, account: str = DEFAULT_ACCOUNT) -> Identity:
    """The operator identity stored at `path` (0600), created there on first use."""
    try:
        data = json.loads(path.read_text())
        return Identity(data["access_key_id"], data["secret_access_key"], data.get("principal_arn") or operator_arn())
    except (OSError, ValueError, KeyError, TypeError):
        pass
    identity = new_identity(operator_arn(account))
    write_private(
        path,
        json.dumps(
            {
                "access_key_id": identity.access_key_id,
                "secret_access_key": identity.secret_access_key,
                "principal_arn": identity.principal_arn,
            }
        ),
    )
    return identity


def write_private(path: Path, text: str) -> None:
    """Write a file only the user can read (dir 0700, file 0600), atomically."""
    # A directory we create is the user's alone; one that exists (MLPIPE_CACHE_DIR=~) keeps its mode.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)
