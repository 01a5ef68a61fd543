"""Wire protocols of the embedded AWS: an HTTP request -> (service, operation, params) and back.

Every AWS API request is parsed (authorizers see each one). Hooks in `registry` work on the JSON
form of a call: JSON (an `X-Amz-Target` header: sqs, sagemaker, logs, codecommit, codepipeline,
codebuild...) and REST-JSON (lambda, sagemaker-runtime), routed here from botocore's own service
models so paths, headers and payloads are exactly what the SDK sends. Query (iam, sts, sns) and
REST-XML (s3) requests are parsed for their operation and flat parameters (S3: bucket and key from
the path, query and header members; the body is not read) and otherwise pass to moto untouched.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

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
# Query-protocol services, by signing name (SQS and CloudWatch still accept the query form).
QUERY_SERVICES_BY_SIGNING_NAME = {"iam": "iam", "sts": "sts", "sns": "sns", "sqs": "sqs", "monitoring": "cloudwatch"}
JSON_CONTENT_TYPES = {"sqs": "application/x-amz-json-1.0"}
# JSON services that keep their query protocol's error codes (botocore metadata awsQueryCompatible).
QUERY_COMPATIBLE = frozenset({"sqs", "cloudwatch"})

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass
class ApiRequest:
    service: str
    operation: str  # "" when the request maps to no operation of the service's model
    protocol: str  # "json", "rest-json", "query", "rest-xml" or "unknown"
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


def classify(environ: dict[str, Any], signing: str) -> tuple[str, str]:
    """(service, protocol) of a request from its headers and the signing name of its scope."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix = target.rsplit(".", 1)[0]
        return TARGET_PREFIXES.get(prefix) or QUERY_SERVICES_BY_SIGNING_NAME.get(signing, signing), "json"
    if signing == "s3":
        return "s3", "rest-xml"
    if signing in REST_SERVICES_BY_SIGNING_NAME:
        return REST_SERVICES_BY_SIGNING_NAME[signing], "rest-json"
    if signing in QUERY_SERVICES_BY_SIGNING_NAME:
        return QUERY_SERVICES_BY_SIGNING_NAME[signing], "query"
    if not signing:  # unsigned: guess the shape its error should have
        if "x-www-form-urlencoded" in str(environ.get("CONTENT_TYPE", "")) or "Action=" in environ.get(
            "QUERY_STRING", ""
        ):
            return "", "query"
        if environ.get("PATH_INFO", "").startswith("/20"):  # REST-JSON APIs put their version first
            return "", "rest-json"
        return "s3", "rest-xml"
    return signing, "unknown"


_PREFIX_BY_SERVICE = {service: prefix for prefix, service in TARGET_PREFIXES.items()}
_REST_SERVICES = frozenset(REST_SERVICES_BY_SIGNING_NAME.values())
_QUERY_SERVICES = frozenset(QUERY_SERVICES_BY_SIGNING_NAME.values())


def routed_protocol(environ: dict[str, Any], service: str) -> str:
    """The protocol of a request moto's routing hands to `service` (a botocore service name)."""
    if service == "s3":
        return "rest-xml"
    if service in _REST_SERVICES:
        return "rest-json"
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    ours = _PREFIX_BY_SERVICE.get(service)
    if service in _QUERY_SERVICES:  # a JSON form only with the service's own target (SQS, CloudWatch)
        return "json" if ours and target.rsplit(".", 1)[0] == ours else "query"
    return "json" if ours else "unknown"


def parse(environ: dict[str, Any], body: bytes, service: str, protocol: str, region: str) -> ApiRequest | None:
    """The request as (service, operation, params); None when it matches no operation."""
    if protocol == "json":
        prefix, _, operation = str(environ.get("HTTP_X_AMZ_TARGET") or "").rpartition(".")
        if TARGET_PREFIXES.get(prefix) != service:  # no such operation of this service
            return None
        params = json.loads(body or b"{}")
        return ApiRequest(service, operation, "json", params if isinstance(params, dict) else {}, region)
    if protocol == "query":
        pairs = parse_qs(body.decode() if body else environ.get("QUERY_STRING", ""), keep_blank_values=True)
        params = {k: v[0] for k, v in pairs.items()}
        action = params.pop("Action", "")
        params.pop("Version", None)
        return ApiRequest(service, action, "query", params, region) if action else None
    if protocol in ("rest-json", "rest-xml"):
        return _routes(service).parse(environ, body, region)
    return None


def snapshot(request: ApiRequest) -> None:
    """Remember the params before hooks run, so `changed` can tell whether moto needs a new body."""
    request.fingerprint = _fingerprint(request.params)


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
    fault = "Sender" if status < 500 else "Receiver"
    request_id = str(uuid.uuid4())
    if protocol == "query":
        xml = (
            f"<ErrorResponse><Error><Type>{fault}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], xml.encode()
    if protocol == "rest-xml":
        members = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in (extra or {}).items())
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message>{members}<RequestId>{request_id}</RequestId></Error>"
        )
        return status, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], xml.encode()
    body = {"__type": code, "message": message, **(extra or {})}
    if protocol == "json":
        headers = [("Content-Type", JSON_CONTENT_TYPES.get(service, "application/x-amz-json-1.1"))]
        if service in QUERY_COMPATIBLE:  # botocore reads the error code from this header
            headers.append(("x-amzn-query-error", f"{code};{fault}"))
        return status, headers, json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    return status, headers, json.dumps({**body, "Message": message}).encode()


