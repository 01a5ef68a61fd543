"""S3 bucket ownership as AWS enforces it, which moto does not (moto 5.2.5 ignores both):

- `x-amz-expected-bucket-owner` (ExpectedBucketOwner): a request naming another account than the
  bucket's owner is refused with 403 AccessDenied, before anything is read or written.
- CreateBucket's `CreateBucketConfiguration/Tags` (tags at creation, general purpose buckets): the
  bucket is created with those tags, in the same call.

- Bucket policy conditions on `aws:SecureTransport`: moto checks a bucket's policy on object requests
  without any request context, so a TLS-only Deny (`aws:SecureTransport` false) denied everything.
  Requests to the loopback server count as TLS, as in the IAM authorizer (local/iam/authorizer.py).

S3 speaks REST-XML, which the middleware passes to moto untouched, so these are applied inside moto's
S3 handling: its bucket and key handlers and the bucket's permission check are wrapped at start-up.
"""

from __future__ import annotations

from typing import Any

from mlpipe.local.registry import Context, on_startup

OWNER_HEADER = "x-amz-expected-bucket-owner"


def _owner_checked(original: Any) -> Any:
    def handler(self: Any, request: Any, full_url: str) -> Any:
        from moto.s3.exceptions import AccessDeniedByLock, MissingBucket

        expected = request.headers.get(OWNER_HEADER)
        if expected:
            bucket_name = self.parse_bucket_name_from_url(request, full_url)
            try:
                owner = self.backend.get_bucket(bucket_name).account_id if bucket_name else None
            except (MissingBucket, AccessDeniedByLock):
                owner = None  # absent: the operation answers for itself (NoSuchBucket, or creates it)
            if owner is not None and owner != expected:
                raise AccessDeniedByLock()  # moto's 403 AccessDenied "Access Denied", as S3 answers
        return original(self, request, full_url)

    handler._mlpipe_owner = True  # type: ignore[attr-defined]
    return handler


def _tagged_at_creation(original: Any) -> Any:
    def handler(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        response = original(self, request, bucket_name, querystring)
        if not querystring and self.body:  # CreateBucket (a PUT on the bucket without a sub-resource)
            import xmltodict

            configuration = xmltodict.parse(self.body).get("CreateBucketConfiguration") or {}
            tags = (configuration.get("Tags") or {}).get("Tag") or []
            tags = [tags] if isinstance(tags, dict) else tags
            if tags:
                self.backend.put_bucket_tagging(bucket_name, {t["Key"]: t.get("Value") or "" for t in tags})
        return response

    handler._mlpipe_owner = True  # type: ignore[attr-defined]
    return handler


def _over_tls(original: Any) -> Any:
    def get_permission(self: Any, action: str, resource: str) -> Any:
        """moto's answer (DENIED / PERMITTED / NEUTRAL), from the IAM evaluator that reads conditions."""
        import json

        from moto.iam.access_control import PermissionResult

        from mlpipe.local.iam.evaluator import evaluate

        if self.policy is None:
            return PermissionResult.NEUTRAL
        decision = evaluate(
            action,
            resource,
            identity_policies=[],
            resource_policy=json.loads(self.policy),
            context={"aws:SecureTransport": "true"},
        )
        if decision.allowed:
            return PermissionResult.PERMITTED
        return PermissionResult.DENIED if "explicit deny" in decision.reason else PermissionResult.NEUTRAL

    get_permission._mlpipe_owner = True  # type: ignore[attr-defined]
    return get_permission


@on_startup
def enforce_bucket_ownership(ctx: Context | None = None) -> None:
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    if getattr(S3Response._bucket_response, "_mlpipe_owner", False):
        return
    FakeBucket.get_permission = _over_tls(FakeBucket.get_permission)  # type: ignore[method-assign]
    S3Response._bucket_response = _owner_checked(S3Response._bucket_response)  # type: ignore[method-assign]
    S3Response._key_response = _owner_checked(S3Response._key_response)  # type: ignore[method-assign]
    S3Response._bucket_response_put = _tagged_at_creation(S3Response._bucket_response_put)  # type: ignore[method-assign]
