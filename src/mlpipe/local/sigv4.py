"""Verify an incoming request's AWS Signature Version 4, as AWS does.

The server rebuilds the canonical request from what arrived on the wire (raw path, query string,
the headers the client says it signed, the payload hash) and signs it with the secret of the access
key the request names; the result must equal the signature sent. Both forms are accepted: the
`Authorization` header and presigned URLs (`X-Amz-Signature` in the query string). The canonical
form follows botocore's signer (botocore.auth.SigV4Auth / S3SigV4Auth), which is AWS's spec:
non-S3 paths are normalized and encoded once more, S3 paths are taken as sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote

from mlpipe.local.credentials import Identity

# IAM User Guide (Signing AWS API requests): "In most cases, a request must reach AWS within five
# minutes of the time stamp in the request"; S3 allows 15 (its RequestTimeTooSkewed errors carry
# MaxAllowedSkewMilliseconds 900000).
MAX_SKEW = dt.timedelta(minutes=5)
MAX_SKEW_S3 = dt.timedelta(minutes=15)
MAX_PRESIGNED_EXPIRES_S = 7 * 24 * 3600
UNSIGNED = frozenset({"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
STREAMING_SIGNED = frozenset({"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"})
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_AUTH_FIELDS = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]*)")


class AuthFailure(Exception):
    """Why a request is not authenticated: `kind` picks the service's error code (see `auth`)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # missing | incomplete | unknown_key | bad_token | bad_signature | skewed | expired | payload
        self.message = message


@dataclass(frozen=True)
class Verified:
    identity: Identity
    region: str
    service: str  # the signing name of the credential scope, e.g. "sqs", "s3", "monitoring"


@dataclass(frozen=True)
class _Claim:
    key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    timestamp: str
    token: str | None
    presigned_expires: int | None  # seconds, for presigned URLs
    canonical_query: str


def verify(
    environ: dict[str, object],
    body: bytes,
    lookup: Callable[[str], Identity | None],
    now: dt.datetime | None = None,
) -> Verified:
    """The identity that signed this request, or AuthFailure."""
    query = str(environ.get("QUERY_STRING", ""))
    if "AWSAccessKeyId=" in query and "Signature=" in query and "X-Amz-Signature=" not in query:
        return _verify_v2_query(environ, dict(_split_query(query)), lookup, now or dt.datetime.now(dt.UTC))
    claim = _claim(environ)
    identity = lookup(claim.key_id)
    if identity is None:
        raise AuthFailure("unknown_key", f"unknown access key id {claim.key_id}")
    if (claim.token or None) != identity.session_token:
        raise AuthFailure("bad_token", "The security token included in the request is invalid.")
    _check_time(claim, now or dt.datetime.now(dt.UTC))
    payload_hash = _payload_hash(environ, body, claim)
    canonical = "\n".join(
        [
            str(environ.get("REQUEST_METHOD", "GET")).upper(),
            _canonical_path(environ, claim.service),
            claim.canonical_query,
            "".join(f"{name}:{_header(environ, name)}\n" for name in claim.signed_headers),
            ";".join(claim.signed_headers),
            payload_hash,
        ]
    )
    scope = f"{claim.date}/{claim.region}/{claim.service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", claim.timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = signing_key(identity.secret_access_key, claim.date, claim.region, claim.service)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, claim.signature):
        raise AuthFailure(
            "bad_signature",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    return Verified(identity, claim.region, claim.service)


def _verify_v2_query(
    environ: dict[str, object], params: dict[str, str], lookup: Callable[[str], Identity | None], now: dt.datetime
) -> Verified:
    """An S3 URL presigned with Signature Version 2 (what botocore's generate_presigned_url makes for
    S3 unless told `signature_version="s3v4"`): HMAC-SHA1 over method, Expires and the resource."""
    import base64
    from urllib.parse import urlsplit

    from botocore.auth import HmacV1Auth

    identity = lookup(params.get("AWSAccessKeyId", ""))
    if identity is None:
        raise AuthFailure("unknown_key", f"unknown access key id {params.get('AWSAccessKeyId')}")
    if params.get("x-amz-security-token") != identity.session_token:
        raise AuthFailure("bad_token", "The security token included in the request is invalid.")
    expires = params.get("Expires", "")
    if not expires.isdigit():
        raise AuthFailure("incomplete", "Expires must be a number of seconds since the epoch")
    if now.timestamp() > int(expires):
        raise AuthFailure("expired", f"Request has expired (Expires {expires})")
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "/")
    amz = sorted((k.lower(), v) for k, v in params.items() if k.lower().startswith("x-amz-"))
    string_to_sign = (
        f"{str(environ.get('REQUEST_METHOD', 'GET')).upper()}\n"
        f"{params.get('content-md5', '')}\n{params.get('content-type', '')}\n{expires}\n"
        + "".join(f"{k}:{v}\n" for k, v in amz)
        + HmacV1Auth.canonical_resource(HmacV1Auth(None), urlsplit(raw))
    )
    digest = hmac.new(identity.secret_access_key.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), params.get("Signature", "")):
        raise AuthFailure(
            "bad_signature", "The request signature we calculated does not match the signature you provided."
        )
    return Verified(identity, "us-east-1", "s3")


