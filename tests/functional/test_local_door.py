"""The embedded AWS's door, over real HTTP: signed requests only, loopback Host only, no CORS.

Refusals carry the code and shape the real service uses: a query-compatible service (SQS), JSON
services (Lambda, CloudWatch Logs), S3's XML; admin routes need the operator's signature.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import io
import json
import os
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.auth
import botocore.config
import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError
from local_helpers import client

from mlpipe.local import registry
from mlpipe.local.control import admin_request
from mlpipe.local.registry import AwsApiError
from mlpipe.local.server import EmbeddedServer

CALLS: dict[str, Callable[[Any], Any]] = {
    "sqs": lambda c: c.list_queues(),
    "lambda": lambda c: c.list_functions(),
    "logs": lambda c: c.describe_log_groups(),
    "s3": lambda c: c.list_buckets(),
}
# service -> (unsigned, unknown key, wrong secret): what AWS answers each.
EXPECTED = {
    "sqs": ("MissingAuthenticationToken", "InvalidClientTokenId", "SignatureDoesNotMatch"),
    "lambda": ("MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException"),
    "logs": ("MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException"),
    "s3": ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"),
}


def raw_client(endpoint_url: str, service: str, **kwargs: Any) -> Any:
    options = {k: kwargs.pop(k) for k in ("signature_version",) if k in kwargs}
    config = botocore.config.Config(retries={"total_max_attempts": 1}, **options)
    if "aws_access_key_id" not in kwargs and options.get("signature_version") is not UNSIGNED:
        kwargs["aws_access_key_id"] = os.environ["AWS_ACCESS_KEY_ID"]  # not boto3's session cache: the keys now
        kwargs.setdefault("aws_secret_access_key", os.environ["AWS_SECRET_ACCESS_KEY"])
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint_url, config=config, **kwargs)


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]["Code"]


@pytest.mark.parametrize("service", sorted(CALLS))
def test_unsigned_unknown_and_wrongly_signed_requests_get_the_services_403(endpoint_url: str, service: str) -> None:
    unsigned, unknown, wrong = EXPECTED[service]
    call = CALLS[service]

    assert refused(lambda: call(raw_client(endpoint_url, service, signature_version=UNSIGNED))) == (403, unsigned)
    other_key = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x" * 40}
    assert refused(lambda: call(raw_client(endpoint_url, service, **other_key))) == (403, unknown)
    wrong_secret = {"aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "not-the-secret"}
    assert refused(lambda: call(raw_client(endpoint_url, service, **wrong_secret))) == (403, wrong)
    call(raw_client(endpoint_url, service))  # the operator's keys (exported by the fixture) work


@pytest.mark.parametrize(
    ("service", "minutes", "code"),
    [
        ("sqs", 6, "SignatureDoesNotMatch"),
        ("lambda", 6, "InvalidSignatureException"),
        ("s3", 16, "RequestTimeTooSkewed"),
        ("sqs", 4, None),
        ("s3", 14, None),
    ],
)
def test_a_clock_more_than_5_minutes_off_is_refused_15_for_s3(
    endpoint_url: str, service: str, minutes: int, code: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    skewed = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: skewed)  # the client's clock, not ours
    if code is None:
        CALLS[service](raw_client(endpoint_url, service))
        return
    with pytest.raises(ClientError) as info:
        CALLS[service](raw_client(endpoint_url, service))
    error = info.value.response["Error"]
    assert (info.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"]) == (403, code)
    if service != "s3":
        assert error["Message"].endswith(" - 5 min.)"), error["Message"]


def test_a_request_body_changed_after_signing_is_refused(endpoint_url: str) -> None:
    sqs = raw_client(endpoint_url, "sqs")
    url = sqs.create_queue(QueueName="tamper")["QueueUrl"]

    def tamper(request: Any, **_: Any) -> None:
        request.body = request.body.replace(b"hello", b"HELLO")

    sqs.meta.events.register_last("before-send.sqs.SendMessage", tamper)
    assert refused(lambda: sqs.send_message(QueueUrl=url, MessageBody="hello")) == (403, "SignatureDoesNotMatch")
    assert "Messages" not in client(endpoint_url, "sqs").receive_message(QueueUrl=url)


def test_s3_uploads_presigned_urls_and_session_credentials(endpoint_url: str, embedded_server: EmbeddedServer) -> None:
    s3 = client(endpoint_url, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="door-bucket")
    s3.upload_fileobj(io.BytesIO(b"z" * (9 * 1024 * 1024)), "door-bucket", "big")  # multipart
    s3.put_object(Bucket="door-bucket", Key="a b/c.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "door-bucket", "Key": "a b/c.txt"})
    assert http_get(url) == (200, b"hello")
    assert http_get(url.replace("door-bucket/a", "door-bucket/A"))[0] == 403  # another key, same signature
    # botocore's default for S3 on a custom endpoint: a Signature Version 2 URL (AWSAccessKeyId, Expires).
    v2 = client(endpoint_url, "s3").generate_presigned_url(
        "get_object", Params={"Bucket": "door-bucket", "Key": "a b/c.txt"}
    )
    assert "AWSAccessKeyId=" in v2 and http_get(v2) == (200, b"hello")
    assert http_get(v2.replace("door-bucket/a", "door-bucket/A"))[0] == 403

    iam = client(endpoint_url, "iam")  # a role that may read objects, as IAM enforcement requires
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="door-reader", AssumeRolePolicyDocument=json.dumps(trust))
    read = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListAllMyBuckets"], "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="door-reader", PolicyName="read", PolicyDocument=json.dumps(read))
    role = embedded_server.credentials.issue("arn:aws:sts::123456789012:assumed-role/door-reader/s", session=True)
    keys = {"aws_access_key_id": role.access_key_id, "aws_secret_access_key": role.secret_access_key}
    with_token = raw_client(endpoint_url, "s3", aws_session_token=role.session_token, **keys)
    assert with_token.head_object(Bucket="door-bucket", Key="big")["ContentLength"] == 9 * 1024 * 1024
    assert refused(lambda: raw_client(endpoint_url, "s3", **keys).list_buckets()) == (400, "InvalidToken")


def test_no_cors_grant_for_another_sites_origin(endpoint_url: str) -> None:
    origin = {"Origin": "https://attacker.example"}
    preflight = {
        **origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,content-type",
    }
    status, headers, _ = request(endpoint_url, "OPTIONS", "/", headers=preflight)
    assert status == 403 and not [k for k, _ in headers if k.lower().startswith("access-control-")]

    sqs = client(endpoint_url, "sqs")
    sqs.meta.events.register(
        "before-sign.sqs.*", lambda request, **_: request.headers.add_header("Origin", origin["Origin"])
    )
    seen: list[dict[str, str]] = []
    sqs.meta.events.register("after-call.sqs.*", lambda http_response, **_: seen.append(dict(http_response.headers)))
    sqs.list_queues()
    assert seen and not [h for h in seen[0] if h.lower().startswith("access-control-")]


def test_a_cross_site_form_post_changes_nothing(endpoint_url: str) -> None:
    sqs = client(endpoint_url, "sqs")
    sqs.create_queue(QueueName="keep-me")
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://attacker.example"}
    for path, body in [
        ("/moto-api/reset", b""),
        ("/_mlpipe/faults", b'{"service": "sqs", "operation": "ListQueues", "rate": 1}'),
        ("/", b"Action=CreateQueue&QueueName=planted"),
        ("/", b"Action=DeleteQueue&QueueUrl=" + urllib.parse.quote(endpoint_url + "/123456789012/keep-me").encode()),
    ]:
        status, _, _ = request(endpoint_url, "POST", path, body=body, headers=form)
        assert status == 403, path
    assert [u.rsplit("/", 1)[1] for u in sqs.list_queues()["QueueUrls"]] == ["keep-me"]
    assert admin_request(endpoint_url, "GET", "/_mlpipe/faults") == (200, {"faults": []})


def test_admin_routes_need_the_operators_signature(endpoint_url: str, embedded_server: EmbeddedServer) -> None:
    assert admin_request(endpoint_url, "GET", "/_mlpipe/status")[0] == 200
    status, body = admin_request(endpoint_url, "GET", "/_mlpipe/status", credentials=("AKIAUNKNOWN000000000", "x"))
    assert status == 403 and body["__type"] == "UnrecognizedClientException"
    role = embedded_server.credentials.issue("arn:aws:iam::123456789012:role/someone")
    status, body = admin_request(
        endpoint_url, "POST", "/moto-api/reset", b"", credentials=(role.access_key_id, role.secret_access_key)
    )
    assert status == 403 and body["__type"] == "AccessDeniedException"
    assert request(endpoint_url, "GET", "/moto-api/data.json")[0] == 403


def test_a_host_that_is_not_loopback_is_refused(endpoint_url: str) -> None:
    for host in ("attacker.example", "attacker.example:80", "192.168.1.10"):
        status, _, body = request(endpoint_url, "GET", "/", headers={"Host": host})
        assert status == 421 and b"loopback" in body, host
    for host in ("localhost", "[::1]", "bucket.localhost:4599"):
        assert request(endpoint_url, "GET", "/", headers={"Host": host})[0] == 403, host  # past the Host check


@pytest.fixture
def raw_route() -> Iterator[list[Any]]:
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["mlpipe.identity"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"raw"]

    registry.RAW_ROUTES["/v1/test-raw/"] = app
    yield seen
    del registry.RAW_ROUTES["/v1/test-raw/"]


def test_raw_routes_take_basic_auth_after_a_challenge(
    endpoint_url: str, raw_route: list[Any], operator_keys: Any
) -> None:
    status, headers, _ = request(endpoint_url, "GET", "/v1/test-raw/info")
    assert status == 401 and ("WWW-Authenticate", 'Basic realm="mlpipe embedded AWS"') in headers
    wrong = base64.b64encode(f"{operator_keys[0]}:nope".encode()).decode()
    assert request(endpoint_url, "GET", "/v1/test-raw/info", headers={"Authorization": f"Basic {wrong}"})[0] == 401
    assert raw_route == []

    basic = base64.b64encode(f"{operator_keys[0]}:{operator_keys[1]}".encode()).decode()
    status, _, body = request(endpoint_url, "GET", "/v1/test-raw/info", headers={"Authorization": f"Basic {basic}"})
    assert (status, body) == (200, b"raw")
    assert raw_route[0].access_key_id == operator_keys[0]


def test_basic_auth_refuses_a_temporary_key_whose_token_it_cannot_carry(
    endpoint_url: str, raw_route: list[Any], embedded_server: EmbeddedServer
) -> None:
    role = embedded_server.credentials.issue("arn:aws:sts::123456789012:assumed-role/door-git/s", session=True)
    basic = base64.b64encode(f"{role.access_key_id}:{role.secret_access_key}".encode()).decode()
    status, _, body = request(endpoint_url, "GET", "/v1/test-raw/info", headers={"Authorization": f"Basic {basic}"})
    assert status == 401 and b"temporary (session) key" in body
    assert raw_route == []


@pytest.fixture
def authorizer() -> Iterator[list[tuple[str, str, str, dict[str, Any]]]]:
    seen: list[tuple[str, str, str, dict[str, Any]]] = []

    def deny_planted(ctx: Any, identity: Any, api: Any) -> None:
        seen.append((identity.principal_arn, api.service, api.operation, api.params))
        if "planted" in str(api.params):
            raise AwsApiError("AccessDenied", f"not allowed: {api.service}:{api.operation}", 403)

    registry.AUTHORIZERS.append(deny_planted)
    yield seen
    registry.AUTHORIZERS.remove(deny_planted)


def test_authorizers_see_every_api_request_and_deny_in_the_services_shape(
    endpoint_url: str, authorizer: list[Any]
) -> None:
    sqs, s3, iam, lam = (client(endpoint_url, s) for s in ("sqs", "s3", "iam", "lambda"))
    s3.create_bucket(Bucket="door-ok")
    iam.list_roles()
    lam.list_functions()
    assert refused(lambda: sqs.create_queue(QueueName="planted")) == (403, "AccessDenied")
    assert refused(lambda: s3.put_object(Bucket="door-ok", Key="planted", Body=b"x")) == (403, "AccessDenied")
    assert refused(lambda: iam.create_user(UserName="planted")) == (403, "AccessDenied")
    assert refused(lambda: lam.get_function(FunctionName="planted")) == (403, "AccessDenied")

    calls = [(service, operation) for _, service, operation, _ in authorizer]
    assert calls == [
        ("s3", "CreateBucket"),
        ("iam", "ListRoles"),
        ("lambda", "ListFunctions"),
        ("sqs", "CreateQueue"),
        ("s3", "PutObject"),
        ("iam", "CreateUser"),
        ("lambda", "GetFunction"),
    ]
    assert authorizer[4][3]["Key"] == "planted" and authorizer[0][0].endswith(":user/mlpipe-operator")
    assert s3.list_objects_v2(Bucket="door-ok").get("KeyCount") == 0  # the denied upload did not happen


def request(
    endpoint_url: str, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    parts = urllib.parse.urlsplit(endpoint_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        headers = dict(headers or {})
        host = headers.pop("Host", None)
        connection.putrequest(method, path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        reply = connection.getresponse()
        return reply.status, reply.getheaders(), reply.read()
    finally:
        connection.close()


def http_get(url: str) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    status, _, body = request(f"{parts.scheme}://{parts.netloc}", "GET", f"{parts.path}?{parts.query}")
    return status, body


def test_extensions_add_operator_only_admin_routes(endpoint_url: str) -> None:
    def echo(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        if "bad" in body:
            raise ValueError("bad: not accepted")
        return {"got": body}

    registry.ADMIN_ROUTES[("POST", "/_mlpipe/test-echo")] = echo
    try:
        assert admin_request(endpoint_url, "POST", "/_mlpipe/test-echo", {"a": 1}) == (200, {"got": {"a": 1}})
        assert admin_request(endpoint_url, "POST", "/_mlpipe/test-echo", {"bad": 1}) == (
            400,
            {"error": "bad: not accepted"},
        )
        assert request(endpoint_url, "POST", "/_mlpipe/test-echo", body=b'{"a": 1}')[0] == 403
    finally:
        del registry.ADMIN_ROUTES[("POST", "/_mlpipe/test-echo")]
