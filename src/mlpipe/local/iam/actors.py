"""Credentials for the actors the embedded AWS runs, as the AWS services get them: each assumes its role.

On AWS the Lambda service hands the handler its execution role's temporary credentials, CodeBuild
runs the build as the project's service role, SageMaker reads the model and training data as the
model's (job's) execution role, and CodePipeline acts as the pipeline's role. Here the server's
CredentialStore issues keys for the session ARN `arn:aws:sts::<account>:assumed-role/<role>/<session>`,
and the authorizer evaluates that role's policies for every call signed with them.
"""

from __future__ import annotations

import threading
from typing import Any

from mlpipe.local.registry import Context

_LOCK = threading.Lock()


def session_arn(role_arn: str, session: str) -> str:
    """arn:aws:iam::1:role/path/name + session -> arn:aws:sts::1:assumed-role/name/session (no path)."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("role/"):
        raise ValueError(f"not a role ARN: {role_arn!r}")
    name = parts[5].rsplit("/", 1)[-1]
    return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/{session[:64]}"


def credentials_for(ctx: Context, role_arn: str, session: str) -> Any:
    """An Identity for the role session (issued once per role and session, then reused)."""
    principal = session_arn(role_arn, session)
    issued: dict[str, Any] = ctx.state.setdefault("iam_actor_credentials", {})
    with _LOCK:
        identity = issued.get(principal)
        if identity is None:
            identity = issued[principal] = ctx.state["credentials"].issue(principal, session=True)
    return identity


def role_client(ctx: Context, role_arn: str, session: str, service: str, region: str) -> Any:
    """A boto3 client back to this server, signed as the role session (cached like ctx.client)."""
    import boto3
    import botocore.config

    identity = credentials_for(ctx, role_arn, session)
    cache: dict[tuple[str, str, str], Any] = ctx.state.setdefault("iam_actor_clients", {})
    key = (identity.access_key_id, service, region)
    with _LOCK:
        if key not in cache:
            cache[key] = boto3.client(
                service,
                region_name=region,
                endpoint_url=ctx.endpoint_url,
                aws_access_key_id=identity.access_key_id,
                aws_secret_access_key=identity.secret_access_key,
                aws_session_token=identity.session_token,
                config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}),
            )
        return cache[key]


def require(ctx: Context, role_arn: str, session: str, action: str, resource: str) -> None:
    """A check an AWS service makes as the role without an API call here (e.g. CodePipeline reading
    its CodeCommit source, or starting a build): PermissionError with AWS's message when denied."""
    from mlpipe.local.iam.authorizer import authorize_action

    principal = session_arn(role_arn, session)
    decision = authorize_action(ctx, principal, action, resource)
    if not decision.allowed:
        raise PermissionError(decision.message(principal, action, resource))