def _fingerprint(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of `service` (one session, each model loaded once), or None if botocore has none.
    The one place the emulator reads service models: routes, signing names, request validation."""
    import botocore.exceptions
    import botocore.session

    try:
        return _botocore_session().get_service_model(service)
    except botocore.exceptions.UnknownServiceError:
        return None


@functools.cache
def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


class _Routes:
    """The REST operations of one service, compiled from botocore's model."""

    def __init__(self, service: str) -> None:
        self.model = service_model(service)
        if self.model is None:
            raise ValueError(f"botocore has no model of {service!r}")
        self.protocol = self.model.metadata["protocol"]
        routes = []
        for name in self.model.operation_names:
            op = self.model.operation_model(name)
            uri, _, query = op.http["requestUri"].partition("?")
            # Literal query members (?tagging, ?list-type=2) and required query/header members
            # (?uploadId, x-amz-copy-source) tell operations on one path apart. x-id only names the
            # operation and some clients leave it out.
            required = dict(p.partition("=")[::2] for p in query.split("&") if p and not p.startswith("x-id="))
            headers: list[str] = []
            shape = op.input_shape
            for name in shape.required_members if shape is not None else ():
                member = shape.members[name]
                wire = member.serialization.get("name", name)
                if member.serialization.get("location") == "querystring":
                    required.setdefault(wire, "")
                elif member.serialization.get("location") == "header":
                    headers.append("HTTP_" + wire.upper().replace("-", "_"))
            regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", uri)
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
            literal = len(re.sub(r"\{[^}]+\}", "", uri))
            rank = (bool(op.deprecated), -len(required) - len(headers), -literal)
            pattern = re.compile(regex.rstrip("/") + "/?$")
            routes.append((rank, op.http["method"], pattern, required, tuple(headers), op))
        # Keys that select an operation (literal or required query members) and each operation's query keys.
        self.subresources = {key for _, _, _, required, _, _ in routes for key in required}
        self.query_members = {op.name: _query_keys(op, required) for _, _, _, required, _, op in routes}
        # Most specific first: ?tagging before the bare path, /functions/{F}/code before /functions/{F}.
        self.routes: dict[str, list[tuple[re.Pattern[str], dict[str, str], tuple[str, ...], Any]]] = {}
        for _, method, pattern, required, needed, op in sorted(routes, key=lambda r: r[0]):
            self.routes.setdefault(method, []).append((pattern, required, needed, op))

    def parse(self, environ: dict[str, Any], body: bytes, region: str) -> ApiRequest | None:
        path = environ.get("PATH_INFO", "") or "/"
        if self.protocol == "rest-xml":
            bucket = _virtual_host_bucket(environ.get("HTTP_HOST", ""))
            path = f"/{bucket}{path}" if bucket else path
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        for pattern, required, headers, op in self.routes.get(environ["REQUEST_METHOD"], ()):
            if any(k not in query or (v and query[k][0] != v) for k, v in required.items()):
                continue
            if any(h not in environ for h in headers):
                continue
            match = pattern.match(path)
            if match:
                if self.protocol == "rest-xml" and not self._unambiguous(op, query):
                    return None
                return self._parse(op, match, environ, body, region, query)
        return None

    def _unambiguous(self, op: Any, query: dict[str, list[str]]) -> bool:
        """S3 tells operations on one path apart by subresource keys (?tagging, ?acl, ?uploadId...);
        one the matched operation does not take could make moto run another operation."""
        return all(key in self.query_members[op.name] for key in query if key in self.subresources)

    def _parse(
        self,
        op: Any,
        match: re.Match[str],
        environ: dict[str, Any],
        body: bytes,
        region: str,
        query: dict[str, list[str]],
    ) -> ApiRequest:
        shape = op.input_shape
        params: dict[str, Any] = {}
        body_members: list[str] = []
        payload = shape.serialization.get("payload") if shape is not None else None
        xml = self.protocol == "rest-xml"  # S3: the body is data or XML nobody here needs
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
            elif xml:
                continue
            elif member_name == payload:
                if member.type_name in ("blob", "string"):
                    params[member_name] = body if member.type_name == "blob" else body.decode()
                elif body:
                    params[member_name] = json.loads(body)
            else:
                body_members.append(member_name)
        if payload is None and body and not xml:
            decoded = json.loads(body)
            params.update({k: v for k, v in decoded.items() if k in body_members})
        return ApiRequest(
            service=self.model.service_name,
            operation=op.name,
            protocol=self.protocol,
            params=params,
            region=region,
            body_members=tuple(body_members),
            payload_member=payload,
            success_status=int(op.http.get("responseCode", 200)),
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


def _query_keys(op: Any, required: dict[str, str]) -> set[str]:
    shape = op.input_shape
    members = shape.members.items() if shape is not None else ()
    return {
        *required,
        *(m.serialization.get("name", n) for n, m in members if m.serialization.get("location") == "querystring"),
    }


def _virtual_host_bucket(host: str) -> str:
    """`bucket.localhost:4599` -> "bucket" (S3's virtual-hosted style); "" for path style."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name[: -len(".localhost")] if name.endswith(".localhost") else ""


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
