"""Answers moto gets wrong in shape, made as AWS gives them.

- Lambda GetFunction `Code.Location`: on AWS a presigned URL (valid 10 minutes) that downloads the
  deployment package. moto points at `awslambda-<region>-tasks.s3…amazonaws.com`, unreachable
  offline; here it is a presigned URL on this server (`/_lambda-code/<function>/<CodeSha256>`,
  signed with the emulator's internal identity, so anyone holding the URL may fetch it until it
  expires, as on AWS).
- SageMaker endpoint configs: moto records their ARN as a one-element tuple, so the tagging API
  (GetResources) answered `"('arn:aws:sagemaker:…:endpoint-config/…',)"`. The ARN is a string.
- STS GetCallerIdentity: moto answers `user/moto` for keys it did not issue; AWS names the caller.
  For the server's keys (operator, actors' role sessions, internal = root) it is their principal.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote, unquote

from mlpipe.local import registry
from mlpipe.local.registry import Context, after, on_shutdown, on_startup

CODE_PREFIX = "/_lambda-code/"
CODE_URL_EXPIRES_S = 600  # AWS's presigned code URLs last 10 minutes


@after("lambda", "GetFunction")
def code_location_on_this_server(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    code = response.get("Code")
    config = response.get("Configuration") or {}
    if not isinstance(code, dict) or code.get("RepositoryType") != "S3" or not config.get("FunctionName"):
        return
    path = f"{CODE_PREFIX}{quote(config['FunctionName'], safe='')}/{quote(str(config.get('CodeSha256', '')), safe='')}"
    code["Location"] = presign(ctx, path)


def presign(ctx: Context, path: str) -> str:
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    internal = ctx.state["credentials"].internal
    request = AWSRequest(method="GET", url=ctx.endpoint_url + path)
    keys = Credentials(internal.access_key_id, internal.secret_access_key, internal.session_token)
    SigV4QueryAuth(keys, "lambda", ctx.region, expires=CODE_URL_EXPIRES_S).add_auth(request)
    return str(request.url)


def _code_app(ctx: Context) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        name, _, sha = environ.get("PATH_INFO", "")[len(CODE_PREFIX) :].partition("/")
        package = _package(ctx, unquote(name), unquote(sha))
        if package is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such function code (the function changed or was deleted)"]
        start_response("200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(package)))])
        return [package]

    return app


def _package(ctx: Context, name: str, sha: str) -> bytes | None:
    from moto.awslambda.models import lambda_backends

    for regions in list(lambda_backends.values()):
        for backend in list(regions.values()):
            try:
                fn = backend.get_function(name)
            except Exception:  # not in this region/account
                continue
            code = bytes(fn.code_bytes or b"")
            digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
            if code and digest == sha:
                return code
    return None


def _string_arn(original: Any) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.arn = self.endpoint_config_arn

    init.__wrapped__ = original  # type: ignore[attr-defined]
    return init


# The credential stores of the servers running in this process (tests may run more than one).
_STORES: list[Any] = []


def _caller(original: Any) -> Any:
    def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
        for store in list(_STORES):
            identity = store.lookup(access_key_id)
            if identity is not None:
                return caller_of(identity.principal_arn)
        user_id, arn, account = original(self, access_key_id, region)
        return user_id, arn, account

    get_caller_identity.__wrapped__ = original  # type: ignore[attr-defined]
    return get_caller_identity


def caller_of(principal_arn: str) -> tuple[str, str, str]:
    """(UserId, Arn, Account) as GetCallerIdentity gives them for a user, a role session or root."""
    account = principal_arn.split(":")[4]
    unique = hashlib.sha256(principal_arn.encode()).hexdigest().upper()[:17]
    if principal_arn.endswith(":root"):
        return account, principal_arn, account
    if ":assumed-role/" in principal_arn:
        session = principal_arn.rsplit("/", 1)[-1]
        return f"AROA{unique}:{session}", principal_arn, account
    return f"AIDA{unique}", principal_arn, account


@on_startup
def install(ctx: Context) -> None:
    from moto.sagemaker.models import FakeEndpointConfig
    from moto.sts.models import STSBackend

    if not hasattr(FakeEndpointConfig.__init__, "__wrapped__"):
        FakeEndpointConfig.__init__ = _string_arn(FakeEndpointConfig.__init__)  # type: ignore[method-assign]
    if not hasattr(STSBackend.get_caller_identity, "__wrapped__"):
        STSBackend.get_caller_identity = _caller(STSBackend.get_caller_identity)  # type: ignore[method-assign]
    _STORES.append(ctx.state["credentials"])
    registry.RAW_ROUTES[CODE_PREFIX] = _code_app(ctx)


@on_shutdown
def forget(ctx: Context) -> None:
    if ctx.state.get("credentials") in _STORES:
        _STORES.remove(ctx.state["credentials"])
