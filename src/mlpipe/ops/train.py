"""Use cases `train` and `rollback`: from a dataset to a SageMaker endpoint serving the model.

    load data -> train (locally, or a SageMaker training job with --remote) -> package model.tar.gz
    -> model bucket + execution role -> SageMaker model + new endpoint config -> create the endpoint
    or UpdateEndpoint in place (the name the Lambda calls never changes) -> wait InService
    -> models/current.json -> remove old configs and models, keeping the previous version.

The AWS work is a plan (plain data) applied by plan.apply, so `--dry-run` shows the same plan
without applying it. Nothing is created before the data, the hyperparameters, the container
version and the ownership of every existing resource have been checked.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlpipe.aws.calls import call
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import NotDeployedError
from mlpipe.model.artifact import build_metadata
from mlpipe.model.data import CsvOptions
from mlpipe.model.framework import Framework
from mlpipe.model.framework import get as get_framework
from mlpipe.model.training import parse_param_options
from mlpipe.names import Names
from mlpipe.ops import model_store
from mlpipe.ops.function_contract import deployed_feature_count, stale_function
from mlpipe.ops.train_data import Prepared, label_metadata, training_data
from mlpipe.ops.train_endpoint import Clock, Sleep, finish, settled
from mlpipe.plan.apply import apply_plan
from mlpipe.plan.boundary import plan_boundary
from mlpipe.plan.iam import RoleSpec, plan_role
from mlpipe.plan.logs import SAGEMAKER_TRAINING_LOG_GROUP, plan_service_log_group, sagemaker_endpoint_log_group
from mlpipe.plan.model import Change, Plan
from mlpipe.plan.s3 import BucketSpec, plan_bucket
from mlpipe.plan.sagemaker import Observed, ServingSpec, endpoint_change, new_version, serving_changes, upload_change
from mlpipe.plan.sagemaker import version_of as _version_of
from mlpipe.policies.boundary import boundary_policy
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
    framework: str | None = None  # a registered mlpipe.model.framework; None: model.framework
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


@dataclass
class _Run:
    """Everything `train` decided before its first change: checked inputs and the observed state."""

    request: TrainRequest
    framework: Framework
    names: Names
    prepared: Prepared
    s3_data: Any  # S3Data when --data s3://..., read by the training job
    seen: Observed
    version: str
    image: str
    role_arn: str
    setup: list[Change]
    metadata: dict[str, Any]  # of the new version, without metrics and training

    @property
    def role_is_new(self) -> bool:
        return any(c.kind == "iam-role" and c.action == "create" for c in self.setup)


def train(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    request: TrainRequest | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> TrainResult:
    """prepare (every check, before any change) -> plan -> apply -> wait, record, clean up."""
    request = request or TrainRequest()
    start = clock()
    run = _prepare(config, clients, reporter, request, sleep, clock)
    result = _result(run)
    if request.remote:
        changes = _train_remote(config, clients, reporter, run, result, sleep, clock)
    else:
        changes = _train_local(run, result, reporter)
    if changes is not None:
        plan = Plan((*changes, *_serving(config, run, result.artifact_uri)))
        if request.dry_run:
            result.plan = plan.to_dict()
        else:
            apply_plan(plan, clients, reporter, sleep=sleep)
            updating = run.seen.endpoint_status is not None
            timeout = request.wait_timeout_s
            finish(clients, run.names, reporter, result, run.metadata, updating, request.no_wait, timeout, sleep, clock)
            result.action = "updated" if updating else "created"
    _check_function(clients, run.names, result, reporter)
    result.seconds = clock() - start
    return result


def _check_function(clients: Clients, names: Names, result: TrainResult, reporter: Reporter) -> None:
    """Train changes the model, not the function: when the deployed function checks another feature
    count, say that `deploy` must follow (rather than update it here: deploy owns the function, its
    package and environment, and an operator may run the two with separate permissions)."""
    deployed, features = deployed_feature_count(clients, names), len(result.feature_names)
    stale = stale_function(names, deployed, features)
    if stale:
        note = f"{stale}; run `mlpipe deploy` now"
        if result.plan is not None:  # --dry-run: the endpoint does not serve this model yet
            note = (
                f"function {names.function} is deployed for {deployed} features per row, this model would take "
                f"{features}: `mlpipe deploy` must follow the train"
            )
        result.warnings.append(note)
        reporter.warn(note)


def _prepare(
    config: Config, clients: Clients, reporter: Reporter, request: TrainRequest, sleep: Sleep, clock: Clock
) -> _Run:
    """Every input check comes before the first AWS change."""
    framework = get_framework(request.framework or config.model.framework)
    container = framework.container(clients.region, request.xgboost_version)
    model_config = config.model
    settings = framework.settings(
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
    for note in prepared.notes:
        reporter.warn(note)
    image = container.image_uri
    seen = settled(clients, names, reporter, sleep, clock, request.dry_run, request.wait_timeout_s)
    version = new_version(seen, datetime.now(UTC))
    dataset = prepared.dataset
    metadata = {
        "version": version,
        "framework": framework.name,
        "feature_names": dataset.feature_names,
        "target_name": dataset.target_name,
        "objective": prepared.settings.objective,
        "xgboost_version": container.library_version,
        "container_version": container.version,
        "image_uri": image,
        "data_source": dataset.source,
        "data_sha256": dataset.sha256,
        "hyperparameters": prepared.settings.hyperparameters(),
    }
    role_arn = config.training.role_arn or names.role_arn(names.sagemaker_role)
    setup = _setup(config, clients, names, request.remote, image, s3_data)
    return _Run(request, framework, names, prepared, s3_data, seen, version, image, role_arn, setup, metadata)


def _setup(config: Config, clients: Clients, names: Names, remote: bool, image: str, s3_data: Any) -> list[Change]:
    """(Unless training.role_arn names a role) the stage's boundary, then the model bucket, the log
    groups and the execution role.

    The boundary comes first: creating or changing it is the admin part of `mlpipe iam-policy`, so
    an operator's first `train` on a new stage fails there, before anything else is created."""
    retention = config.function.log_retention_days
    setup = []
    if config.training.role_arn is None:
        setup.append(plan_boundary(boundary_policy(config, names), clients, names))
    setup += [
        plan_bucket(BucketSpec(names.model_bucket), clients, names),
        # Before the endpoint, so SageMaker writes into a group that expires (it creates one that never does).
        plan_service_log_group(sagemaker_endpoint_log_group(names.endpoint), retention, clients, names),
    ]
    if remote:
        setup.append(plan_service_log_group(SAGEMAKER_TRAINING_LOG_GROUP, retention, clients, names, shared=True))
    if config.training.role_arn is None:
        spec = RoleSpec(
            names.sagemaker_role,
            "sagemaker.amazonaws.com",
            sagemaker_policy(names, image, data_uri=s3_data.uri if s3_data else None),
            f"SageMaker execution role of mlpipe {names.app}/{names.stage}",
            boundary_arn=names.boundary_arn,
        )
        setup.append(plan_role(spec, clients, names))
    return setup


