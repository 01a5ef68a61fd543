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
from botocore.auth import S3SigV4Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
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


# -- IAM authorizes what moto runs (security review F1) ----------------------------------------


@pytest.fixture
def narrow_keys(endpoint_url: str, embedded_server: EmbeddedServer) -> Credentials:
    """A role session that may list queues and log groups, list one bucket and read its tags: nothing else."""
    iam = client(endpoint_url, "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="door-narrow", AssumeRolePolicyDocument=json.dumps(trust))
    allowed = [
        {"Effect": "Allow", "Action": ["sqs:ListQueues", "logs:DescribeLogGroups"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::door-secrets"},
        {"Effect": "Allow", "Action": "s3:GetObjectTagging", "Resource": "arn:aws:s3:::door-secrets/*"},
    ]
    policy = {"Version": "2012-10-17", "Statement": allowed}
    iam.put_role_policy(RoleName="door-narrow", PolicyName="p", PolicyDocument=json.dumps(policy))
    s3 = client(endpoint_url, "s3")
    s3.create_bucket(Bucket="door-secrets")
    s3.put_object(Bucket="door-secrets", Key="secret", Body=b"the secret")
    role = embedded_server.credentials.issue("arn:aws:sts::123456789012:assumed-role/door-narrow/s", session=True)
    return Credentials(role.access_key_id, role.secret_access_key, role.session_token)


def send_signed(
    endpoint_url: str,
    keys: Credentials,
    service: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    presign: bool = False,
) -> tuple[int, bytes]:
    """A request signed by botocore's own signers for `service` (header or presigned), sent as is."""
    # A presigned URL signs no body (botocore would read a query service's body as its parameters).
    signed = AWSRequest(method=method, url=endpoint_url + path, data=b"" if presign else body, headers=headers or {})
    if presign:
        SigV4QueryAuth(keys, service, "us-east-1", expires=300).add_auth(signed)
    else:
        (S3SigV4Auth if service == "s3" else SigV4Auth)(keys, service, "us-east-1").add_auth(signed)
    prepared = signed.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    sent = {k: v for k, v in prepared.headers.items() if k.lower() not in ("host", "content-length")}
    status, _, answer = request(
        endpoint_url, method, f"{parts.path}?{parts.query}" if parts.query else parts.path, body=body, headers=sent
    )
    return status, answer


def test_a_credential_scoped_to_another_service_is_refused(endpoint_url: str, narrow_keys: Credentials) -> None:
    """moto answers a presigned URL on a bucket path as S3 whatever its scope says: a URL signed for STS
    (GetCallerIdentity needs no permission) must not read or write objects the caller may not touch."""
    query = "?Action=GetCallerIdentity&Version=2011-06-15"
    status, body = send_signed(endpoint_url, narrow_keys, "sts", "GET", f"/door-secrets/secret{query}", presign=True)
    assert (status, b"AuthorizationQueryParametersError" in body) == (400, True), body
    assert b'incorrect service "sts". This endpoint belongs to "s3".' in body
    planted = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    status, body = send_signed(
        endpoint_url,
        narrow_keys,
        "sts",
        "PUT",
        f"/door-secrets/planted{query}",
        body=b"x",
        headers=planted,
        presign=True,
    )
    assert status == 400, body
    assert [o["Key"] for o in client(endpoint_url, "s3").list_objects_v2(Bucket="door-secrets")["Contents"]] == [
        "secret"
    ]
    # A header moto cannot parse (fields reordered) makes it fall back to S3: refused the same way.
    signed = AWSRequest(method="POST", url=f"{endpoint_url}/door-secrets", data=b"Action=ListUsers&Version=2010-05-08")
    SigV4Auth(narrow_keys, "iam", "us-east-1").add_auth(signed)
    headers = {k: v for k, v in signed.prepare().headers.items() if k.lower() not in ("host", "content-length")}
    fields = dict(
        part.strip().split("=", 1) for part in headers["Authorization"][len("AWS4-HMAC-SHA256 ") :].split(",")
    )
    headers["Authorization"] = "AWS4-HMAC-SHA256 " + ", ".join(
        f"{k}={fields[k]}" for k in ("SignedHeaders", "Credential", "Signature")
    )
    status, _, body = request(
        endpoint_url, "POST", "/door-secrets", body=b"Action=ListUsers&Version=2010-05-08", headers=headers
    )
    assert (status, b"AuthorizationHeaderMalformed" in body) == (400, True), body


def test_the_operation_checked_is_the_one_moto_runs(endpoint_url: str, narrow_keys: Credentials) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # An X-Amz-Target for no IAM operation: IAM reads Action from the body, so CreateUser is what is checked.
    create = b"Action=CreateUser&UserName=pwned&Version=2010-05-08"
    status, body = send_signed(
        endpoint_url, narrow_keys, "iam", "POST", "/", body=create, headers={**form, "X-Amz-Target": "x.y"}
    )
    assert (status, b"<Code>AccessDenied</Code>" in body, b"iam:CreateUser" in body) == (403, True, True), body
    assert "pwned" not in [u["UserName"] for u in client(endpoint_url, "iam").list_users()["Users"]]
    # S3 ignores X-Amz-Target: a GetObject named DescribeLogGroups is still a GetObject.
    status, body = send_signed(
        endpoint_url,
        narrow_keys,
        "s3",
        "GET",
        "/door-secrets/secret",
        headers={"X-Amz-Target": "Logs_20140328.DescribeLogGroups"},
    )
    assert (status, b"s3:GetObject" in body) == (403, True), body
    # moto takes Action from the query string before X-Amz-Target: ListQueues that would run DeleteQueue.
    url = client(endpoint_url, "sqs").create_queue(QueueName="door-keep")["QueueUrl"]
    json_headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"}
    deletes = json.dumps({"QueueUrl": url}).encode()  # ListQueues ignores it, DeleteQueue reads it
    status, body = send_signed(
        endpoint_url, narrow_keys, "sqs", "POST", "/?Action=DeleteQueue", body=deletes, headers=json_headers
    )
    assert (status, b"AccessDenied" in body, b"sqs:DeleteQueue" in body) == (403, True, True), body
    assert client(endpoint_url, "sqs").get_queue_url(QueueName="door-keep")["QueueUrl"] == url
    ok = send_signed(endpoint_url, narrow_keys, "sqs", "POST", "/", body=b"{}", headers=json_headers)
    assert ok[0] == 200 and b"door-keep" in ok[1], ok


def test_a_request_that_names_no_operation_is_for_the_full_access_operator_only(
    endpoint_url: str, narrow_keys: Credentials, operator_keys: tuple[str, str]
) -> None:
    unknown = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "NotLogs.DescribeLogGroups"}
    status, body = send_signed(endpoint_url, narrow_keys, "logs", "POST", "/", body=b"{}", headers=unknown)
    assert (status, json.loads(body)["__type"]) == (400, "AccessDeniedException"), body  # JSON 1.1: 400
    assert "cannot tell which logs operation" in json.loads(body)["message"]
    assert (
        send_signed(endpoint_url, Credentials(*operator_keys), "logs", "POST", "/", body=b"{}", headers=unknown)[0]
        == 200
    )
    # S3 subresources the matched operation does not take: moto and the model could pick different operations.
    status, body = send_signed(endpoint_url, narrow_keys, "s3", "GET", "/door-secrets/secret?tagging&uploadId=1")
    assert (status, b"AccessDenied" in body) == (403, True), body
    assert send_signed(endpoint_url, narrow_keys, "s3", "GET", "/door-secrets/secret?tagging")[0] == 200
