"""plan/s3.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.model import Change
from mlpipe.plan.s3 import (
    ENCRYPTION,
    PUBLIC_ACCESS_BLOCK,
    Bucket,
    BucketSpec,
    bucket_policy,
    diff,
    diff_deletion,
    lifecycle,
)

NAMES = Names(app="house", stage="dev", region="eu-west-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
SPEC = BucketSpec("house-dev-models-123456789012-eu-west-1")
SETTINGS: dict[str, Any] = {
    "policy": bucket_policy(SPEC, NAMES),
    "public access block": PUBLIC_ACCESS_BLOCK,
    "encryption": [r["ApplyServerSideEncryptionByDefault"] for r in ENCRYPTION["Rules"]],
    "versioning": "Enabled",
    "lifecycle": lifecycle(SPEC)["Rules"],
}


def operations(change: Change) -> list[str]:
    return [c.operation for c in change.calls]


@pytest.mark.parametrize(
    ("region", "constraint"), [("eu-west-1", {"LocationConstraint": "eu-west-1"}), ("us-east-1", {})]
)
def test_a_missing_bucket_is_created_tagged_then_configured(region: str, constraint: dict[str, str]) -> None:
    change = diff(SPEC, None, NAMES, region)
    assert change.action == "create"
    assert operations(change) == [
        "create_bucket", "put_public_access_block", "put_bucket_policy", "put_bucket_encryption",
        "put_bucket_versioning", "put_bucket_lifecycle_configuration",
    ]  # fmt: skip
    configuration = change.calls[0].params["CreateBucketConfiguration"]
    assert configuration == {
        "Tags": [{"Key": "mlpipe:app", "Value": "house"}, {"Key": "mlpipe:stage", "Value": "dev"}],
        **constraint,
    }


def test_a_configured_bucket_is_a_noop() -> None:
    assert diff(SPEC, Bucket(OURS, SETTINGS), NAMES, "eu-west-1") == Change("noop", "s3-bucket", SPEC.name)


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        ({"versioning": "Suspended"}, ["put_bucket_versioning"]),
        ({"policy": None, "public access block": None}, ["put_public_access_block", "put_bucket_policy"]),
        ({"lifecycle": []}, ["put_bucket_lifecycle_configuration"]),
    ],
)
def test_only_drifted_settings_are_put_again(drift: dict[str, Any], expected: list[str]) -> None:
    change = diff(SPEC, Bucket(OURS, {**SETTINGS, **drift}), NAMES, "eu-west-1")
    assert (change.action, operations(change)) == ("update", expected)
    assert change.detail == ", ".join(drift) + " changed"


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "house", "mlpipe:stage": "prod"}])
def test_an_unowned_bucket_is_refused_never_adopted(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="S3 bucket"):
        diff(SPEC, Bucket(tags, SETTINGS), NAMES, "eu-west-1")
    with pytest.raises(ForeignResourceError):
        diff_deletion(SPEC.name, Bucket(tags), NAMES, force=True)


def test_deletion_keeps_a_bucket_with_objects_unless_forced() -> None:
    versions = tuple({"Key": f"k{i}", "VersionId": "v"} for i in range(1001))
    assert diff_deletion(SPEC.name, None, NAMES).detail == "absent"
    assert operations(diff_deletion(SPEC.name, Bucket(OURS), NAMES)) == ["delete_bucket"]
    kept = diff_deletion(SPEC.name, Bucket(OURS, object_versions=versions), NAMES)
    assert (kept.action, kept.detail) == ("noop", "kept: it holds 1001 object version(s); --force deletes them")
    forced = diff_deletion(SPEC.name, Bucket(OURS, object_versions=versions), NAMES, force=True)
    assert operations(forced) == ["delete_objects", "delete_objects", "delete_bucket"]  # at most 1000 per call
    assert len(forced.calls[1].params["Delete"]["Objects"]) == 1
