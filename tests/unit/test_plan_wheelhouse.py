"""plan/wheelhouse.py's decisions from a hand-written snapshot (the uploaded lock), without a server
or the package index. No refuse-unowned case: the wheelhouse lives in the artifact bucket, whose
ownership plan/s3.py checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlpipe.build.buildspec import LOCK_FILE, WheelhouseRef
from mlpipe.plan.wheelhouse import PENDING_DIGEST, diff
from mlpipe.supply.wheelhouse import Wheelhouse

REF = WheelhouseRef("house-artifacts", "123456789012", "1.0-abc", PENDING_DIGEST)
LOCK = b"numpy==2.0 --hash=sha256:00\n"


def never() -> Wheelhouse:
    raise AssertionError("an uploaded wheelhouse is never built again")


def test_an_uploaded_wheelhouse_is_a_noop_pinned_to_its_lock() -> None:
    change, ref = diff(REF, LOCK, never)
    assert (change.action, change.name) == ("noop", "s3://house-artifacts/wheelhouse/1.0-abc/")
    assert ref.lock_sha256 == hashlib.sha256(LOCK).hexdigest()


def test_status_never_builds_and_keeps_the_pending_digest() -> None:
    change, ref = diff(REF, None, None)
    assert (change.action, change.steps, ref.lock_sha256) == ("create", (), PENDING_DIGEST)


def test_a_missing_wheelhouse_is_built_and_uploaded_tar_before_lock(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_bytes(LOCK)
    (tmp_path / "numpy-2.0-py3-none-any.whl").write_bytes(b"wheel")
    change, ref = diff(REF, None, lambda: Wheelhouse("1.0-abc", tmp_path))
    keys = [c.params["Key"] for c in change.calls]
    assert (change.action, keys) == ("create", [ref.key("wheels.tar"), ref.key(LOCK_FILE)])
    assert change.calls[1].params["Body"] == LOCK and ref.lock_sha256 == hashlib.sha256(LOCK).hexdigest()
    assert all(c.params["ExpectedBucketOwner"] == "123456789012" for c in change.calls)
