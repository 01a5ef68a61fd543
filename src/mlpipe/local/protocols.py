"""Wire protocols of the embedded AWS: an HTTP request -> (service, operation, params) and back.

Hooks in `registry` work on the JSON form of a call whatever the protocol. Two protocols matter:
JSON (an `X-Amz-Target` header: sqs, sagemaker, logs, codecommit, codepipeline, codebuild...) and
REST-JSON (lambda, sagemaker-runtime), routed here from botocore's own service models so paths,
headers and payloads are exactly what the SDK sends. Other protocols (query, rest-xml) pass
through to moto untouched.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

# X-Amz-Target prefix -> botocore service name (the prefix is the service model's targetPrefix).
TARGET_PREFIXES = {
    "AmazonSQS": "sqs",
    "SageMaker": "sagemaker",
    "Logs_20140328": "logs",
    "CodeCommit_20150413": "codecommit",
    "CodePipeline_20150709": "codepipeline",
    "CodeBuild_20161006": "codebuild",
    "CodeStar_connections_20191201": "codestar-connections",
    "ResourceGroupsTaggingAPI_20170126": "resourcegroupstaggingapi",
    "GraniteServiceVersion20100801": "cloudwatch",
    "AWSEvents": "events",
    "AmazonSSM": "ssm",
}
# REST-JSON services we route, by the service name in the request's signature scope.
REST_SERVICES_BY_SIGNING_NAME = {"lambda": "lambda", "sagemaker": "sagemaker-runtime"}
JSON_CONTENT_TYPES = {"sqs": "application/x-amz-json-1.0"}

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass
class ApiRequest:
    service: str
    operation: str
    protocol: str  # "json" or "rest-json"
    params: dict[str, Any]
    region: str
    # For REST: which params travel in the body (the others are path, query string or headers).
    body_members: tuple[str, ...] = ()
    payload_member: str | None = None
    success_status: int = 200
    fingerprint: str = field(default="", repr=False)


def signing_scope(environ: dict[str, Any]) -> tuple[str, str]:
    """(region, signing service) from the SigV4 Authorization header, or ("us-east-1", "")."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (match.group(1), match.group(2)) if match else ("us-east-1", "")


