"""SageMaker training jobs in the embedded AWS: moto marks a job Completed at once but writes no
model. This hook really trains, as the built-in XGBoost algorithm would, on the job's channels
(headerless CSV, label first) with its hyperparameters, and writes `model.tar.gz` where SageMaker
does: `<S3OutputPath>/<job name>/output/model.tar.gz`, plus log lines and final metrics.
A job that cannot train is marked Failed with the reason, as on AWS.
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

from mlpipe.local.iam.actors import role_client
from mlpipe.local.registry import Context, after

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
INTEGER_PARAMS = ("num_round", "early_stopping_rounds", "max_depth", "max_bin", "seed", "num_class")
NOT_BOOSTER_PARAMS = ("num_round", "early_stopping_rounds")


def _split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _read_channel(s3: Any, channel: dict[str, Any], instances: int, lines: list[str]) -> Any:
    """The channel's rows, read from S3 by the job itself. ShardedByS3Key gives instance i the keys
    i, i + n, ... (sorted) as SageMaker does; each instance's share is logged. The instances' shares
    are then trained on together: distributed XGBoost's all-reduce of histograms builds the same
    trees as one machine on the union, which is what this one process does."""
    import numpy as np

    source = channel["DataSource"]["S3DataSource"]
    uri = source["S3Uri"]
    bucket, prefix = _split_uri(uri)
    keys = sorted(
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    )
    sharded = source.get("S3DataDistributionType") == "ShardedByS3Key" and instances > 1
    shares = [keys[i::instances] for i in range(instances)] if sharded else [keys]
    rows = []
    for number, share in enumerate(shares, start=1):
        read = [_read_object(s3, bucket, key) for key in share]
        read = [r for r in read if r is not None]
        count = sum(len(r) for r in read)
        if sharded:
            lines.append(f"algo-{number}: channel {channel['ChannelName']}: {len(share)} object(s), {count} rows")
        rows += read
    if not rows:
        raise ValueError(f"channel {uri} holds no data")
    return np.vstack(rows)


def _read_object(s3: Any, bucket: str, key: str) -> Any:
    import numpy as np

    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if not body.strip():
        return None
    return np.genfromtxt(io.BytesIO(body), delimiter=",", ndmin=2, filling_values=np.nan)


def _typed(hyperparameters: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in hyperparameters.items():
        try:
            out[key] = int(value) if key in INTEGER_PARAMS else float(value)
        except ValueError:
            out[key] = value
    return out


def _train(s3: Any, params: dict[str, Any]) -> tuple[bytes, dict[str, float], list[str]]:
    import xgboost as xgb

    from mlpipe.model.artifact import model_bytes, package
    from mlpipe.model.training import threads_for

    instances = int(params.get("ResourceConfig", {}).get("InstanceCount", 1))
    lines: list[str] = []
    channels = {c["ChannelName"]: _read_channel(s3, c, instances, lines) for c in params["InputDataConfig"]}
    if "train" not in channels:
        raise ValueError("the built-in XGBoost algorithm needs a 'train' channel")
    hyper = _typed(params.get("HyperParameters", {}))
    rounds = int(hyper.get("num_round", 100))
    patience = hyper.get("early_stopping_rounds")
    train = channels["train"]
    booster_params = {k: v for k, v in hyper.items() if k not in NOT_BOOSTER_PARAMS}
    booster_params["nthread"] = threads_for(train.size)
    dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
    evals = [(dtrain, "train")]
    if "validation" in channels:
        valid = channels["validation"]
        evals.append((xgb.DMatrix(valid[:, 1:], label=valid[:, 0]), "validation"))
    history: dict[str, Any] = {}
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=rounds,
        evals=evals,
        early_stopping_rounds=int(patience) if patience and len(evals) > 1 else None,
        evals_result=history,
        verbose_eval=False,
    )
    best = int(getattr(booster, "best_iteration", booster.num_boosted_rounds() - 1))
    booster = booster[: best + 1]
    for i in [*range(0, best, 10), best]:
        scores = "\t".join(f"{d}-{m}:{v[i]:.5f}" for d, ms in history.items() for m, v in ms.items())
        lines.append(f"[{i}]#011{scores}")
    metrics = {f"{d}:{m}": float(v[best]) for d, ms in history.items() for m, v in ms.items()}
    return package(model_bytes(booster)), metrics, lines


def _write_logs(ctx: Context, region: str, job_name: str, lines: list[str]) -> None:
    logs = ctx.client("logs", region)
    stream = f"{job_name}/algo-1-{int(time.time())}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in lines[-200:]]
    if events:
        logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)


@after("sagemaker", "CreateTrainingJob")
def run_training_job(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    from moto.sagemaker.models import sagemaker_backends

    arn = response["TrainingJobArn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    job = sagemaker_backends[account][region].training_jobs[params["TrainingJobName"]]
    # The job reads its data and writes its model as its execution role, as SageMaker does.
    s3 = role_client(ctx, params["RoleArn"], "SageMaker", "s3", region)
    try:
        archive, metrics, lines = _train(s3, params)
        bucket, key = _split_uri(job.model_artifacts["S3ModelArtifacts"])
        s3.put_object(Bucket=bucket, Key=key, Body=archive)
    except Exception as exc:  # any failure of the algorithm is the job's failure, as on AWS
        job.training_job_status = job.secondary_status = "Failed"
        job.failure_reason = f"AlgorithmError: {exc}"  # type: ignore[attr-defined]
        _write_logs(ctx, region, params["TrainingJobName"], [f"ERROR: {exc}"])
        return
    _write_logs(ctx, region, params["TrainingJobName"], lines)
    job.final_metric_data_list = [
        {"MetricName": name, "Value": value, "Timestamp": job.creation_time} for name, value in metrics.items()
    ]
