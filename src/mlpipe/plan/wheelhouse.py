"""Planner for the pipeline's wheelhouse in the artifact bucket: `wheelhouse/<id>/` holds the lock
and a tar of the wheels. An id is uploaded once; a new id (another mlpipe version, other code or
dependencies, another image Python) is a new upload, and the buildspec then names it.

Observing reads the lock (its digest goes into the buildspec); building a missing wheelhouse needs
the package index but makes no AWS call. The tar goes up before the lock, so a lock in the bucket
means a complete upload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlpipe.aws.clients import Clients
from mlpipe.build.buildspec import LOCK_FILE, WHEELS_FILE, WheelhouseRef
from mlpipe.config import PipelineConfig
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read

if TYPE_CHECKING:  # supply.wheelhouse is imported lazily: it pulls in the build machinery
    from mlpipe.supply.wheelhouse import Wheelhouse

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


def observe(clients: Clients, ref: WheelhouseRef) -> bytes | None:
    """The lock of the uploaded wheelhouse `ref.ident` (its snapshot: a lock means a complete upload)."""
    return uploaded_lock(clients, ref)


def diff(
    ref: WheelhouseRef, observed_lock: bytes | None, build: Callable[[], Wheelhouse] | None
) -> tuple[Change, WheelhouseRef]:
    """The upload (or nothing), and the reference the buildspec pins. `ref` carries the pending
    digest; `build` makes the wheelhouse locally (package index, no AWS call), None: never build."""
    name = f"s3://{ref.bucket}/{ref.prefix}/"
    if observed_lock is not None:
        ref = WheelhouseRef(ref.bucket, ref.account, ref.ident, hashlib.sha256(observed_lock).hexdigest())
        return Change("noop", "wheelhouse", name), ref
    if build is None:  # status and --dry-run: no package index, no upload
        return Change("create", "wheelhouse", name, "not uploaded: bootstrap-pipeline builds and uploads it"), ref
    built = build()
    ref = WheelhouseRef(ref.bucket, ref.account, ref.ident, built.lock_sha256)
    common = {"Bucket": ref.bucket, "ExpectedBucketOwner": ref.account}
    steps = (
        Call("s3", "put_object", {**common, "Key": ref.key(WHEELS_FILE), "Body": built.tar_bytes()}),
        Call("s3", "put_object", {**common, "Key": ref.key(LOCK_FILE), "Body": built.lock}),
    )
    detail = f"{len(built.wheels)} wheels, {built.size / 1e6:.1f} MB, lock sha256 {built.lock_sha256[:12]}"
    return Change("create", "wheelhouse", name, detail, steps), ref


def plan_wheelhouse(
    pipeline: PipelineConfig, clients: Clients, bucket: str, *, bucket_exists: bool, build: bool = True
) -> tuple[Change, WheelhouseRef]:
    """The upload (or nothing), and the reference the buildspec pins. `build=False` (status) never builds."""
    from mlpipe.supply import wheelhouse

    ident = wheelhouse.wheelhouse_id(pipeline.python_version, pipeline.install)
    ref = WheelhouseRef(bucket, clients.account_id, ident, PENDING_DIGEST)
    lock = observe(clients, ref) if bucket_exists else None
    builder = (lambda: wheelhouse.build(pipeline.python_version, pipeline.install)) if build else None
    return diff(ref, lock, builder)
