"""`mlpipe status`: every resource (exists, in sync or drifted), queue depths, function and endpoint.
Deploy's resources decide "deployed" and "in sync"; train's are listed beside them (`model_resources`).

Drift is what deploy would change: the same planners run, and a non-noop change means drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.lambda_package import Package, build_package, with_model
from mlpipe.names import Names
from mlpipe.ops.deploy import function_environment, lambda_role_spec
from mlpipe.ops.function_contract import function_configuration
from mlpipe.plan.alarm import alarm_specs, plan_alarm, plan_alarm_deletion
from mlpipe.plan.event_source import MAPPING_HINT, EventMapping, MappingSpec, mapping_spec, problem
from mlpipe.plan.event_source import diff as diff_mapping
from mlpipe.plan.event_source import observe as observe_mappings
from mlpipe.plan.iam import plan_role
from mlpipe.plan.lambda_fn import function_spec, plan_function
from mlpipe.plan.logs import plan_log_group
from mlpipe.plan.model import Change
from mlpipe.plan.reads import read
from mlpipe.plan.sns import plan_topic
from mlpipe.plan.sqs import MISSING as QUEUE_MISSING
from mlpipe.plan.sqs import plan_queue, queue_specs, queue_url
from mlpipe.plan.teardown import SAGEMAKER_MISSING

STATE_OF_ACTION = {"noop": "in sync", "create": "missing", "update": "drifted", "delete": "drifted"}


@dataclass
class ResourceStatus:
    kind: str
    name: str
    state: str  # "in sync" | "missing" | "drifted" | "foreign" | "kept" (left by destroy --pipeline)
    detail: str = ""


@dataclass
class MappingHealth:
    """The trigger queue's event source mapping as AWS reports it (GetEventSourceMapping's documented
    fields) and what is wrong with it: `problem` is None when AWS reports nothing wrong."""

    uuid: str
    state: str
    state_transition_reason: str
    last_processing_result: str | None
    problem: str | None
    hint: str | None


def mapping_health(observed: tuple[EventMapping, ...]) -> MappingHealth | None:
    if not observed:
        return None
    mapping = observed[0]  # the one deploy keeps (duplicates show as drift)
    found = problem(mapping)
    return MappingHealth(
        mapping.uuid,
        mapping.state,
        mapping.transition_reason,
        mapping.last_result or None,
        found,
        MAPPING_HINT if found else None,
    )


@dataclass
class StatusResult:
    app: str
    stage: str
    resources: list[ResourceStatus] = field(default_factory=list)
    queues: dict[str, int | None] = field(default_factory=dict)  # trigger / in_flight / dlq depths
    function_state: str | None = None
    endpoint_status: str | None = None
    model_version: str | None = None
    # What `train` creates (ops/status_model.py): boundary, model bucket, endpoint and its versions...
    model_resources: list[ResourceStatus] = field(default_factory=list)
    # CI/CD, when `bootstrap-pipeline` created it: its resources and the latest run's status.
    pipeline_resources: list[ResourceStatus] = field(default_factory=list)
    pipeline_run: str | None = None
    # alarm name -> CloudWatch state (OK | ALARM | INSUFFICIENT_DATA), for the alarms that exist
    alarms: dict[str, str] = field(default_factory=dict)
    mapping: MappingHealth | None = None  # the trigger queue's mapping, when it exists

    @property
    def deployed(self) -> bool:
        return any(r.state != "missing" for r in self.resources)

    @property
    def in_sync(self) -> bool:
        return all(r.state == "in sync" for r in self.resources)

    @property
    def every_resource(self) -> list[ResourceStatus]:
        """Deploy's, train's and the CI/CD's rows, in that order (what a summary counts)."""
        return [*self.resources, *self.model_resources, *self.pipeline_resources]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deployed": self.deployed, "in_sync": self.in_sync}


def check_row(kind: str, name: str, planner: Callable[[], Change]) -> ResourceStatus:
    try:
        change = planner()
    except ForeignResourceError as exc:
        return ResourceStatus(kind, name, "foreign", exc.message)
    return ResourceStatus(change.kind, change.name, STATE_OF_ACTION[change.action], change.detail)


def _depths(clients: Clients, names: Names) -> dict[str, int | None]:
    sqs = clients.client("sqs")

    def attributes(queue: str) -> dict[str, str]:
        url = queue_url(clients, queue)
        if url is None:
            return {}
        wanted = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        response = read(clients, lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=wanted), QUEUE_MISSING)
        return dict((response or {}).get("Attributes", {}))

    def number(value: str | None) -> int | None:
        return None if value is None else int(value)

    trigger, dlq = attributes(names.trigger_queue), attributes(names.dlq)
    return {
        "trigger": number(trigger.get("ApproximateNumberOfMessages")),
        "in_flight": number(trigger.get("ApproximateNumberOfMessagesNotVisible")),
        "dlq": number(dlq.get("ApproximateNumberOfMessages")),
    }


def _alarm_rows(config: Config, clients: Clients, names: Names) -> list[ResourceStatus]:
    if not config.alarm.enabled:
        return [
            check_row("cloudwatch-alarm", n, lambda n=n: plan_alarm_deletion(n, clients, names))  # type: ignore[misc]
            for n in names.alarms
        ]
    rows = [
        check_row("cloudwatch-alarm", spec["AlarmName"], lambda spec=spec: plan_alarm(spec, clients, names))  # type: ignore[misc]
        for spec in alarm_specs(config, names)
    ]
    try:
        topic = plan_topic(config, clients, names)
    except ForeignResourceError as exc:
        return [ResourceStatus("sns-topic", names.alarm_topic, "foreign", exc.message), *rows]
    return [
        ResourceStatus(c.kind, c.name, STATE_OF_ACTION[c.action], c.detail) for c in topic if c.kind == "sns-topic"
    ] + rows


