"""Which moto backend answers a request and which action it runs: moto's own routing, not a guess.

moto's server (`moto_server.werkzeug_app.DomainDispatcherApplication`) picks the backend from the
credential scope of the `Authorization` header; without one (presigned URLs) from the body's Action,
the path, and S3 as the fallback. Its response classes then pick the operation: `Action` from the
query or form body first, `X-Amz-Target` next, the URI last (`BaseResponse._get_action`); S3 by
method, path and subresource keys. So the middleware asks that dispatcher which backend will answer
(`backend`) and refuses a request whose signing scope names another service (`scope_backend`), as AWS
refuses a credential scoped to the wrong service. Then, at moto's own authorization hook
(`ActionAuthenticatorMixin`, called with the action moto is about to run, before it runs it), a guard
refuses anything but the operation and resource the IAM authorizer checked (`expect`).
"""

from __future__ import annotations

import contextvars
import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mlpipe.local import protocols

# moto backend -> botocore service name, where they differ.
SERVICE_BY_BACKEND = {"awslambda": "lambda", "sagemakerruntime": "sagemaker-runtime"}
_FALLBACK_HOST = "s3.us-east-1.amazonaws.com"  # moto's DEFAULT_SERVICE_REGION


class NotWhatWasAuthorized(Exception):
    """moto was about to run another operation (or resource) than the one IAM allowed.

    Not an HTTPException/ServiceException on purpose: moto's handlers let it through, so the
    middleware answers it in the service's shape before anything ran."""


@dataclass(frozen=True)
class Expected:
    service: str
    operation: str
    bucket: str | None = None
    key: str | None = None


_EXPECTED: contextvars.ContextVar[Expected | None] = contextvars.ContextVar("mlpipe_expected", default=None)


def backend(dispatcher: Any, environ: dict[str, Any], body: bytes) -> str:
    """The backend moto's dispatcher will hand this request to (its own inference, same inputs)."""
    path = str(environ.get("PATH_INFO", ""))
    if path.startswith(("/latest/meta-data/", "/latest/api/")):
        return "instance_metadata"
    host = dispatcher.infer_service_region_host(environ, path) or _FALLBACK_HOST
    environ["wsgi.input"] = io.BytesIO(body)  # moto may have read it (unsigned requests)
    return _backend_for_host(dispatcher, host)


def scope_backend(dispatcher: Any, environ: dict[str, Any], region: str, signing_name: str) -> str:
    """The backend a request signed for `signing_name` goes to when its Authorization header says so."""
    scoped = dict(environ)
    scoped["HTTP_AUTHORIZATION"] = (
        f"AWS4-HMAC-SHA256 Credential=k/20000101/{region}/{signing_name}/aws4_request, SignedHeaders=host, Signature=0"
    )
    host = dispatcher.infer_service_region_host(scoped, str(environ.get("PATH_INFO", ""))) or _FALLBACK_HOST
    return _backend_for_host(dispatcher, host)


def service_name(backend_name: str) -> str:
    return SERVICE_BY_BACKEND.get(backend_name, backend_name)


@lru_cache(maxsize=64)
def signing_name(service: str) -> str:
    """The signing name AWS expects in the credential scope of a request to `service`."""
    model = protocols.service_model(service)
    return str(model.signing_name) if model is not None else service


_HOSTS: dict[str, str] = {}


def _backend_for_host(dispatcher: Any, host: str) -> str:
    """moto matches the host against ~250 URL patterns on every request; the answer per host is fixed.
    A host no moto backend serves (moto fails such a request) keeps its service's name."""
    if host not in _HOSTS:
        if len(_HOSTS) > 256:
            _HOSTS.clear()
        _HOSTS[host] = dispatcher.get_backend_for_host(host) or host.split(".", 1)[0]
    return _HOSTS[host]


# -- the guard at moto's authorization hook ------------------------------------------------------


def begin() -> contextvars.Token[Expected | None]:
    """A request starts with nothing expected (the authorizer sets what it allowed a restricted caller)."""
    return _EXPECTED.set(None)


def end(token: contextvars.Token[Expected | None]) -> None:
    _EXPECTED.reset(token)


def expect(service: str, operation: str, params: dict[str, Any]) -> None:
    """What moto may run for this request: the operation (and S3 bucket and key) IAM checked."""
    bucket, key = params.get("Bucket"), params.get("Key")
    _EXPECTED.set(Expected(service, operation, str(bucket) if bucket else None, str(key) if key is not None else None))


def install() -> None:
    """Wrap moto's authorization hooks (moto calls them with the action it is about to run)."""
    from moto.core.authorization import ActionAuthenticatorMixin as Mixin

    if getattr(Mixin, "_mlpipe_guarded", False):
        return
    normal, s3 = Mixin._authenticate_and_authorize_normal_action, Mixin._authenticate_and_authorize_s3_action

    def guarded_normal(self: Any, resource: str = "*") -> None:
        expected = _EXPECTED.get()
        if expected is not None:
            running = (str(self.boto3_service_name), str(self._get_action() or ""))
            if running != (expected.service, expected.operation):
                raise NotWhatWasAuthorized(f"{running[0]}:{running[1]}")
        normal(self, resource)

    def guarded_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        expected = _EXPECTED.get()
        if expected is not None:
            running = ("s3", bucket_name or None, key_name if key_name is not None else None)
            if running != (expected.service, expected.bucket, expected.key):
                raise NotWhatWasAuthorized(f"s3:{self.data.get('Action')} on {bucket_name}/{key_name or ''}")
        s3(self, bucket_name=bucket_name, key_name=key_name)

    Mixin._authenticate_and_authorize_normal_action = guarded_normal  # type: ignore[method-assign]
    Mixin._authenticate_and_authorize_s3_action = guarded_s3  # type: ignore[method-assign]
    Mixin._mlpipe_guarded = True  # type: ignore[attr-defined]
