"""`train --remote --data s3://bucket/prefix/` on the embedded AWS: the training job reads the prefix
itself, sharded by key across 2 instances; this process only lists the keys and reads one sample."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import UsageError
from mlpipe.ops.train import TrainRequest, train
from mlpipe.reporter import ListReporter

DATA = "s3://raw-data/house/"
# model.data names the prefix: the stage's permissions boundary lets the SageMaker role read it.
CONFIG = Config.model_validate(
    {"app": "house", "training": {"instance_count": 2}, "model": {"num_round": 20, "data": DATA}}
)


def put_objects(clients: Clients, count: int = 3, rows: int = 2500, header: bool = False) -> int:
    """Headerless CSV, label first (the built-in algorithm's format); returns the bytes stored."""
    s3 = clients.client("s3")
    s3.create_bucket(Bucket="raw-data")
    rng = np.random.default_rng(1)
    stored = 0
    for part in range(count):
        x = rng.normal(size=(rows, 5)).round(5)
        y = (2 * x[:, 0] - x[:, 1] + rng.normal(scale=0.1, size=rows)).round(5)
        lines = [("y,a,b,c,d,e" if header and part == 0 else None)]
        lines += [",".join(map(repr, [float(t), *map(float, row)])) for t, row in zip(y, x, strict=True)]
        body = ("\n".join(line for line in lines if line) + "\n").encode()
        s3.put_object(Bucket="raw-data", Key=f"house/part-{part:03d}.csv", Body=body)
        stored += len(body)
    return stored


def watch_s3(clients: Clients) -> list[dict[str, Any]]:
    """Every S3 call this process (the CLI) makes, with the bytes each GetObject returned."""
    calls: list[dict[str, Any]] = []

    def record(http_response: Any, parsed: Any, model: Any, params: Any = None, **_: Any) -> None:
        size = int((parsed or {}).get("ContentLength") or 0) if model.name == "GetObject" else 0
        calls.append({"op": model.name, "bytes": size})

    def before(params: Any, model: Any, **_: Any) -> None:
        calls.append({"op": f"request:{model.name}", "params": {k: params.get(k) for k in ("Bucket", "Key", "Range")}})

    events = clients.client("s3").meta.events
    events.register("after-call.s3", record)
    events.register("provide-client-params.s3", before)
    return calls


def test_the_job_reads_the_prefix_itself_sharded_across_two_instances(clients: Clients) -> None:
    stored = put_objects(clients)
    assert stored > 3 * 64 * 1024
    calls = watch_s3(clients)
    reporter = ListReporter()

    result = train(CONFIG, clients, reporter, TrainRequest(data=DATA, remote=True))

    job = clients.client("sagemaker").describe_training_job(TrainingJobName=result.training_job)
    [channel] = job["InputDataConfig"]
    source = channel["DataSource"]["S3DataSource"]
    assert (source["S3Uri"], source["S3DataDistributionType"]) == (DATA, "ShardedByS3Key")
    assert job["ResourceConfig"]["InstanceCount"] == 2
    steps = "\n".join(reporter.messages("step"))
    assert "algo-1: channel train: 2 object(s), 5000 rows" in steps
    assert "algo-2: channel train: 1 object(s), 2500 rows" in steps
    assert result.endpoint_status == "InService" and result.feature_names == ["1", "2", "3", "4", "5"]
    # The CLI read one sample (a ranged GET of the first object) and no data object whole; it
    # uploaded no training data (only the model's metadata).
    data_reads = [c["params"] for c in calls if c["op"] == "request:GetObject" and c["params"]["Bucket"] == "raw-data"]
    assert data_reads == [{"Bucket": "raw-data", "Key": "house/part-000.csv", "Range": "bytes=0-65535"}]
    received = sum(c["bytes"] for c in calls if c["op"] == "GetObject")
    assert received <= 64 * 1024 + 4096  # the sample, and models/current.json's few bytes
    uploads = [c["params"]["Key"] for c in calls if c["op"] == "request:PutObject"]
    assert all("/train/" not in key and "/validation/" not in key for key in uploads), uploads


@pytest.mark.parametrize(
    ("setup", "request_", "message"),
    [
        ({"header": True}, {"remote": True}, r"part-000\.csv:1: a header row \(y,a,b,\.\.\.\)"),
        ({}, {"remote": False}, r"S3 data is read by a SageMaker training job"),
        ({"count": 1}, {"remote": True}, r"1 object\(s\), fewer than training.instance_count \(2\)"),
        ({}, {"remote": True, "target": "y"}, r"--target y: with --data s3://... the label is the first column"),
    ],
    ids=["header", "not remote", "too few objects", "target"],
)
def test_s3_data_is_checked_before_anything_is_created(
    clients: Clients, setup: dict[str, Any], request_: dict[str, Any], message: str
) -> None:
    put_objects(clients, **setup)
    with pytest.raises(UsageError, match=message):
        train(CONFIG, clients, ListReporter(), TrainRequest(data=DATA, **request_))
    assert clients.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []


def test_s3_data_outside_model_data_is_refused_before_anything_is_created(clients: Clients) -> None:
    """The SageMaker role's permissions boundary allows the prefix model.data names, and only that."""
    put_objects(clients)
    elsewhere = Config.model_validate({"app": "house", "training": {"instance_count": 2}})
    for config, data in ((elsewhere, DATA), (CONFIG, "s3://raw-data/other/")):
        with pytest.raises(UsageError, match=r"SageMaker may read only the S3 data that model.data names") as caught:
            train(config, clients, ListReporter(), TrainRequest(data=data, remote=True))
        assert caught.value.hint and f"model.data: {data}" in caught.value.hint
    assert clients.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
    assert clients.client("iam").list_roles()["Roles"] == []