def alarm_states(clients: Clients, names: Names) -> dict[str, str]:
    """The state of each of the stage's alarms that exists (one DescribeAlarms call)."""
    cw = clients.client("cloudwatch")
    found = read(clients, lambda: cw.describe_alarms(AlarmNames=list(names.alarms))) or {}
    return {a["AlarmName"]: a["StateValue"] for a in found.get("MetricAlarms", [])}


def _pipeline(config: Config, clients: Clients, result: StatusResult) -> None:
    """Fill the pipeline rows, only when the app has a pipeline (bootstrap-pipeline ran)."""
    from mlpipe.ops.bootstrap import kept_data, pipeline_names, plan_bootstrap
    from mlpipe.ops.pipeline_status import pipeline_status

    names = pipeline_names(config, clients)
    run = pipeline_status(config, clients, names, limit=1)
    if not run.exists:
        try:  # what `destroy --pipeline` kept (data, without --force) is still there: say so
            kept = kept_data(config, clients, names)
        except ForeignResourceError:
            kept = []
        result.pipeline_resources += [ResourceStatus(c.kind, c.name, "kept", c.detail) for c in kept]
        return
    try:
        plan = plan_bootstrap(config, clients, names, build_wheelhouse=False)
    except ForeignResourceError as exc:
        result.pipeline_resources.append(ResourceStatus("pipeline", names.pipeline, "foreign", exc.message))
    else:
        # One owner per resource: each stage's Lambda role (bootstrap creates it ahead of the first
        # build) belongs to that stage's table (`status --stage`), not to the CI/CD one.
        stage_roles = {dataclasses.replace(names, stage=stage).lambda_role for stage in config.pipeline.stages}
        stage_rows = [*result.resources, *result.model_resources]
        owned = {(r.kind, r.name) for r in stage_rows} | {("iam-role", role) for role in stage_roles}
        result.pipeline_resources += [
            ResourceStatus(c.kind, c.name, STATE_OF_ACTION[c.action], c.detail)
            for c in plan.changes
            if (c.kind, c.name) not in owned
        ]
    latest = run.latest
    result.pipeline_run = f"{latest.status} ({latest.started})" if latest else "never ran"


def _mapping_row(spec: MappingSpec, clients: Clients, names: Names, result: StatusResult) -> ResourceStatus:
    """The mapping's row (drift, as for every resource) and its health, from one observation."""
    observed = observe_mappings(clients, spec.queue_arn, spec.function)
    result.mapping = mapping_health(observed)
    row = check_row("event-source-mapping", names.trigger_queue, lambda: diff_mapping(spec, observed, names))
    if result.mapping and result.mapping.problem:
        row.detail = "; ".join(d for d in (row.detail, result.mapping.problem) if d)
    return row


def status(config: Config, clients: Clients, package: Package | None = None) -> StatusResult:
    """`package` is what deploy would upload (the project's handler), to tell drifted code apart."""
    from mlpipe.ops.model_store import read_current

    names = clients.names(config.app, config.stage)
    current_model = read_current(clients, names)
    feature_count = int((current_model or {}).get("feature_count") or 0)
    result = StatusResult(config.app, config.stage, model_version=(current_model or {}).get("version"))
    known: dict[str, Any] = {}
    for spec in queue_specs(config, names):
        url = queue_url(clients, spec.name)
        if url:
            known[spec.url_var] = url
        result.resources.append(check_row("sqs-queue", spec.name, lambda s=spec: plan_queue(s, clients, names)[0]))  # type: ignore[misc]
    environment = function_environment(config, names, known, feature_count)
    fn = function_spec(config, names, environment, with_model(package or build_package(), current_model))
    retention = config.function.log_retention_days
    checks: list[tuple[str, str, Callable[[], Change]]] = [
        ("iam-role", names.lambda_role, lambda: plan_role(lambda_role_spec(config, names), clients, names)),
        ("log-group", names.log_group, lambda: plan_log_group(names.log_group, retention, clients, names)),
        ("lambda-function", names.function, lambda: plan_function(fn, clients, names)),
    ]
    result.resources += [check_row(kind, name, planner) for kind, name, planner in checks]
    result.resources.append(_mapping_row(mapping_spec(config, names), clients, names, result))
    result.resources += _alarm_rows(config, clients, names)
    result.alarms = alarm_states(clients, names)
    result.queues = _depths(clients, names)
    sm = clients.client("sagemaker")
    fn_config = function_configuration(clients, names)
    if fn_config:
        result.function_state = f"{fn_config.get('State', '?')}/{fn_config.get('LastUpdateStatus', '?')}"
    endpoint = read(clients, lambda: sm.describe_endpoint(EndpointName=names.endpoint), SAGEMAKER_MISSING)
    result.endpoint_status = endpoint.get("EndpointStatus") if endpoint else None
    from mlpipe.ops.status_model import model_rows

    result.model_resources = model_rows(config, clients, names, current_model)
    _pipeline(config, clients, result)
    return result
