"""Which backend moto's own dispatcher hands a request to, and how the middleware reads the request
for that backend (local/routing.py, protocols.routed_protocol): no server, moto's dispatcher object."""

from __future__ import annotations

import io
from typing import Any

import pytest

from mlpipe.local import protocols, routing
from mlpipe.local.server import moto_server_module

# Through the server's own loader: moto's module imports flask_cors, which mlpipe does not install.
_MOTO_SERVER = moto_server_module()
DISPATCHER = _MOTO_SERVER.DomainDispatcherApplication(_MOTO_SERVER.create_backend_app)


def environ(path: str = "/", scope: str | None = None, body: bytes = b"", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "HTTP_HOST": "127.0.0.1:4599",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers.pop("content_type", ""),
    }
    if scope:
        env["HTTP_AUTHORIZATION"] = (
            f"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/{scope}/aws4_request, SignedHeaders=host, Signature=0"
        )
    env.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return env


@pytest.mark.parametrize(
    ("path", "scope", "expected"),
    [
        ("/", "sqs", "sqs"),
        ("/2015-03-31/functions", "lambda", "awslambda"),
        ("/endpoints/e/invocations", "sagemaker", "sagemakerruntime"),
        ("/", "sagemaker", "sagemaker"),
        ("/", "monitoring", "cloudwatch"),
        ("/bucket/key", None, "s3"),  # presigned (no Authorization header): moto's fallback
        ("/", "codestar-connections", "codestar-connections"),  # no moto backend: keeps its name
    ],
)
def test_the_backend_is_the_one_moto_picks(path: str, scope: str | None, expected: str) -> None:
    assert routing.backend(DISPATCHER, environ(path, scope), b"") == expected


def test_a_header_moto_cannot_parse_goes_to_s3_whatever_its_scope() -> None:
    env = environ("/", "iam")
    env["HTTP_AUTHORIZATION"] = (
        "AWS4-HMAC-SHA256 SignedHeaders=host, Credential=AKIA/20260101/us-east-1/iam/aws4_request"
    )
    assert routing.backend(DISPATCHER, env, b"") == "s3"
    assert routing.scope_backend(DISPATCHER, env, "us-east-1", "iam") == "iam"


def test_moto_reading_an_unsigned_body_leaves_it_for_the_backend() -> None:
    body = b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
    env = environ("/", None, body, content_type="application/x-www-form-urlencoded")
    assert routing.backend(DISPATCHER, env, body) == "sts"
    assert env["wsgi.input"].read() == body


@pytest.mark.parametrize(
    ("service", "target", "protocol"),
    [
        ("iam", "x.y", "query"),
        ("sqs", "AmazonSQS.ListQueues", "json"),
        ("sqs", "", "query"),
        ("logs", "NotLogs.DescribeLogGroups", "json"),
        ("s3", "Logs_20140328.DescribeLogGroups", "rest-xml"),
        ("lambda", "", "rest-json"),
        ("dynamodb", "DynamoDB_20120810.ListTables", "unknown"),
    ],
)
def test_the_protocol_is_the_routed_services(service: str, target: str, protocol: str) -> None:
    env = environ("/", service, x_amz_target=target) if target else environ("/", service)
    assert protocols.routed_protocol(env, service) == protocol


def test_a_target_of_another_service_names_no_operation() -> None:
    env = environ("/", "logs", x_amz_target="NotLogs.DescribeLogGroups")
    assert protocols.parse(env, b"{}", "logs", "json", "us-east-1") is None
    env = environ("/", "logs", x_amz_target="Logs_20140328.DescribeLogGroups")
    assert protocols.parse(env, b"{}", "logs", "json", "us-east-1").operation == "DescribeLogGroups"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/b/k", "GetObject"),
        ("/b/k?partNumber=1&versionId=v&response-content-type=x", "GetObject"),
        ("/b/k?tagging", "GetObjectTagging"),
        ("/b/k?uploadId=1", "ListParts"),
        ("/b/k?tagging&uploadId=1", None),  # moto lists parts; the model could say GetObjectTagging
        ("/b/k?acl&tagging", None),
        ("/b?list-type=2&prefix=p", "ListObjectsV2"),
    ],
)
def test_s3_subresources_the_operation_does_not_take_make_it_ambiguous(path: str, operation: str | None) -> None:
    request = protocols.parse(environ(path, "s3"), b"", "s3", "rest-xml", "us-east-1")
    assert (request.operation if request else None) == operation