_KEYS: dict[tuple[str, str, str, str], bytes] = {}


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key (four HMACs) for one day/region/service; cached, since it is the same all day."""
    cache_key = (secret, date, region, service)
    key = _KEYS.get(cache_key)
    if key is None:
        key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
        for part in (region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        if len(_KEYS) > 1024:
            _KEYS.clear()
        _KEYS[cache_key] = key
    return key


def _claim(environ: dict[str, object]) -> _Claim:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    query = str(environ.get("QUERY_STRING", ""))
    if auth.startswith("AWS4-HMAC-SHA256"):
        fields = dict(_AUTH_FIELDS.findall(auth))
        if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
            raise AuthFailure(
                "incomplete", f"Authorization header requires Credential, SignedHeaders, Signature: {auth}"
            )
        timestamp = str(environ.get("HTTP_X_AMZ_DATE", ""))
        if not timestamp:
            raise AuthFailure("incomplete", "Authorization header requires existence of either a X-Amz-Date or a Date")
        return _make_claim(fields, timestamp, environ.get("HTTP_X_AMZ_SECURITY_TOKEN"), None, _canonical_query(query))
    if "X-Amz-Signature=" in query:
        params = dict(_split_query(query))
        if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise AuthFailure("incomplete", "X-Amz-Algorithm only supports AWS4-HMAC-SHA256")
        fields = {
            "Credential": params.get("X-Amz-Credential", ""),
            "SignedHeaders": params.get("X-Amz-SignedHeaders", ""),
            "Signature": params.get("X-Amz-Signature", ""),
        }
        try:
            expires = int(params.get("X-Amz-Expires", ""))
        except ValueError:
            raise AuthFailure("incomplete", "X-Amz-Expires must be a number of seconds") from None
        if not 0 < expires <= MAX_PRESIGNED_EXPIRES_S:
            raise AuthFailure("incomplete", "X-Amz-Expires must be less than a week (in seconds)")
        canonical = _canonical_query(query, drop="X-Amz-Signature")
        token = params.get("X-Amz-Security-Token")
        return _make_claim(fields, params.get("X-Amz-Date", ""), token, expires, canonical)
    raise AuthFailure("missing", "Request is missing Authentication Token")


def _make_claim(
    fields: dict[str, str], timestamp: str, token: object, expires: int | None, canonical_query: str
) -> _Claim:
    parts = fields["Credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not fields["Signature"]:
        raise AuthFailure("incomplete", f"malformed credential scope: {fields['Credential']}")
    key_id, date, region, service, _ = parts
    if timestamp[:8] != date:
        raise AuthFailure(
            "bad_signature", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date: {date}"
        )
    signed = fields["SignedHeaders"].split(";")
    return _Claim(
        key_id,
        date,
        region,
        service,
        signed,
        fields["Signature"],
        timestamp,
        str(token) if token else None,
        expires,
        canonical_query,
    )


def _check_time(claim: _Claim, now: dt.datetime) -> None:
    try:
        when = dt.datetime.strptime(claim.timestamp, _TIMESTAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        raise AuthFailure("incomplete", f"invalid X-Amz-Date: {claim.timestamp}") from None
    stamp = now.strftime(_TIMESTAMP)
    if claim.presigned_expires is not None and now > when + dt.timedelta(seconds=claim.presigned_expires):
        raise AuthFailure("expired", f"Request has expired (X-Amz-Date {claim.timestamp}, now {stamp})")
    skew = MAX_SKEW_S3 if claim.service == "s3" else MAX_SKEW
    minutes = int(skew.total_seconds()) // 60
    if when > now + skew:
        later = (now + skew).strftime(_TIMESTAMP)
        raise AuthFailure(
            "skewed",
            f"Signature not yet current: {claim.timestamp} is still later than {later} ({stamp} + {minutes} min.)",
        )
    if claim.presigned_expires is None and when < now - skew:
        earlier = (now - skew).strftime(_TIMESTAMP)
        raise AuthFailure(
            "skewed", f"Signature expired: {claim.timestamp} is now earlier than {earlier} ({stamp} - {minutes} min.)"
        )


def _payload_hash(environ: dict[str, object], body: bytes, claim: _Claim) -> str:
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
    if declared is None:
        if claim.presigned_expires is not None and claim.service == "s3":
            return "UNSIGNED-PAYLOAD"  # a presigned S3 URL signs no payload
        return hashlib.sha256(body).hexdigest()
    declared = str(declared)
    if declared in UNSIGNED or declared in STREAMING_SIGNED:
        # Streaming payloads: the seed signature covers the headers; chunk signatures are not checked.
        return declared
    if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), declared.lower()):
        raise AuthFailure("payload", "The provided 'x-amz-content-sha256' header does not match what was computed.")
    return declared


def _canonical_path(environ: dict[str, object], service: str) -> str:
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(str(environ.get("PATH_INFO", "/"))))
    path = raw.split("?", 1)[0] or "/"
    if path.startswith(("http://", "https://")):  # absolute-form request target
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    if service == "s3":
        return path  # S3 signs the path exactly as sent
    return quote(_normalize(path), safe="/~")


def _normalize(path: str) -> str:
    """Remove dot segments like botocore's normalize_url_path (RFC 3986 5.2.4)."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment not in (".", ""):
            output.append(segment)
    normalized = "/" + "/".join(output)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized


def _split_query(query: str) -> list[tuple[str, str]]:
    pairs = []
    for pair in query.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _canonical_query(query: str, drop: str | None = None) -> str:
    """Each name and value URI-encoded once (decoded first, as AWS does), sorted by name then value."""
    encoded = sorted(
        (quote(key, safe="-_.~"), quote(value, safe="-_.~")) for key, value in _split_query(query) if key != drop
    )
    return "&".join(f"{key}={value}" for key, value in encoded)


def _header(environ: dict[str, object], name: str) -> str:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return " ".join(str(value or "").split())
