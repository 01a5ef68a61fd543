"""WSGI middleware in front of moto: the door, authorizers, fault switch, extension hooks, admin.

Every request passes the door first (`door`: loopback Host, a valid SigV4 signature, no CORS).
Admin routes (/_mlpipe/*, /moto-api/*) then need the operator's identity; raw routes
(`registry.RAW_ROUTES`) get the caller's identity in the environ. An AWS API request goes to the
service moto's own dispatcher routes it to (`routing`; a signing scope for another service is
refused), is parsed (service, operation, params) and shown to each `registry.AUTHORIZERS` hook; when something cares
about it (a hook, an override or a fault for that service): fault switch -> BEFORE hooks (may
mutate params) -> OVERRIDE (instead of moto) or moto with the possibly-mutated body -> AFTER hooks
(may mutate the JSON response). Everything else goes to moto byte for byte.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from mlpipe.local import door, protocols, registry, routing
from mlpipe.local.credentials import CredentialStore
from mlpipe.local.faults import FaultSwitch
from mlpipe.local.registry import AwsApiError, Context
from mlpipe.local.sigv4 import AuthFailure

log = logging.getLogger("mlpipe.local")

Response = tuple[int, list[tuple[str, str]], bytes]
StartResponse = Callable[..., Any]

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    421: "Misdirected Request",
}
ADMIN_PREFIXES = ("/_mlpipe/", "/moto-api/")


class Middleware:
    def __init__(self, moto_app: Callable[..., Iterable[bytes]], ctx: Context, expose_on_network: bool = False) -> None:
        self.moto_app = moto_app
        self.ctx = ctx
        self.credentials: CredentialStore = ctx.state["credentials"]
        self.expose_on_network = expose_on_network
        self.faults: FaultSwitch = ctx.state.setdefault("faults", FaultSwitch())
        self.started = time.time()
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.requests += 1
        host = str(environ.get("HTTP_HOST", ""))
        if not self.expose_on_network and not door.loopback_host(host):
            message = f"refused: Host {host!r} is not a loopback name (the embedded AWS serves this machine only)"
            return _send(start_response, (421, [("Content-Type", "text/plain")], message.encode()))
        body = _read_body(environ)
        path = environ.get("PATH_INFO", "")
        raw = next((app for prefix, app in registry.RAW_ROUTES.items() if path.startswith(prefix)), None)
        try:
            verified = door.authenticate(environ, body, self.credentials, basic=raw is not None)
        except AuthFailure as failure:
            return _send(start_response, self._refuse(environ, path, raw is not None, failure))
        if path.startswith(ADMIN_PREFIXES):
            return self._admin_route(environ, start_response, path, verified.identity)
        if raw is not None:
            environ["mlpipe.identity"] = verified.identity
            return raw(environ, _without_cors(start_response))
        request = self._request(environ, body, verified)
        if isinstance(request, tuple):
            return _send(start_response, request)
        token = routing.begin()
        try:
            if registry.AUTHORIZERS:
                denied = self._authorize(verified, request)
                if denied is not None:
                    return _send(start_response, denied)
            if not request.operation or not self._interested(request.service, request.operation):
                return self.moto_app(environ, _without_cors(start_response))
            return _send(start_response, self._dispatch(environ, request, verified.identity))
        except routing.NotWhatWasAuthorized as running:
            log.warning(
                "refused: moto would run %s, not the %s:%s IAM allowed", running, request.service, request.operation
            )
            checked = f"{request.service}:{request.operation}"
            message = f"not authorized: the request runs {running}, not the {checked} IAM checked"
            return _send(
                start_response, door.refusal(request.service, request.protocol, AuthFailure("denied", message))
            )
        finally:
            routing.end(token)

    def _request(self, environ: dict[str, Any], body: bytes, verified: Any) -> protocols.ApiRequest | Response:
        """The request as the moto backend that will answer it reads it; refused when its signing
        scope names another service (AWS: "Credential should be scoped to correct service")."""
        backend = routing.backend(self.moto_app, environ, body)
        service = routing.service_name(backend)
        protocol = protocols.routed_protocol(environ, service)
        if (
            verified.service
            and routing.scope_backend(self.moto_app, environ, verified.region, verified.service) != backend
        ):
            presigned = not str(environ.get("HTTP_AUTHORIZATION", ""))
            return door.scope_refusal(service, protocol, verified.service, routing.signing_name(service), presigned)
        try:
            request = protocols.parse(environ, body, service, protocol, verified.region)
        except (ValueError, UnicodeDecodeError):
            request = None  # no operation we can name: only a full-access caller may send it
        return request or protocols.ApiRequest(service, "", protocol, {}, verified.region)

    # -- the door -----------------------------------------------------------------------------
    def _refuse(self, environ: dict[str, Any], path: str, raw: bool, failure: AuthFailure) -> Response:
        log.info("refused %s %s: %s", environ.get("REQUEST_METHOD"), path, failure.message)
        basic = str(environ.get("HTTP_AUTHORIZATION", "")).startswith("Basic ")
        if raw and (basic or failure.kind == "missing"):  # git asks for credentials after a Basic challenge
            return 401, [("WWW-Authenticate", 'Basic realm="mlpipe embedded AWS"')], failure.message.encode()
        if path.startswith(ADMIN_PREFIXES):
            return door.refusal("", "json", failure)
        service, protocol = protocols.classify(environ, protocols.signing_scope(environ)[1])
        return door.refusal(service, protocol, failure)

    def _authorize(self, verified: Any, request: protocols.ApiRequest) -> Response | None:
        ctx = dataclasses.replace(self.ctx, region=request.region, request_state={"identity": verified.identity})
        try:
            for hook in registry.AUTHORIZERS:
                hook(ctx, verified.identity, request)
        except AwsApiError as exc:
            return protocols.error_response(
                request.service, _wire(request.protocol), exc.code, exc.message, exc.status, exc.extra
            )
        return None

    def _admin_route(
        self, environ: dict[str, Any], start_response: StartResponse, path: str, identity: Any
    ) -> Iterable[bytes]:
        denied = door.admin_refusal(identity, self.credentials)
        if denied is not None:
            return _send(start_response, denied)
        if path.startswith("/_mlpipe/"):
            return _send(start_response, self._admin(environ, path))
        if path == "/moto-api/reset" and environ["REQUEST_METHOD"] == "POST":
            return _send(start_response, self._reset(environ))
        return self.moto_app(environ, _without_cors(start_response))

    # -- the hook pipeline ------------------------------------------------------------------
    def _interested(self, service: str, operation: str | None) -> bool:
        if self.faults.active_for(service):
            return True
        keys = (*registry.OVERRIDES, *registry.BEFORE, *registry.AFTER)
        return any(s == service and (operation is None or o == operation) for s, o in keys)

    def _dispatch(self, environ: dict[str, Any], request: protocols.ApiRequest, identity: Any) -> Response:
        key = (request.service, request.operation)
        # Hooks see the caller (a credentials.Identity) in request_state["identity"].
        ctx = dataclasses.replace(self.ctx, region=request.region, request_state={"identity": identity})
        protocols.snapshot(request)
        try:
            self.faults.check(*key)
            for before in registry.BEFORE.get(key, ()):
                before(ctx, request.params)
            override = registry.OVERRIDES.get(key)
            if override is not None:
                return protocols.success_response(request, override(ctx, request.params))
            if protocols.changed(request):
                _replace_body(environ, protocols.request_body(request))
            status, headers, body = self._call_moto(environ)
            headers = door.strip_cors(headers)
            afters = registry.AFTER.get(key, ())
            if afters and 200 <= status < 300:
                response = json.loads(body or b"{}")
                for after in afters:
                    after(ctx, request.params, response)
                body = json.dumps(response).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            return status, headers, body
        except AwsApiError as exc:
            return protocols.error_response(
                request.service, _wire(request.protocol), exc.code, exc.message, exc.status, exc.extra
            )
        except routing.NotWhatWasAuthorized:
            raise
        except Exception as exc:  # a bug in an extension: answer like AWS would, keep serving
            log.error("extension failed on %s.%s:\n%s", *key, traceback.format_exc())
            return protocols.error_response(
                request.service, _wire(request.protocol), "InternalFailure", f"mlpipe emulator: {exc!r}", 500
            )

    def _call_moto(self, environ: dict[str, Any]) -> Response:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = list(headers)

        chunks = self.moto_app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return captured["status"], captured["headers"], body

    # -- reset and admin endpoints ------------------------------------------------------------
    def _reset(self, environ: dict[str, Any]) -> Response:
        # Extensions stop their in-flight work first, so nothing writes into the fresh state.
        self.faults.clear()
        for hook in registry.RESET:
            hook(self.ctx)
        status, headers, body = self._call_moto(environ)
        return status, door.strip_cors(headers), body

    def _admin(self, environ: dict[str, Any], path: str) -> Response:
        method = environ["REQUEST_METHOD"]
        if path == "/_mlpipe/faults" and method == "POST":
            try:
                spec = json.loads(_read_body(environ) or b"{}")
                specs = spec if isinstance(spec, list) else [spec]
                faults = [self.faults.set(s).as_dict() for s in specs]
            except (ValueError, AttributeError) as exc:
                return _json(400, {"error": str(exc)})
            return _json(200, {"faults": faults})
        if path == "/_mlpipe/faults" and method == "DELETE":
            self.faults.clear()
            return _json(200, {"faults": []})
        if path == "/_mlpipe/faults" and method == "GET":
            return _json(200, {"faults": self.faults.describe()})
        if path == "/_mlpipe/status" and method == "GET":
            return _json(200, self.status())
        handler = registry.ADMIN_ROUTES.get((method, path))
        if handler is not None:
            try:
                body = json.loads(_read_body(environ) or b"{}")
                return _json(200, handler(self.ctx, body if isinstance(body, dict) else {"value": body}))
            except ValueError as exc:
                return _json(400, {"error": str(exc)})
        return _json(404, {"error": f"no such admin endpoint: {method} {path}"})

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "server": {
                "endpoint_url": self.ctx.endpoint_url,
                "pid": os.getpid(),
                "uptime_seconds": round(time.time() - self.started, 1),
                "requests": self.requests,
            },
            "faults": self.faults.describe(),
        }
        for provider in registry.STATUS:
            data.update(provider(self.ctx))
        return data


def _wire(protocol: str) -> str:
    return "json" if protocol == "unknown" else protocol


def _without_cors(start_response: StartResponse) -> StartResponse:
    """moto's server grants CORS to any origin; AWS APIs called from a browser page must not be."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, door.strip_cors(headers), exc_info)

    return start


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked upload: the server marks the end
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _replace_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _json(status: int, data: dict[str, Any]) -> Response:
    return status, [("Content-Type", "application/json")], json.dumps(data, default=str).encode()


def _send(start_response: StartResponse, response: Response) -> list[bytes]:
    status, headers, body = response
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
    return [body]