def _result(run: _Run) -> TrainResult:
    names, dataset = run.names, run.prepared.dataset
    return TrainResult(
        action="planned",
        endpoint=names.endpoint,
        endpoint_status=run.seen.endpoint_status,
        version=run.version,
        previous_version=_version_of(names, run.seen.endpoint_config),
        model_name=names.model_name(run.version),
        image_uri=run.image,
        objective=run.prepared.settings.objective,
        feature_names=list(dataset.feature_names),
        data_source=dataset.source,
        rows=dataset.rows,
        warnings=list(run.prepared.notes),
        labels=list(run.prepared.labels),
    )


def _serving(config: Config, run: _Run, artifact_uri: str) -> tuple[Change, ...]:
    spec = ServingSpec(run.version, run.image, artifact_uri, run.role_arn, run.role_is_new)
    return serving_changes(config, run.names, run.seen, spec)


def _metadata(run: _Run, metrics: dict[str, float], training: str) -> dict[str, Any]:
    metadata = build_metadata(**run.metadata, metrics=metrics, training=training)
    metadata.update(label_metadata(run.prepared))
    return metadata


def _train_local(run: _Run, result: TrainResult, reporter: Reporter) -> list[Change]:
    """Train here (not for --dry-run), then upload model.tar.gz and its metadata."""
    names, dataset, settings = run.names, run.prepared.dataset, run.prepared.settings
    artifact = b""
    run.metadata = _metadata(run, {}, "local")
    if not run.request.dry_run:
        framework = run.framework
        reporter.step(f"training {framework.title} ({settings.objective}) on {dataset.rows} rows of {dataset.source}")
        trained = framework.train(dataset, settings)
        reporter.done(trained.summary)
        artifact = framework.serialize(trained)
        result.metrics = trained.metrics
        result.importances = trained.importances
        result.train_rows, result.valid_rows = trained.train_rows, trained.valid_rows
        result.best_iteration = trained.best_iteration
        result.confusion = trained.confusion
        run.metadata["metrics"] = trained.metrics
    result.artifact_uri = f"s3://{names.model_bucket}/{model_store.artifact_key(run.version)}"
    return [
        *run.setup,
        upload_change(names, model_store.artifact_key(run.version), artifact, "application/gzip", "model.tar.gz"),
        upload_change(names, model_store.metadata_key(run.version), _json(run.metadata), "application/json"),
    ]


