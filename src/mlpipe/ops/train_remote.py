"""`mlpipe train --remote`: the training data as SageMaker's built-in XGBoost wants it (headerless
CSV, label first, one file per instance when sharded), the training job, and following it to the
end with its status and logs.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

from mlpipe import interrupts
from mlpipe.aws.calls import call, read
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import AwsError, Interrupted, ModelError
from mlpipe.model.data import Dataset
from mlpipe.model.training import TrainSettings, holdout_split
from mlpipe.names import Names
from mlpipe.ops.train_endpoint import Clock, Sleep
from mlpipe.ops.train_s3 import S3Data
from mlpipe.plan.apply import apply_plan
from mlpipe.plan.model import Change, Plan
from mlpipe.plan.sagemaker import NOT_FOUND, JobSpec, channel, job_change, output_path, upload_change
from mlpipe.policies.sagemaker_role import TRAINING_PREFIX
from mlpipe.reporter import Reporter
from mlpipe.waiting import Poll

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def csv_label_first(features: Any, labels: Any) -> bytes:
    """Headerless CSV, label in the first column; missing values as empty fields; full precision."""
    out = io.StringIO()
    for label, row in zip(labels, features, strict=True):
        cells = [format(float(label), ".17g")] + ["" if v != v else format(float(v), ".17g") for v in row]
        out.write(",".join(cells) + "\n")
    return out.getvalue().encode()


@dataclass(frozen=True)
class JobPlan:
    job_name: str
    changes: tuple[Change, ...]
    output_path: str


@dataclass(frozen=True)
class JobTarget:
    """What every training job of a run shares: the version, the algorithm image, the role."""

    version: str
    image_uri: str
    role_arn: str
    role_is_new: bool = False

    def spec(self, hyperparameters: dict[str, str], channels: list[dict[str, Any]]) -> JobSpec:
        return JobSpec(self.version, self.image_uri, self.role_arn, hyperparameters, tuple(channels), self.role_is_new)


def plan_job(config: Config, names: Names, dataset: Dataset, settings: TrainSettings, target: JobTarget) -> JobPlan:
    """The data, split as local training splits it, uploaded as the algorithm reads it; then the job."""
    bucket = names.model_bucket
    base = f"{TRAINING_PREFIX}/{target.version}"
    shards = config.training.instance_count
    train_idx, valid_idx = holdout_split(dataset.rows, settings.test_size, settings.seed)
    changes = []
    # One file per instance: ShardedByS3Key gives each instance its own share of the objects.
    for i in range(shards):
        part = train_idx[i::shards]
        body = csv_label_first(dataset.features[part], dataset.target[part])
        detail = f"{len(part)} training rows" + (f", shard {i + 1}/{shards}" if shards > 1 else "")
        changes.append(upload_change(names, f"{base}/train/part-{i:05d}.csv", body, "text/csv", detail))
    valid = csv_label_first(dataset.features[valid_idx], dataset.target[valid_idx])
    changes.append(
        upload_change(names, f"{base}/validation/part-00000.csv", valid, "text/csv", f"{len(valid_idx)} rows")
    )
    channels = [
        channel(f"s3://{bucket}/{base}/train/", "train", "ShardedByS3Key" if shards > 1 else "FullyReplicated"),
        channel(f"s3://{bucket}/{base}/validation/", "validation", "FullyReplicated"),
    ]
    job = job_change(config, names, target.spec(settings.hyperparameters(), channels))
    return JobPlan(job.name, (*changes, job), output_path(names, target.version))


def plan_s3_job(config: Config, names: Names, data: S3Data, settings: TrainSettings, target: JobTarget) -> JobPlan:
    """The job reads the user's prefix itself: no upload, no validation channel (so no early stopping,
    which the algorithm allows only with one), sharded by key across the instances."""
    distribution = "ShardedByS3Key" if config.training.instance_count > 1 else "FullyReplicated"
    hyperparameters = {k: v for k, v in settings.hyperparameters().items() if k != "early_stopping_rounds"}
    job = job_change(config, names, target.spec(hyperparameters, [channel(data.uri, "train", distribution)]))
    return JobPlan(job.name, (job,), output_path(names, target.version))


@dataclass(frozen=True)
class JobOutcome:
    artifact_uri: str
    metrics: dict[str, float]
    seconds: float


def run_job(
    clients: Clients,
    changes: tuple[Change, ...],
    job_name: str,
    reporter: Reporter,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> JobOutcome:
    """Upload the data, create the job and follow it to its end. On Ctrl-C the job this run started
    is stopped (StopTrainingJob): a job left running would go on billing with nobody following it."""
    try:
        apply_plan(Plan(changes), clients, reporter, sleep=sleep)
        return follow_job(clients, job_name, reporter, sleep=sleep, clock=clock)
    except (KeyboardInterrupt, Interrupted) as exc:
        raise stop_job(clients, job_name) from exc


def stop_job(clients: Clients, job_name: str) -> Interrupted:
    """Stop the job if it runs; what to tell the user. A further Ctrl-C waits for the stop call."""
    outcome = "unknown"
    try:
        with interrupts.deferred(f"stopping training job {job_name}"):
            outcome = _stop(clients, job_name)
    except KeyboardInterrupt:
        pass  # held until the stop call answered (outcome known), or it was cut short (unknown)
    hint = "run `mlpipe train --remote` again to train anew"
    if outcome == "absent":
        return Interrupted(f"interrupted before training job {job_name} was created: nothing runs", hint=hint)
    if outcome == "stopped":
        return Interrupted(f"interrupted: training job {job_name} stopped (StopTrainingJob)", hint=hint)
    if outcome == "unknown":
        return Interrupted(
            f"interrupted: training job {job_name} may still be running",
            hint=f"stop it: aws sagemaker stop-training-job --training-job-name {job_name}",
        )
    return Interrupted(f"interrupted: training job {job_name} had already ended ({outcome}); nothing deployed")


def _stop(clients: Clients, job_name: str) -> str:
    """'absent', 'stopped', or the status of a job that no longer runs."""
    sm = clients.client("sagemaker")
    job = read(clients, sm.describe_training_job, missing=(NOT_FOUND,), TrainingJobName=job_name)
    if job is None:
        return "absent"
    if job["TrainingJobStatus"] != "InProgress":
        return str(job["TrainingJobStatus"])
    try:
        call(clients, sm.stop_training_job, TrainingJobName=job_name)
    except AwsError as exc:
        if exc.code != "ValidationException":  # it ended meanwhile: "... is in status Completed."
            raise
        return str(call(clients, sm.describe_training_job, TrainingJobName=job_name)["TrainingJobStatus"])
    return "stopped"


def follow_job(
    clients: Clients,
    job_name: str,
    reporter: Reporter,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    timeout_s: float = 4 * 3600.0,
) -> JobOutcome:
    """Report status changes and log lines until the job ends; Failed/Stopped raise with the reason."""
    last_status = status = None
    log_token: dict[str, Any] = {}
    describe = clients.client("sagemaker").describe_training_job
    poll = Poll(timeout_s, 0.2, backoff=1.5, max_interval_s=15.0, clock=clock, sleep=sleep)
    for _ in poll:
        job = call(clients, describe, TrainingJobName=job_name)
        status = f"{job['TrainingJobStatus']} / {job.get('SecondaryStatus', '')}"
        elapsed = poll.elapsed
        if status != last_status:
            reporter.step(f"training job {job_name}: {status} ({elapsed:.0f}s)")
            last_status = status
        for line in _new_log_lines(clients, job_name, log_token):
            reporter.step(f"[{job_name}] {line}")
        if job["TrainingJobStatus"] == "Completed":
            metrics = {m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList", [])}
            return JobOutcome(job["ModelArtifacts"]["S3ModelArtifacts"], metrics, elapsed)
        if job["TrainingJobStatus"] in ("Failed", "Stopped"):
            raise ModelError(
                f"training job {job_name} {job['TrainingJobStatus']}: {job.get('FailureReason') or 'no reason given'}",
                hint=f"its logs are in CloudWatch log group {LOG_GROUP}, streams {job_name}/*",
            )
    raise ModelError(f"training job {job_name} still {status} after {poll.elapsed:.0f}s")


def _new_log_lines(clients: Clients, job_name: str, token: dict[str, Any]) -> list[str]:
    params: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job_name}/"}
    if "start" in token:
        params["startTime"] = token["start"]
    found = read(clients, clients.client("logs").filter_log_events, missing=("ResourceNotFoundException",), **params)
    if found is None:
        return []  # the job has not written logs yet
    events = found.get("events", [])
    seen = token.setdefault("ids", set())
    lines = []
    for event in events:
        if event["eventId"] in seen:
            continue
        seen.add(event["eventId"])
        token["start"] = max(token.get("start", 0), event["timestamp"])
        lines.append(event["message"].rstrip())
    return lines
