"""The embedded AWS's front door: who may talk to it, and what a refused request gets back.

- Host: only loopback names (127.0.0.1, localhost, *.localhost, [::1]) unless the server was
  started with --expose-on-network. A web page that rebinds its own DNS name to 127.0.0.1 still
  sends its own name as Host, so it is refused before anything runs (DNS rebinding).
- Authentication: every request carries a valid SigV4 signature of a key the server issued
  (`sigv4`); raw routes (git over HTTP) may use HTTP Basic with a long-term key id and secret
  instead (a temporary key is refused there: Basic cannot carry its session token).
- No CORS: moto's server grants any Origin; those headers are dropped, so a browser page on
  another site can neither read answers nor send signed requests (and unsigned ones are refused).

Refusals have the shape and code the real service uses (query XML, JSON `__type`, S3's XML).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
from typing import Any

from mlpipe.local import protocols
from mlpipe.local.credentials import CredentialStore, Identity
from mlpipe.local.sigv4 import AuthFailure, Verified, verify

Response = tuple[int, list[tuple[str, str]], bytes]

_BAD_SIGNATURE_S3 = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)
_INVALID_TOKEN = "The security token included in the request is invalid."
# failure kind -> (code, status) per family: query services (and JSON ones with query-compatible
# errors: sqs, cloudwatch), other JSON / REST-JSON services, S3.
_CODES: dict[str, dict[str, tuple[str, int]]] = {
    "query": {
        "missing": ("MissingAuthenticationToken", 403),
        "incomplete": ("IncompleteSignature", 400),
        "unknown_key": ("InvalidClientTokenId", 403),
        "bad_token": ("InvalidClientTokenId", 403),
        "bad_signature": ("SignatureDoesNotMatch", 403),
        "payload": ("SignatureDoesNotMatch", 403),
        "skewed": ("SignatureDoesNotMatch", 403),
        "expired": ("SignatureDoesNotMatch", 403),
        "denied": ("AccessDenied", 403),
    },
    "json": {
        "missing": ("MissingAuthenticationTokenException", 403),
        "incomplete": ("IncompleteSignatureException", 400),
        "unknown_key": ("UnrecognizedClientException", 403),
        "bad_token": ("UnrecognizedClientException", 403),
        "bad_signature": ("InvalidSignatureException", 403),
        "payload": ("InvalidSignatureException", 403),
        "skewed": ("InvalidSignatureException", 403),
        "expired": ("InvalidSignatureException", 403),
        "denied": ("AccessDeniedException", 403),
    },
    "s3": {
        "missing": ("AccessDenied", 403),
        "incomplete": ("AuthorizationHeaderMalformed", 400),
        "unknown_key": ("InvalidAccessKeyId", 403),
        "bad_token": ("InvalidToken", 400),
        "bad_signature": ("SignatureDoesNotMatch", 403),
        "payload": ("XAmzContentSHA256Mismatch", 400),
        "skewed": ("RequestTimeTooSkewed", 403),
        "expired": ("AccessDenied", 403),
        "denied": ("AccessDenied", 403),
    },
}
_MESSAGES = {
    ("json", "missing"): "Missing Authentication Token",
    ("query", "unknown_key"): _INVALID_TOKEN,
    ("json", "unknown_key"): _INVALID_TOKEN,
    ("s3", "missing"): "Access Denied",
    ("s3", "unknown_key"): "The AWS Access Key Id you provided does not exist in our records.",
    ("s3", "bad_signature"): _BAD_SIGNATURE_S3,
    ("s3", "skewed"): "The difference between the request time and the current time is too large.",
}


def loopback_host(host_header: str) -> bool:
    """Is the Host header a loopback name (with or without a port)?"""
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def authenticate(
    environ: dict[str, Any], body: bytes, store: CredentialStore, *, basic: bool = False, now: dt.datetime | None = None
) -> Verified:
    """The verified caller, or AuthFailure. `basic` also accepts HTTP Basic (key id, secret)."""
    if basic and str(environ.get("HTTP_AUTHORIZATION", "")).startswith("Basic "):
        return _basic(str(environ["HTTP_AUTHORIZATION"]), store)
    return verify(environ, body, store.lookup, now)


def _basic(header: str, store: CredentialStore) -> Verified:
    import hmac

    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthFailure("incomplete", "malformed HTTP Basic credentials") from None
    identity = store.lookup(user)
    if identity is None:
        raise AuthFailure("unknown_key", f"unknown access key id {user}")
    if identity.session_token is not None:
        # Basic carries no session token, and temporary keys are void without theirs (as in SigV4,
        # InvalidClientTokenId); CodeCommit's own Basic credentials are long-term ones too.
        raise AuthFailure(
            "bad_token",
            f"{user} is a temporary (session) key: HTTP Basic cannot carry its session token; use a long-term "
            "key (the operator's, `mlpipe local git-credential`) or sign the request with SigV4",
        )
    if not hmac.compare_digest(password.encode(), identity.secret_access_key.encode()):
        raise AuthFailure("bad_signature", "wrong secret for this access key id")
    return Verified(identity, "us-east-1", "")


def family(service: str, protocol: str) -> str:
    if protocol == "rest-xml" or service == "s3":
        return "s3"
    if protocol == "query" or service in protocols.QUERY_COMPATIBLE:
        return "query"
    return "json"


def refusal(service: str, protocol: str, failure: AuthFailure) -> Response:
    """The answer the service gives a request it cannot authenticate."""
    fam = family(service, protocol)
    code, status = _CODES[fam][failure.kind]
    message = _MESSAGES.get((fam, failure.kind), failure.message)
    return protocols.error_response(service, "json" if protocol == "unknown" else protocol, code, message, status)


def scope_refusal(service: str, protocol: str, signed_for: str, expected: str, presigned: bool) -> Response:
    """A request signed for another service than the one that answers it (the endpoint's service)."""
    if family(service, protocol) == "s3":
        where = "Error parsing the X-Amz-Credential parameter" if presigned else "The authorization header is malformed"
        code = "AuthorizationQueryParametersError" if presigned else "AuthorizationHeaderMalformed"
        message = f'{where}; incorrect service "{signed_for}". This endpoint belongs to "{expected}".'
        return protocols.error_response(service, "rest-xml", code, message, 400)
    failure = AuthFailure("bad_signature", f"Credential should be scoped to correct service: '{expected}'. ")
    return refusal(service, protocol, failure)


def admin_refusal(identity: Identity | None, store: CredentialStore) -> Response | None:
    """Admin routes (/_mlpipe/*, /moto-api/*) are for the operator only."""
    if identity is not None and identity.access_key_id in (store.operator.access_key_id, store.internal.access_key_id):
        return None
    return protocols.error_response(
        "", "json", "AccessDeniedException", "only the embedded AWS's operator may use its admin routes", 403
    )


def strip_cors(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