def _train_remote(
    config: Config, clients: Clients, reporter: Reporter, run: _Run, result: TrainResult, sleep: Sleep, clock: Clock
) -> list[Change] | None:
    """A SageMaker training job; for --dry-run the whole plan (returns None), else the job is applied
    and followed here and the metadata upload returned."""
    from mlpipe.ops.train_remote import JobTarget, plan_job, plan_s3_job, run_job

    names, dataset, settings = run.names, run.prepared.dataset, run.prepared.settings
    target = JobTarget(run.version, run.image, run.role_arn, run.role_is_new)
    if run.s3_data is not None:
        job = plan_s3_job(config, names, run.s3_data, settings, target)
    else:
        job = plan_job(config, names, dataset, settings, target)
    result.training_job = job.job_name
    result.artifact_uri = f"{job.output_path}/{job.job_name}/output/model.tar.gz"
    if run.request.dry_run:
        serving = _serving(config, run, result.artifact_uri)
        result.plan = Plan((*run.setup, *job.changes, *serving)).to_dict()
        return None
    outcome = run_job(clients, (*run.setup, *job.changes), job.job_name, reporter, sleep=sleep, clock=clock)
    result.artifact_uri = outcome.artifact_uri
    result.metrics = outcome.metrics
    result.train_rows = dataset.rows - round(dataset.rows * settings.test_size)
    result.valid_rows = dataset.rows - result.train_rows
    run.metadata = _metadata(run, outcome.metrics, f"sagemaker:{job.job_name}")
    return [upload_change(names, model_store.metadata_key(run.version), _json(run.metadata), "application/json")]


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
    current, target = _rollback_target(clients, names)
    seen = settled(clients, names, reporter, sleep, clock, dry_run, wait_timeout_s)
    if seen.endpoint_status is None:
        raise NotDeployedError(f"endpoint {names.endpoint} does not exist", hint="run `mlpipe train`")
    config_name = names.model_name(target)
    if target not in seen.versions:
        raise NotDeployedError(f"endpoint config {config_name} of version {target} no longer exists")
    s3, sm = clients.client("s3"), clients.client("sagemaker")
    body = call(clients, s3.get_object, Bucket=names.model_bucket, Key=model_store.metadata_key(target))
    metadata = json.loads(body["Body"].read())
    model = call(clients, sm.describe_model, ModelName=config_name)  # where its artifact really is
    plan = Plan((endpoint_change(names, seen, config_name, note=" (rollback)"),))
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
        result.plan = plan.to_dict()
        return result
    apply_plan(plan, clients, reporter, sleep=sleep)
    finish(clients, names, reporter, result, metadata, True, no_wait, wait_timeout_s, sleep, clock)
    result.action = "rolled back"
    result.seconds = clock() - start
    return result


def _rollback_target(clients: Clients, names: Names) -> tuple[dict[str, Any], str]:
    """models/current.json and the previous version it names."""
    current = model_store.read_current(clients, names)
    if current is None:
        raise NotDeployedError(f"no model trained for {names.endpoint}", hint="run `mlpipe train` first")
    target = current.get("previous_version")
    if not target:
        raise NotDeployedError(
            f"{names.endpoint} serves version {current['version']} and has no previous version to roll back to"
        )
    return current, str(target)


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True).encode()
