"""`train --remote --data s3://bucket/prefix/`: data that never comes to this machine.

The objects under the prefix go to the SageMaker training job as they are: its `train` channel is
the prefix, ShardedByS3Key across `training.instance_count` instances (SageMaker's distributed
XGBoost is the engine for data that outgrows one machine), FullyReplicated with one instance.
This process lists the keys (metadata only) and reads one sample, a ranged GET of the first
object's first SAMPLE_BYTES, to check what the built-in algorithm needs: headerless CSV, the label
in the first column, numbers only. No object is downloaded whole and nothing is uploaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.errors import UsageError

SAMPLE_BYTES = 64 * 1024
ALGORITHM_FORMAT = "SageMaker's built-in XGBoost reads headerless CSV with the label in the first column"


@dataclass(frozen=True)
class S3Data:
    uri: str
    bucket: str
    prefix: str
    keys: tuple[str, ...]
    total_bytes: int
    feature_count: int
    digest: str  # sha256 of the keys, sizes and ETags: a new upload is a new dataset

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Columns by position, as the algorithm numbers them: the label is column 0."""
        return tuple(str(i) for i in range(1, self.feature_count + 1))


def is_s3(source: str | None) -> bool:
    return bool(source) and str(source).startswith("s3://")


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise UsageError(f"--data {uri}: no bucket", hint="e.g. --data s3://my-bucket/training-data/")
    return bucket, prefix


def _objects(clients: Clients, uri: str, bucket: str, prefix: str) -> list[dict[str, Any]]:
    from mlpipe.aws.calls import iterate

    found: list[dict[str, Any]] = []
    pages = clients.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in iterate(clients, pages):
        found += [o for o in page.get("Contents", []) if o["Size"] > 0 and not o["Key"].endswith("/")]
    return sorted(found, key=lambda o: o["Key"])


def inspect(clients: Clients, uri: str, target: str | None, instance_count: int, objective: str) -> S3Data:
    """List the prefix and check a sample of its first object; raises before anything is created."""
    if target not in (None, "0"):
        raise UsageError(
            f"--target {target}: with --data s3://... the label is the first column ({ALGORITHM_FORMAT})",
            hint="drop --target",
        )
    if objective == "multi:softprob":
        raise UsageError(
            "--objective multi:softprob with --data s3://...: the number of classes would need the whole data",
            hint="train multiclass from a local file, or use binary:logistic / reg:squarederror",
        )
    bucket, prefix = split_uri(uri)
    objects = _objects(clients, uri, bucket, prefix)
    if not objects:
        raise UsageError(f"--data {uri}: no objects under this prefix", hint="check the bucket and the prefix")
    if len(objects) < instance_count:
        raise UsageError(
            f"--data {uri}: {len(objects)} object(s), fewer than training.instance_count ({instance_count}): "
            "ShardedByS3Key would leave an instance without data",
            hint=f"split the data into at least {instance_count} objects, or lower training.instance_count",
        )
    first = objects[0]["Key"]
    body = clients.client("s3").get_object(Bucket=bucket, Key=first, Range=f"bytes=0-{SAMPLE_BYTES - 1}")["Body"]
    width = check_sample(f"s3://{bucket}/{first}", body.read(), objects[0]["Size"] <= SAMPLE_BYTES, objective)
    listing = "\n".join(f"{o['Key']} {o['Size']} {o.get('ETag', '')}" for o in objects)
    return S3Data(
        uri=uri,
        bucket=bucket,
        prefix=prefix,
        keys=tuple(o["Key"] for o in objects),
        total_bytes=sum(int(o["Size"]) for o in objects),
        feature_count=width - 1,
        digest=hashlib.sha256(listing.encode()).hexdigest(),
    )


def check_sample(where: str, sample: bytes, whole: bool, objective: str) -> int:
    """The sample's width (label + features); an error naming the object, line and fix otherwise."""
    from mlpipe.contract import rules_module
    from mlpipe.tabular import Dialect, looks_like_header

    text = sample.decode("utf-8", errors="replace")
    if not whole:
        text = text[: text.rfind("\n") + 1]  # the last line of a ranged read may be cut
    module = rules_module()
    rules = module.Rules()
    rows = module.csv_lines(text)
    if not rows:
        raise UsageError(f"{where}: no complete line in its first {SAMPLE_BYTES // 1024} KB", hint=ALGORITHM_FORMAT)
    if looks_like_header(rows[0], rules, Dialect(","), rows[1] if len(rows) > 1 else None):
        raise UsageError(f"{where}:1: a header row ({','.join(rows[0][:3])},...): {ALGORITHM_FORMAT}", hint="remove it")
    widths = {len(r) for r in rows}
    if len(widths) > 1 or min(widths) < 2:
        raise UsageError(f"{where}: rows of {sorted(widths)} fields (comma-delimited): {ALGORITHM_FORMAT}")
    for line, row in enumerate(rows, start=1):
        for column, cell in enumerate(row):
            try:
                value = module.number(cell, rules)
            except ValueError as exc:
                raise UsageError(f"{where}:{line}: column {column + 1} {exc}", hint=ALGORITHM_FORMAT) from None
            if column == 0 and (value is None or (objective == "binary:logistic" and value not in (0.0, 1.0))):
                need = "0 or 1 for binary:logistic" if value is not None else "a label"
                raise UsageError(f"{where}:{line}: the label (column 1) is {cell!r}; it must be {need}")
    return widths.pop()


def prepare_s3(clients: Clients, settings: Any, uri: str, target: str | None, remote: bool, shards: int) -> Any:
    """(S3Data, Prepared): what `train` needs to know of S3 data, from a listing and a sample only."""
    import numpy as np

    from mlpipe.model.data import Dataset
    from mlpipe.ops.train_data import Prepared

    if not remote:
        raise UsageError(f"--data {uri}: S3 data is read by a SageMaker training job", hint="add --remote")
    data = inspect(clients, uri, target, shards, settings.objective)
    empty = np.empty((0, data.feature_count), dtype=np.float32)
    dataset = Dataset(empty, np.empty(0), data.feature_names, "0", uri, data.digest)
    labels = ("0", "1") if settings.objective == "binary:logistic" else ()
    note = (
        f"{uri}: {len(data.keys)} object(s), {data.total_bytes / 2**20:,.1f} MB, read by the training job "
        f"({'ShardedByS3Key across ' + str(shards) + ' instances' if shards > 1 else 'one instance'}); "
        "no validation channel: early stopping is off and metrics are the training data's"
    )
    return data, Prepared(dataset, settings, labels, (note,))
