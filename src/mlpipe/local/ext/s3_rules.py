"""S3 bucket-name rules of real AWS on CreateBucket (moto only checks the length).

S3 speaks REST-XML, which the middleware passes to moto untouched, so the rule is applied where
moto creates the bucket: its backend's create_bucket is wrapped once, and raises moto's own
InvalidBucketName, which moto renders as S3 does (400, <Code>InvalidBucketName</Code>).
"""

from __future__ import annotations

from typing import Any

from mlpipe.aws_rules import bucket_name_problem
from mlpipe.local.registry import Context, on_startup


@on_startup
def enforce_bucket_names(ctx: Context | None = None) -> None:
    from moto.s3.exceptions import InvalidBucketName
    from moto.s3.models import S3Backend

    original = S3Backend.create_bucket
    if getattr(original, "_mlpipe_rules", False):
        return

    def create_bucket(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        if bucket_name_problem(bucket_name) is not None:
            raise InvalidBucketName()
        return original(self, bucket_name, *args, **kwargs)

    create_bucket._mlpipe_rules = True  # type: ignore[attr-defined]
    S3Backend.create_bucket = create_bucket  # type: ignore[method-assign]
