"""SageMaker training jobs in the embedded AWS: moto marks a job Completed at once but writes no
model. This hook really trains, as the built-in algorithm of the job's image would (the framework
seam, mlpipe.model.framework), on the job's channels (headerless CSV, label first) with its
hyperparameters, and writes `model.tar.gz` where SageMaker does:
`<S3OutputPath>/<job name>/output/model.tar.gz`, plus log lines and final metrics, all as the job's
execution role.
A job that cannot train is marked Failed with the reason, as on AWS.

A job is Completed when CreateTrainingJob answers, unless MLPIPE_LOCAL_TRAINING_SECONDS (default 0)
keeps it InProgress that long (its model already written) so that a client can follow or stop it.
StopTrainingJob, which moto lacks: an InProgress job becomes Stopping, and Stopped at the next
describe; any other status is refused with AWS's ValidationException.
"""

from __future__ import annotations

import io
import logging
import os
import time
from typing import Any

from mlpipe.local.iam.actors import role_client
from mlpipe.local.registry import AwsApiError, Context, after, before, override
from mlpipe.local.role_logs import RoleLogStream

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
SESSION = "SageMaker"  # the session name SageMaker gives its execution role
log = logging.getLogger("mlpipe.local")


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


def _train(s3: Any, params: dict[str, Any]) -> tuple[bytes, dict[str, float], list[str]]:
    """The job's channels read as SageMaker hands them to the algorithm, then the algorithm of the
    framework whose image the job runs (XGBoost for an image no framework claims)."""
    from mlpipe.model.framework import for_image, get

    image = params.get("AlgorithmSpecification", {}).get("TrainingImage", "")
    framework = for_image(image) or get()
    instances = int(params.get("ResourceConfig", {}).get("InstanceCount", 1))
    lines: list[str] = []
    channels = {c["ChannelName"]: _read_channel(s3, c, instances, lines) for c in params["InputDataConfig"]}
    output = framework.train_job(channels, params.get("HyperParameters", {}))
    return output.archive, output.metrics, lines + output.lines


def _write_logs(ctx: Context, job_arn: str, role: str, lines: list[str]) -> None:
    """The job's lines into /aws/sagemaker/TrainingJobs, written as its execution role (session
    `SageMaker`), as SageMaker does: a role that may not write them loses them; the job stands."""
    _, _, _, region, account, resource = job_arn.split(":", 5)
    job_name = resource.removeprefix("training-job/")
    stream = RoleLogStream(account, region, LOG_GROUP, f"{job_name}/algo-1-{int(time.time())}", role, SESSION)
    now = int(time.time() * 1000)
    refused = stream.open(ctx) or stream.put(ctx, [{"timestamp": now, "message": line} for line in lines[-200:]])
    if refused:
        log.warning("training job %s: its log lines are lost: %s", job_name, refused)


@after("sagemaker", "CreateTrainingJob")
def run_training_job(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    from moto.sagemaker.models import sagemaker_backends

    arn = response["TrainingJobArn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    job = sagemaker_backends[account][region].training_jobs[params["TrainingJobName"]]
    # The job reads its data, writes its model and its logs as its execution role, as SageMaker does.
    role = params["RoleArn"]
    s3 = role_client(ctx, role, SESSION, "s3", region)
    try:
        archive, metrics, lines = _train(s3, params)
        bucket, key = _split_uri(job.model_artifacts["S3ModelArtifacts"])
        s3.put_object(Bucket=bucket, Key=key, Body=archive)
    except Exception as exc:  # any failure of the algorithm is the job's failure, as on AWS
        job.training_job_status = job.secondary_status = "Failed"
        job.failure_reason = f"AlgorithmError: {exc}"  # type: ignore[attr-defined]
        _write_logs(ctx, arn, role, [f"ERROR: {exc}"])
        return
    _write_logs(ctx, arn, role, lines)
    final = [{"MetricName": name, "Value": value, "Timestamp": job.creation_time} for name, value in metrics.items()]
    seconds = max(0.0, float(os.environ.get("MLPIPE_LOCAL_TRAINING_SECONDS", "0")))
    if seconds > 0:
        job.training_job_status, job.secondary_status = "InProgress", "Training"
        job.mlpipe_completes_at, job.mlpipe_final_metrics = time.time() + seconds, final  # type: ignore[attr-defined]
        return
    job.final_metric_data_list = final


def _job(ctx: Context, name: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ctx.account_id][ctx.region].training_jobs.get(name)


def _advance(job: Any) -> None:
    """Where the time since creation (or a stop) has taken the job."""
    if job.training_job_status == "Stopping":
        job.training_job_status = job.secondary_status = "Stopped"
    elif job.training_job_status == "InProgress" and time.time() >= getattr(job, "mlpipe_completes_at", 0.0):
        job.training_job_status = job.secondary_status = "Completed"
        job.final_metric_data_list = getattr(job, "mlpipe_final_metrics", job.final_metric_data_list)


@before("sagemaker", "DescribeTrainingJob")
def settle_training_job(ctx: Context, params: dict[str, Any]) -> None:
    job = _job(ctx, str(params.get("TrainingJobName", "")))
    if job is not None:
        _advance(job)


@override("sagemaker", "StopTrainingJob")
def stop_training_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    job = _job(ctx, str(params.get("TrainingJobName", "")))
    if job is None:
        raise AwsApiError("ResourceNotFound", "Requested resource not found.", 400)
    _advance(job)
    if job.training_job_status != "InProgress":
        status = job.training_job_status
        raise AwsApiError(
            "ValidationException", f"The request was rejected because the training job is in status {status}.", 400
        )
    job.training_job_status = job.secondary_status = "Stopping"
    return {}
