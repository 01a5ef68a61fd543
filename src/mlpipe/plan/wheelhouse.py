"""Planner for the pipeline's wheelhouse in the artifact bucket: `wheelhouse/<id>/` holds the lock
and a tar of the wheels. An id is uploaded once; a new id (another mlpipe version, other code or
dependencies, another image Python) is a new upload, and the buildspec then names it.

Observing reads the lock (its digest goes into the buildspec); building a missing wheelhouse needs
the package index but makes no AWS call. The tar goes up before the lock, so a lock in the bucket
means a complete upload.
"""

from __future__ import annotations

import hashlib

from mlpipe.aws.clients import Clients
from mlpipe.buildspec import LOCK_FILE, WHEELS_FILE, WheelhouseRef
from mlpipe.config import PipelineConfig
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read

MISSING = ("NoSuchKey", "NoSuchBucket", "404", "NotFound")
PENDING_DIGEST = "0" * 64  # the digest shown while nothing is uploaded (status without a build)


def uploaded_lock(clients: Clients, ref: WheelhouseRef) -> bytes | None:
    s3 = clients.client("s3")
    found = read(
        clients,
        lambda: s3.get_object(Bucket=ref.bucket, Key=ref.key(LOCK_FILE), ExpectedBucketOwner=ref.account),
        MISSING,
    )
    return None if found is None else bytes(found["Body"].read())


def plan_wheelhouse(
    pipeline: PipelineConfig, clients: Clients, bucket: str, *, bucket_exists: bool, build: bool = True
) -> tuple[Change, WheelhouseRef]:
    """The upload (or nothing), and the reference the buildspec pins. `build=False` (status) never builds."""
    from mlpipe.supply import wheelhouse

    ident = wheelhouse.wheelhouse_id(pipeline.python_version, pipeline.install)
    ref = WheelhouseRef(bucket, clients.account_id, ident, PENDING_DIGEST)
    name = f"s3://{bucket}/{ref.prefix}/"
    lock = uploaded_lock(clients, ref) if bucket_exists else None
    if lock is not None:
        ref = WheelhouseRef(bucket, ref.account, ident, hashlib.sha256(lock).hexdigest())
        return Change("noop", "wheelhouse", name), ref
    if not build:  # status and --dry-run: no package index, no upload
        return Change("create", "wheelhouse", name, "not uploaded: bootstrap-pipeline builds and uploads it"), ref
    built = wheelhouse.build(pipeline.python_version, pipeline.install)
    ref = WheelhouseRef(bucket, ref.account, ident, built.lock_sha256)
    common = {"Bucket": bucket, "ExpectedBucketOwner": ref.account}
    steps = (
        Call("s3", "put_object", {**common, "Key": ref.key(WHEELS_FILE), "Body": built.tar_bytes()}),
        Call("s3", "put_object", {**common, "Key": ref.key(LOCK_FILE), "Body": built.lock}),
    )
    detail = f"{len(built.wheels)} wheels, {built.size / 1e6:.1f} MB, lock sha256 {built.lock_sha256[:12]}"
    return Change("create", "wheelhouse", name, detail, steps), ref
