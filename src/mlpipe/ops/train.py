"""Use cases `train` and `rollback`: from a dataset to a SageMaker endpoint serving the model.

    load data -> train (locally, or a SageMaker training job with --remote) -> package model.tar.gz
    -> model bucket + execution role -> SageMaker model + new endpoint config -> create the endpoint
    or UpdateEndpoint in place (the name the Lambda calls never changes) -> wait InService
    -> models/current.json -> remove old configs and models, keeping the previous version.

The AWS work is a plan (plain data) applied by the executor, so `--dry-run` shows the same plan
without applying it. Nothing is created before the data, the hyperparameters, the container
version and the ownership of every existing resource have been checked.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import AwsError, NotDeployedError
from mlpipe.model.artifact import build_metadata, model_bytes, package
from mlpipe.model.containers import container_version, image_uri, installed_xgboost_version
from mlpipe.model.data import CsvOptions
from mlpipe.model.training import parse_param_options, settings_from
from mlpipe.names import Names
from mlpipe.ops import model_store
from mlpipe.ops.train_data import label_metadata, training_data
from mlpipe.ops.train_resources import (
    SETTLING,
    Clock,
    Observed,
    Sleep,
    aws,
    cleanup,
    observe,
    serving_changes,
    upload_change,
    version_pattern,
    wait_endpoint,
)
from mlpipe.plan.executor import execute
from mlpipe.plan.iam import RoleSpec, plan_role
from mlpipe.plan.logs import SAGEMAKER_TRAINING_LOG_GROUP, plan_service_log_group, sagemaker_endpoint_log_group
from mlpipe.plan.model import Call, Change, Plan
from mlpipe.plan.s3 import BucketSpec, plan_bucket
from mlpipe.policies.sagemaker_role import sagemaker_policy
from mlpipe.reporter import Reporter


@dataclass(frozen=True)
class TrainRequest:
    """Command-line choices; None means "as mlpipe.yaml says"."""

    data: str | None = None
    target: str | None = None
    params: tuple[str, ...] = ()  # "key=value"
    seed: int | None = None
    remote: bool = False
    no_wait: bool = False
    dry_run: bool = False
    wait_timeout_s: float = 1800.0
    xgboost_version: str | None = None  # the installed one when None
    objective: str | None = None
    csv: CsvOptions | None = None  # --delimiter, --decimal, --header/--no-header


@dataclass
class TrainResult:
    action: str  # "created", "updated", "rolled back" or "planned"
    endpoint: str
    endpoint_status: str | None
    version: str
    previous_version: str | None = None
    model_name: str = ""
    artifact_uri: str = ""
    image_uri: str = ""
    objective: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    importances: list[tuple[str, float]] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # classifiers: class labels by index
    confusion: list[list[int]] = field(default_factory=list)  # classifiers: [actual][predicted] on validation
    data_source: str = ""
    rows: int = 0
    train_rows: int = 0
    valid_rows: int = 0
    best_iteration: int | None = None
    training_job: str | None = None
    warnings: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["importances"] = [{"feature": n, "gain": g} for n, g in self.importances]
        return out


def train(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    request: TrainRequest | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> TrainResult:
    request = request or TrainRequest()
    start = clock()
    # Every input check comes before the first AWS call.
    xgb_version = request.xgboost_version or installed_xgboost_version()
    container = container_version(xgb_version)
    model_config = config.model
    settings = settings_from(
        request.objective or model_config.objective,
        model_config.params,
        parse_param_options(request.params),
        model_config.num_round,
        model_config.early_stopping_rounds,
        model_config.test_size,
        model_config.seed if request.seed is None else request.seed,
    )
    names = clients.names(config.app, config.stage)
    prepared, s3_data = training_data(config, clients, names, settings, request)
    dataset, settings = prepared.dataset, prepared.settings
    for note in prepared.notes:
        reporter.warn(note)

    image = image_uri(names.region, container)
    seen = _settled(clients, names, reporter, sleep, clock, request)
    version = _new_version(seen)
    previous = _version_of(names, seen.endpoint_config)
    role_arn = config.training.role_arn or names.role_arn(names.sagemaker_role)
    retention = config.function.log_retention_days
    setup = [
        plan_bucket(BucketSpec(names.model_bucket), clients, names),
        # Before the endpoint, so SageMaker writes into a group that expires (it creates one that never does).
        plan_service_log_group(sagemaker_endpoint_log_group(names.endpoint), retention, clients, names),
    ]
    if request.remote:
        setup.append(plan_service_log_group(SAGEMAKER_TRAINING_LOG_GROUP, retention, clients, names, shared=True))
    if config.training.role_arn is None:
        spec = RoleSpec(
            names.sagemaker_role,
            "sagemaker.amazonaws.com",
            sagemaker_policy(names, image, data_uri=s3_data.uri if s3_data else None),
            f"SageMaker execution role of mlpipe {names.app}/{names.stage}",
        )
        setup.append(plan_role(spec, clients, names))
    role_is_new = any(c.kind == "iam-role" and c.action == "create" for c in setup)

    result = TrainResult(
        action="planned",
        endpoint=names.endpoint,
        endpoint_status=seen.endpoint_status,
        version=version,
        previous_version=previous,
        model_name=names.model_name(version),
        image_uri=image,
        objective=settings.objective,
        feature_names=list(dataset.feature_names),
        data_source=dataset.source,
        rows=dataset.rows,
        warnings=list(prepared.notes),
        labels=list(prepared.labels),
    )
    metadata_args: dict[str, Any] = {
        "version": version,
        "feature_names": dataset.feature_names,
        "target_name": dataset.target_name,
        "objective": settings.objective,
        "xgboost_version": xgb_version,
        "container_version": container,
        "image_uri": image,
        "data_source": dataset.source,
        "data_sha256": dataset.sha256,
        "hyperparameters": settings.hyperparameters(),
    }
    extra_metadata = label_metadata(prepared)

    if request.remote:
        from mlpipe.ops.train_remote import follow_job, plan_job, plan_s3_job

        if s3_data is not None:
            job = plan_s3_job(config, names, s3_data, settings, version, image, role_arn, role_is_new)
        else:
            job = plan_job(config, names, dataset, settings, version, image, role_arn, role_is_new)
        result.training_job = job.job_name
        result.artifact_uri = f"{job.output_path}/{job.job_name}/output/model.tar.gz"
        if request.dry_run:
            serving = serving_changes(config, names, seen, version, image, result.artifact_uri, role_arn, role_is_new)
            result.plan = Plan((*setup, *job.changes, *serving)).to_dict()
            result.seconds = clock() - start
            return result
        execute(Plan((*setup, *job.changes)), clients, reporter, sleep=sleep)
        outcome = follow_job(clients, job.job_name, reporter, sleep=sleep, clock=clock)
        result.artifact_uri = outcome.artifact_uri
        result.metrics = outcome.metrics
        result.train_rows = dataset.rows - round(dataset.rows * settings.test_size)
        result.valid_rows = dataset.rows - result.train_rows
        metadata = build_metadata(**metadata_args, metrics=outcome.metrics, training=f"sagemaker:{job.job_name}")
        metadata.update(extra_metadata)
        changes: list[Change] = [
            upload_change(names, model_store.metadata_key(version), _json(metadata), "application/json")
        ]
    else:
        artifact = b""
        metadata = build_metadata(**metadata_args, metrics={}, training="local")
        metadata.update(extra_metadata)
        if not request.dry_run:
            from mlpipe.model.training import train as train_booster

            reporter.step(f"training XGBoost ({settings.objective}) on {dataset.rows} rows of {dataset.source}")
            trained = train_booster(dataset, settings)
            reporter.done(
                f"trained {trained.best_iteration + 1} trees (stopped after {trained.rounds_trained} rounds): "
                + ", ".join(f"{k} {v:.4g}" for k, v in trained.metrics.items())
            )
            artifact = package(model_bytes(trained.booster))
            result.metrics = trained.metrics
            result.importances = trained.importances
            result.train_rows, result.valid_rows = trained.train_rows, trained.valid_rows
            result.best_iteration = trained.best_iteration
            result.confusion = trained.confusion
            metadata["metrics"] = trained.metrics
        result.artifact_uri = f"s3://{names.model_bucket}/{model_store.artifact_key(version)}"
        changes = [
            *setup,
            upload_change(names, model_store.artifact_key(version), artifact, "application/gzip", "model.tar.gz"),
            upload_change(names, model_store.metadata_key(version), _json(metadata), "application/json"),
        ]

    changes += serving_changes(config, names, seen, version, image, result.artifact_uri, role_arn, role_is_new)
    plan = Plan(tuple(changes))
    if request.dry_run:
        result.plan = plan.to_dict()
        result.seconds = clock() - start
        return result
    execute(plan, clients, reporter, sleep=sleep)
    _finish(clients, names, reporter, result, metadata, seen, request.no_wait, request.wait_timeout_s, sleep, clock)
    result.action = "updated" if seen.endpoint_status else "created"
    result.seconds = clock() - start
    return result


def rollback(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    no_wait: bool = False,
    dry_run: bool = False,
    wait_timeout_s: float = 1800.0,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> TrainResult:
    """Point the endpoint back at the previous version (kept by `train`); running it again rolls forward."""
    start = clock()
    names = clients.names(config.app, config.stage)
    current = model_store.read_current(clients, names)
    if current is None:
        raise NotDeployedError(f"no model trained for {names.endpoint}", hint="run `mlpipe train` first")
    target = current.get("previous_version")
    if not target:
        raise NotDeployedError(
            f"{names.endpoint} serves version {current['version']} and has no previous version to roll back to"
        )
    request = TrainRequest(no_wait=no_wait, dry_run=dry_run, wait_timeout_s=wait_timeout_s)
    seen = _settled(clients, names, reporter, sleep, clock, request)
    if seen.endpoint_status is None:
        raise NotDeployedError(f"endpoint {names.endpoint} does not exist", hint="run `mlpipe train`")
    config_name = names.model_name(target)
    if target not in seen.versions:
        raise NotDeployedError(f"endpoint config {config_name} of version {target} no longer exists")
    body = aws(clients, "s3", "get_object", Bucket=names.model_bucket, Key=model_store.metadata_key(target))
    metadata = json.loads(body["Body"].read())
    model = aws(clients, "sagemaker", "describe_model", ModelName=config_name)  # where its artifact really is
    change = Change(
        "update",
        "sagemaker-endpoint",
        names.endpoint,
        detail=f"{seen.endpoint_config} -> {config_name} (rollback)",
        steps=(
            Call("sagemaker", "update_endpoint", {"EndpointName": names.endpoint, "EndpointConfigName": config_name}),
        ),
    )
    result = TrainResult(
        action="planned",
        endpoint=names.endpoint,
        endpoint_status=seen.endpoint_status,
        version=target,
        previous_version=current["version"],
        model_name=config_name,
        artifact_uri=str(model["PrimaryContainer"]["ModelDataUrl"]),
        image_uri=str(metadata.get("image_uri", "")),
        objective=str(metadata.get("objective", "")),
        metrics=dict(metadata.get("metrics", {})),
        feature_names=list(metadata.get("feature_names", [])),
    )
    if dry_run:
        result.plan = Plan((change,)).to_dict()
        return result
    execute(Plan((change,)), clients, reporter, sleep=sleep)
    _finish(clients, names, reporter, result, metadata, seen, no_wait, wait_timeout_s, sleep, clock)
    result.action = "rolled back"
    result.seconds = clock() - start
    return result


def _finish(
    clients: Clients,
    names: Names,
    reporter: Reporter,
    result: TrainResult,
    metadata: dict[str, Any],
    seen: Observed,
    no_wait: bool,
    timeout_s: float,
    sleep: Sleep,
    clock: Clock,
) -> None:
    """Wait for the endpoint, record the current version, remove versions older than the previous one."""
    if no_wait:
        status = aws(clients, "sagemaker", "describe_endpoint", EndpointName=names.endpoint)["EndpointStatus"]
    else:
        status = wait_endpoint(
            clients, names, reporter, sleep, clock, timeout_s=timeout_s, updating=seen.endpoint_status is not None
        )
    result.endpoint_status = status
    current = {
        **metadata,
        "version": result.version,
        "artifact_uri": result.artifact_uri,
        "endpoint": names.endpoint,
        "endpoint_config": result.model_name,
        "model_name": result.model_name,
        "previous_version": result.previous_version,
        "endpoint_status": status,
    }
    model_store.write_current(clients, names, current)
    reporter.done(f"endpoint {names.endpoint} serves version {result.version} ({status})")
    if status == "InService":
        keep = {result.version} | ({result.previous_version} if result.previous_version else set())
        result.removed = cleanup(clients, names, keep, reporter)


def _settled(
    clients: Clients,
    names: Names,
    reporter: Reporter,
    sleep: Sleep,
    clock: Clock,
    request: TrainRequest,
) -> Observed:
    """What exists now; an endpoint still changing is waited for (AWS refuses to update it meanwhile)."""
    seen = observe(clients, names)
    if seen.endpoint_status in SETTLING and not request.dry_run:
        reporter.step(f"endpoint {names.endpoint} is {seen.endpoint_status}: waiting before changing it")
        wait_endpoint(clients, names, reporter, sleep, clock, timeout_s=request.wait_timeout_s, updating=True)
        seen = observe(clients, names)
    if seen.endpoint_status in ("Failed", "OutOfService"):
        raise AwsError(
            f"endpoint {names.endpoint} is {seen.endpoint_status}: {seen.failure_reason or 'no reason given'}",
            hint=f"delete it (`aws sagemaker delete-endpoint --endpoint-name {names.endpoint}`), then train again",
        )
    return seen


def _version_of(names: Names, config_name: str | None) -> str | None:
    match = version_pattern(names).match(config_name or "")
    return match.group(1) if match else None


def _new_version(seen: Observed) -> str:
    """A UTC timestamp; a suffix when a version of that second already exists."""
    base = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    version, n = base, 0
    while version in seen.versions:
        n += 1
        version = f"{base}-{n}"
    return version


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True).encode()