def identify(environ: dict[str, Any]) -> tuple[str, str | None, str] | None:
    """Cheap look at a request: (service, operation or None for REST, region), or None to pass through."""
    region, signing = signing_scope(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix, operation = target.rsplit(".", 1)
        service = TARGET_PREFIXES.get(prefix)
        return (service, operation, region) if service else None
    service = REST_SERVICES_BY_SIGNING_NAME.get(signing)
    return (service, None, region) if service else None


def parse(environ: dict[str, Any], body: bytes, service: str, region: str) -> ApiRequest | None:
    if environ.get("HTTP_X_AMZ_TARGET"):
        operation = environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[1]
        params = json.loads(body or b"{}")
        return ApiRequest(service, operation, "json", params, region, fingerprint=_fingerprint(params))
    return _routes(service).parse(environ, body, region)


def changed(request: ApiRequest) -> bool:
    return _fingerprint(request.params) != request.fingerprint


def request_body(request: ApiRequest) -> bytes:
    """The body to forward to moto after BEFORE hooks changed the params."""
    if request.protocol == "json":
        return json.dumps(request.params).encode()
    if request.payload_member:
        value = request.params.get(request.payload_member, b"")
        return value if isinstance(value, bytes) else json.dumps(value).encode()
    return json.dumps({k: request.params[k] for k in request.body_members if k in request.params}).encode()


def success_response(request: ApiRequest, output: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Serialize an override's output shape the way the real service would."""
    if request.protocol == "json":
        content_type = JSON_CONTENT_TYPES.get(request.service, "application/x-amz-json-1.1")
        return 200, [("Content-Type", content_type)], json.dumps(output, default=_json_default).encode()
    return _routes(request.service).serialize_output(request.operation, output, request.success_status)


def error_response(
    service: str, protocol: str, code: str, message: str, status: int, extra: dict[str, Any] | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    body = {"__type": code, "message": message, **(extra or {})}
    if protocol == "json":
        headers = [("Content-Type", JSON_CONTENT_TYPES.get(service, "application/x-amz-json-1.1"))]
        if service == "sqs":  # botocore reads SQS's error code from this header (awsQueryCompatible)
            headers.append(("x-amzn-query-error", f"{code};{'Sender' if status < 500 else 'Receiver'}"))
        return status, headers, json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    return status, headers, json.dumps({**body, "Message": message}).encode()


def _fingerprint(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


class _Routes:
    """The REST operations of one service, compiled from botocore's model."""

    def __init__(self, service: str) -> None:
        import botocore.session

        self.model = botocore.session.get_session().get_service_model(service)
        routes = []
        for name in self.model.operation_names:
            op = self.model.operation_model(name)
            method = op.http["method"]
            uri = op.http["requestUri"].split("?", 1)[0]
            pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", uri)
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
            literal = len(re.sub(r"\{[^}]+\}", "", uri))
            routes.append((literal, method, re.compile(pattern.rstrip("/") + "/?$"), op))
        # Most literal characters first: /functions/{F}/code before /functions/{F}.
        self.routes = sorted(routes, key=lambda r: -r[0])

    def parse(self, environ: dict[str, Any], body: bytes, region: str) -> ApiRequest | None:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        for _, route_method, pattern, op in self.routes:
            match = pattern.match(path) if route_method == method else None
            if match:
                return self._parse(op, match, environ, body, region)
        return None

    def _parse(self, op: Any, match: re.Match[str], environ: dict[str, Any], body: bytes, region: str) -> ApiRequest:
        shape = op.input_shape
        params: dict[str, Any] = {}
        body_members: list[str] = []
        payload = shape.serialization.get("payload") if shape is not None else None
        query = parse_qs(environ.get("QUERY_STRING", ""))
        for member_name, member in (shape.members if shape is not None else {}).items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", member_name)
            if location == "uri":
                if wire in match.groupdict():
                    params[member_name] = unquote(match.group(wire))
            elif location == "querystring":
                if wire in query:
                    params[member_name] = _scalar(member.type_name, query[wire][0])
            elif location == "header":
                value = environ.get("HTTP_" + wire.upper().replace("-", "_"))
                if wire.lower() == "content-type":
                    value = environ.get("CONTENT_TYPE")
                if value is not None:
                    params[member_name] = _scalar(member.type_name, value)
            elif member_name == payload:
                if member.type_name in ("blob", "string"):
                    params[member_name] = body if member.type_name == "blob" else body.decode()
                elif body:
                    params[member_name] = json.loads(body)
            else:
                body_members.append(member_name)
        if payload is None and body:
            decoded = json.loads(body)
            params.update({k: v for k, v in decoded.items() if k in body_members})
        return ApiRequest(
            service=self.model.service_name,
            operation=op.name,
            protocol="rest-json",
            params=params,
            region=region,
            body_members=tuple(body_members),
            payload_member=payload,
            success_status=int(op.http.get("responseCode", 200)),
            fingerprint=_fingerprint(params),
        )

    def serialize_output(
        self, operation: str, output: dict[str, Any], default_status: int
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        shape = self.model.operation_model(operation).output_shape
        status, headers, body_json = default_status, [], {}
        raw: bytes | None = None
        payload = shape.serialization.get("payload") if shape is not None else None
        for member_name, member in (shape.members if shape is not None else {}).items():
            if member_name not in output:
                continue
            value = output[member_name]
            location = member.serialization.get("location")
            if location == "header":
                headers.append((member.serialization.get("name", member_name), str(value)))
            elif location == "statusCode":
                status = int(value)
            elif member_name == payload:
                raw = value if isinstance(value, bytes) else str(value).encode()
            else:
                body_json[member_name] = value
        if raw is None:
            raw = json.dumps(body_json, default=_json_default).encode()
            headers.append(("Content-Type", "application/json"))
        return status, headers, raw


def _scalar(type_name: str, value: str) -> Any:
    if type_name == "integer" or type_name == "long":
        try:
            return int(value)
        except ValueError:
            return value
    if type_name == "boolean":
        return value.lower() == "true"
    return value


_ROUTES: dict[str, _Routes] = {}
_ROUTES_LOCK = threading.Lock()


def _routes(service: str) -> _Routes:
    with _ROUTES_LOCK:
        if service not in _ROUTES:
            _ROUTES[service] = _Routes(service)
        return _ROUTES[service]
