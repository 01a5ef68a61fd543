"""WSGI middleware in front of moto: fault switch, extension hooks, admin endpoints.

For each request it recognises (see `protocols.identify`) and that something cares about (a hook,
an override or a fault for that service), it parses (service, operation, params), then:
fault switch -> BEFORE hooks (may mutate params) -> OVERRIDE (instead of moto) or moto with the
possibly-mutated body -> AFTER hooks (may mutate the JSON response). Everything else goes to
moto byte for byte.
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

from mlpipe.local import protocols, registry
from mlpipe.local.faults import FaultSwitch
from mlpipe.local.registry import AwsApiError, Context

log = logging.getLogger("mlpipe.local")

Response = tuple[int, list[tuple[str, str]], bytes]
StartResponse = Callable[..., Any]

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 404: "Not Found"}


class Middleware:
    def __init__(self, moto_app: Callable[..., Iterable[bytes]], ctx: Context) -> None:
        self.moto_app = moto_app
        self.ctx = ctx
        self.faults: FaultSwitch = ctx.state.setdefault("faults", FaultSwitch())
        self.started = time.time()
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.requests += 1
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_mlpipe/"):
            return _send(start_response, self._admin(environ, path))
        body = _read_body(environ)
        if path == "/moto-api/reset" and environ["REQUEST_METHOD"] == "POST":
            return _send(start_response, self._reset(environ))
        seen = protocols.identify(environ)
        if seen is None or not self._interested(seen[0], seen[1]):
            return self.moto_app(environ, start_response)
        service, _, region = seen
        try:
            request = protocols.parse(environ, body, service, region)
        except (ValueError, UnicodeDecodeError):
            request = None  # not something we understand: let moto answer it
        if request is None:
            return self.moto_app(environ, start_response)
        return _send(start_response, self._dispatch(environ, request))

    # -- the hook pipeline ------------------------------------------------------------------
    def _interested(self, service: str, operation: str | None) -> bool:
        if self.faults.active_for(service):
            return True
        keys = (*registry.OVERRIDES, *registry.BEFORE, *registry.AFTER)
        return any(s == service and (operation is None or o == operation) for s, o in keys)

    def _dispatch(self, environ: dict[str, Any], request: protocols.ApiRequest) -> Response:
        key = (request.service, request.operation)
        ctx = dataclasses.replace(self.ctx, region=request.region, request_state={})
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
                request.service, request.protocol, exc.code, exc.message, exc.status, exc.extra
            )
        except Exception as exc:  # a bug in an extension: answer like AWS would, keep serving
            log.error("extension failed on %s.%s:\n%s", *key, traceback.format_exc())
            return protocols.error_response(
                request.service, request.protocol, "InternalFailure", f"mlpipe emulator: {exc!r}", 500
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
        return self._call_moto(environ)

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
