"""The door's pure parts: SigV4 verification against botocore's own signer with an injected clock,
the loopback Host rule, and the sweep of scratch directories a killed server left behind."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mlpipe.local.credentials import CredentialStore, new_identity, operator_arn
from mlpipe.local.door import loopback_host
from mlpipe.local.server import sweep_stale_scratch
from mlpipe.local.sigv4 import AuthFailure, verify

STORE = CredentialStore(new_identity(operator_arn()))
KEYS = Credentials(STORE.operator.access_key_id, STORE.operator.secret_access_key)


def environ_of(request: AWSRequest) -> tuple[dict[str, Any], bytes]:
    """What a WSGI server hands the app for this request (raw path and query as sent)."""
    parts = urlsplit(request.url)
    body = request.body or b""
    body = body.encode() if isinstance(body, str) else body
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "RAW_URI": parts.path + (f"?{parts.query}" if parts.query else ""),
        "QUERY_STRING": parts.query,
        "HTTP_HOST": parts.netloc,
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return environ, body


def signed(body: bytes = b'{"QueueName": "q"}', path: str = "/") -> tuple[dict[str, Any], bytes]:
    request = AWSRequest("POST", f"http://127.0.0.1:4599{path}", data=body, headers={"X-Amz-Target": "AmazonSQS.X"})
    SigV4Auth(KEYS, "sqs", "eu-west-1").add_auth(request)
    return environ_of(request)


def test_a_request_signed_by_botocore_verifies_as_its_scope() -> None:
    environ, body = signed(path="/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/invocations")
    verified = verify(environ, body, STORE.lookup)
    assert (verified.identity, verified.region, verified.service) == (STORE.operator, "eu-west-1", "sqs")


@pytest.mark.parametrize(
    ("service", "minutes", "kind"),
    [
        *[("sqs", -6, "skewed"), ("sqs", 6, "skewed"), ("sqs", -4, None), ("sqs", 4, None)],
        *[("s3", -16, "skewed"), ("s3", 16, "skewed"), ("s3", -14, None), ("s3", 14, None)],
    ],
    ids=str,
)
def test_the_clock_may_differ_by_5_minutes_and_by_15_for_s3(service: str, minutes: int, kind: str | None) -> None:
    request = AWSRequest("GET", "http://127.0.0.1:4599/bucket/key")
    SigV4Auth(KEYS, service, "us-east-1").add_auth(request)
    environ, body = environ_of(request)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)  # the server's clock against the client's
    if kind is None:
        verify(environ, body, STORE.lookup, now)
    else:
        with pytest.raises(AuthFailure) as info:
            verify(environ, body, STORE.lookup, now)
        assert info.value.kind == kind
        assert f"{abs(minutes) - 1} min." in info.value.message


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (lambda e, b: (e, b + b" "), "bad_signature"),
        (lambda e, b: ({**e, "HTTP_X_AMZ_TARGET": "AmazonSQS.DeleteQueue"}, b), "bad_signature"),
        (lambda e, b: ({**e, "RAW_URI": "/other"}, b), "bad_signature"),
        (lambda e, b: ({**e, "HTTP_X_AMZ_SECURITY_TOKEN": "t"}, b), "bad_token"),
        (lambda e, b: ({k: v for k, v in e.items() if k != "HTTP_AUTHORIZATION"}, b), "missing"),
        (lambda e, b: ({**e, "HTTP_AUTHORIZATION": e["HTTP_AUTHORIZATION"].split(", Sig")[0]}, b), "incomplete"),
        (lambda e, b: ({**e, "HTTP_AUTHORIZATION": e["HTTP_AUTHORIZATION"].replace("AKIA", "AKIB")}, b), "unknown_key"),
    ],
    ids=["body", "signed header", "path", "stray token", "unsigned", "no signature", "unknown key"],
)
def test_any_change_after_signing_is_refused(change: Any, kind: str) -> None:
    environ, body = change(*signed())
    with pytest.raises(AuthFailure) as info:
        verify(environ, body, STORE.lookup)
    assert info.value.kind == kind


def test_presigned_s3_urls_expire() -> None:
    request = AWSRequest("GET", "http://127.0.0.1:4599/bucket/a%20b.txt")
    S3SigV4QueryAuth(KEYS, "s3", "us-east-1", expires=60).add_auth(request)
    environ, body = environ_of(request)
    assert verify(environ, body, STORE.lookup).service == "s3"
    with pytest.raises(AuthFailure) as info:
        verify(environ, body, STORE.lookup, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61))
    assert info.value.kind == "expired"


def test_signature_version_2_presigned_urls_verify_and_expire() -> None:
    request = AWSRequest("GET", "http://127.0.0.1:4599/bucket/a%20b.txt?versionId=3")
    HmacV1QueryAuth(KEYS, expires=60).add_auth(request)
    environ, body = environ_of(request)
    assert verify(environ, body, STORE.lookup).identity == STORE.operator
    with pytest.raises(AuthFailure) as info:
        verify({**environ, "RAW_URI": environ["RAW_URI"].replace("a%20b", "c")}, body, STORE.lookup)
    assert info.value.kind == "bad_signature"
    with pytest.raises(AuthFailure) as info:
        verify(environ, body, STORE.lookup, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61))
    assert info.value.kind == "expired"


def test_session_identities_need_their_token() -> None:
    role = STORE.issue("arn:aws:sts::123456789012:assumed-role/r/s", session=True)
    request = AWSRequest("POST", "http://127.0.0.1:4599/", data=b"{}")
    SigV4Auth(
        Credentials(role.access_key_id, role.secret_access_key, role.session_token), "logs", "us-east-1"
    ).add_auth(request)
    environ, body = environ_of(request)
    assert verify(environ, body, STORE.lookup).identity == role
    with pytest.raises(AuthFailure):
        verify({**environ, "HTTP_X_AMZ_SECURITY_TOKEN": "forged"}, body, STORE.lookup)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:4599", True),
        ("localhost:4599", True),
        ("LOCALHOST", True),
        ("[::1]:4599", True),
        ("my-bucket.localhost:4599", True),
        ("127.0.0.2", True),
        ("attacker.example", False),
        ("attacker.example:4599", False),
        ("localhost.attacker.example", False),
        ("10.0.0.5:4599", False),
        ("", False),
    ],
)
def test_only_loopback_host_names_pass(host: str, allowed: bool) -> None:
    assert loopback_host(host) is allowed


def test_scratch_of_gone_servers_is_swept_and_live_ones_kept(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    dead = [tmp_path / f"mlpipe-lambda-code-{dead_pid}-abc", tmp_path / f"mlpipe-build-{dead_pid}-def"]
    kept = [
        tmp_path / f"mlpipe-lambda-code-{os.getpid()}-xyz",  # this live process's
        tmp_path / "mlpipe-lambda-code-oldstyle",  # an older mlpipe's: maybe still running
        tmp_path / "unrelated-dir",
    ]
    for path in dead + kept:
        (path / "code").mkdir(parents=True)
    assert sorted(sweep_stale_scratch(tmp_path)) == sorted(dead)
    assert [p.exists() for p in dead + kept] == [False, False, True, True, True]


def test_a_port_in_time_wait_counts_as_free() -> None:
    """`local down && local up`: the old server's closed connections leave the port in TIME_WAIT."""
    import socket

    from mlpipe.local.control import port_free

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection goes to TIME_WAIT
    client.recv(1)
    client.close()
    server.close()

    plain = socket.socket()  # what the probe did before: no SO_REUSEADDR, "in use" for a minute
    with pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))
    plain.close()
    assert port_free("127.0.0.1", port)
