"""Planner for an S3 bucket mlpipe owns: versioned, encrypted, public access blocked, TLS only, old
data expired, tagged at creation.

Used for the pipeline's artifact bucket and for the model bucket (`train`). Bucket names are global:
every call names the expected owner (the client factory adds ExpectedBucketOwner), and a bucket
without mlpipe's tags is someone else's, never adopted. CreateBucket carries the tags itself, so no
interrupted run can leave an untagged bucket of ours behind.

`observe` / `observe_for_deletion` do every read and return a plain snapshot; `diff` and
`diff_deletion` decide from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipe.aws.calls import iterate, read
from mlpipe.aws.clients import Clients
from mlpipe.errors import AwsError, ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.common import normalized, require_owned, tag_dict, tag_list
from mlpipe.plan.model import Call, Change
from mlpipe.policies.resource_policies import tls_only_bucket_policy

LIFECYCLE_RULE_ID = "mlpipe-expire-old"
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
MISSING = ("NoSuchBucket", "404", "NotFound")


@dataclass(frozen=True)
class BucketSpec:
    name: str
    noncurrent_days: int = 30  # old versions of an object are deleted after this many days
    expire_days: int | None = None  # current objects too (pipeline artifacts); None keeps them


def lifecycle(spec: BucketSpec) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": spec.noncurrent_days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    if spec.expire_days is not None:
        rule["Expiration"] = {"Days": spec.expire_days}
    return {"Rules": [rule]}


def _read(clients: Clients, operation: str, key: str, absent: tuple[str, ...], **params: Any) -> Any:
    found = read(clients, getattr(clients.client("s3"), operation), missing=absent, **params)
    return None if found is None else found.get(key)


def bucket_exists(clients: Clients, name: str) -> bool:
    try:
        return read(clients, clients.client("s3").head_bucket, Bucket=name, missing=MISSING) is not None
    except AwsError as exc:
        if exc.code in ("403", "AccessDenied"):  # bucket names are global: another account has it
            raise ForeignResourceError(
                f"S3 bucket '{name}' belongs to another AWS account", hint="change app or stage in mlpipe.yaml"
            ) from None
        raise


def bucket_tags(clients: Clients, name: str) -> dict[str, str]:
    return tag_dict(_read(clients, "get_bucket_tagging", "TagSet", ("NoSuchTagSet",), Bucket=name))


def _settings(spec: BucketSpec, names: Names) -> list[tuple[str, Call]]:
    """(what, call) for every property the bucket must have, in the order to apply them."""
    b = spec.name
    return [
        (
            "public access block",
            Call("s3", "put_public_access_block", {"Bucket": b, "PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCK}),
        ),
        ("policy", Call("s3", "put_bucket_policy", {"Bucket": b, "Policy": json.dumps(bucket_policy(spec, names))})),
        (
            "encryption",
            Call("s3", "put_bucket_encryption", {"Bucket": b, "ServerSideEncryptionConfiguration": ENCRYPTION}),
        ),
        (
            "versioning",
            Call("s3", "put_bucket_versioning", {"Bucket": b, "VersioningConfiguration": {"Status": "Enabled"}}),
        ),
        (
            "lifecycle",
            Call("s3", "put_bucket_lifecycle_configuration", {"Bucket": b, "LifecycleConfiguration": lifecycle(spec)}),
        ),
    ]


def _current(clients: Clients, spec: BucketSpec) -> dict[str, Any]:
    b = spec.name
    rules = _read(clients, "get_bucket_lifecycle_configuration", "Rules", ("NoSuchLifecycleConfiguration",), Bucket=b)
    encryption = _read(
        clients,
        "get_bucket_encryption",
        "ServerSideEncryptionConfiguration",
        ("ServerSideEncryptionConfigurationNotFoundError",),
        Bucket=b,
    )
    policy = _read(clients, "get_bucket_policy", "Policy", ("NoSuchBucketPolicy",), Bucket=b)
    return {
        "policy": normalized(policy) if policy else None,
        "public access block": _read(
            clients,
            "get_public_access_block",
            "PublicAccessBlockConfiguration",
            ("NoSuchPublicAccessBlockConfiguration",),
            Bucket=b,
        ),
        "encryption": [r.get("ApplyServerSideEncryptionByDefault") for r in (encryption or {}).get("Rules", [])],
        "versioning": _read(clients, "get_bucket_versioning", "Status", (), Bucket=b),
        "lifecycle": [{k: v for k, v in r.items() if k in lifecycle(spec)["Rules"][0]} for r in rules or []],
    }


def bucket_policy(spec: BucketSpec, names: Names) -> dict[str, Any]:
    return dict(tls_only_bucket_policy(names, spec.name))


@dataclass(frozen=True)
class Bucket:
    """What S3 reports about a bucket of this account: its tags, and (when read) its settings in the
    form `_current` gives them and every object version (for deletion)."""

    tags: Mapping[str, str]
    settings: Mapping[str, Any] = field(default_factory=dict)
    object_versions: tuple[Mapping[str, str], ...] = ()


def observe(clients: Clients, spec: BucketSpec) -> Bucket | None:
    """None when absent; ForeignResourceError when another account has the name."""
    if not bucket_exists(clients, spec.name):
        return None
    return Bucket(bucket_tags(clients, spec.name), _current(clients, spec))


def observe_for_deletion(clients: Clients, name: str) -> Bucket | None:
    if not bucket_exists(clients, name):
        return None
    return Bucket(bucket_tags(clients, name), object_versions=tuple(_object_versions(clients, name)))


def diff(spec: BucketSpec, observed: Bucket | None, names: Names, region: str) -> Change:
    settings = _settings(spec, names)
    if observed is None:
        configuration: dict[str, Any] = {"Tags": tag_list(names.tags)}  # tagged in the same call
        if region != "us-east-1":  # us-east-1 rejects an explicit location constraint
            configuration["LocationConstraint"] = region
        create = {"Bucket": spec.name, "CreateBucketConfiguration": configuration}
        steps = (Call("s3", "create_bucket", create), *(call for _, call in settings))
        return Change("create", "s3-bucket", spec.name, "versioned, encrypted, private, TLS only", steps)
    # Whatever its contents, a bucket without our tags was not created by mlpipe (ours are tagged
    # by CreateBucket itself): refused, never adopted.
    require_owned(names, "S3 bucket", spec.name, observed.tags)
    current = observed.settings
    desired = {
        "policy": normalized(bucket_policy(spec, names)),
        "public access block": PUBLIC_ACCESS_BLOCK,
        "encryption": [r["ApplyServerSideEncryptionByDefault"] for r in ENCRYPTION["Rules"]],
        "versioning": "Enabled",
        "lifecycle": lifecycle(spec)["Rules"],
    }
    differ = [what for what in desired if normalized(current.get(what)) != normalized(desired[what])]
    steps = tuple(call for what, call in settings if what in differ)
    if not steps:
        return Change("noop", "s3-bucket", spec.name)
    return Change("update", "s3-bucket", spec.name, ", ".join(differ) + " changed", steps)


def plan_bucket(spec: BucketSpec, clients: Clients, names: Names) -> Change:
    return diff(spec, observe(clients, spec), names, clients.region)


def _object_versions(clients: Clients, name: str) -> list[dict[str, str]]:
    paginator = clients.client("s3").get_paginator("list_object_versions")
    objects = []
    for page in iterate(clients, paginator.paginate(Bucket=name)):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            objects.append({"Key": item["Key"], "VersionId": item["VersionId"]})
    return objects


def diff_deletion(name: str, observed: Bucket | None, names: Names, force: bool = False) -> Change:
    """Delete the bucket when it is empty, or with `force` after deleting every object version."""
    if observed is None:
        return Change("noop", "s3-bucket", name, "absent")
    require_owned(names, "S3 bucket", name, observed.tags)
    objects = [dict(o) for o in observed.object_versions]
    if objects and not force:
        return Change(
            "noop", "s3-bucket", name, f"kept: it holds {len(objects)} object version(s); --force deletes them"
        )
    steps = [
        Call("s3", "delete_objects", {"Bucket": name, "Delete": {"Objects": objects[i : i + 1000], "Quiet": True}})
        for i in range(0, len(objects), 1000)
    ]
    steps.append(Call("s3", "delete_bucket", {"Bucket": name}, ok_on=MISSING))
    detail = f"and its {len(objects)} object version(s)" if objects else "empty"
    return Change("delete", "s3-bucket", name, detail, tuple(steps))


def plan_bucket_deletion(name: str, clients: Clients, names: Names, force: bool = False) -> Change:
    return diff_deletion(name, observe_for_deletion(clients, name), names, force)
