"""`mlpipe deploy`: the inference architecture (queues, role, log group, function, mapping, alarms, topic).

Desired state (config + derived names + the current model's feature count) -> a plan computed with
read calls only -> applied by plan.apply, or returned as is for --dry-run. Running it again after
an interruption finishes the job: the plan only holds what is still missing or different.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.contract import function_variables
from mlpipe.errors import Interrupted
from mlpipe.lambda_package import Package, build_package, with_model
from mlpipe.names import Names
from mlpipe.plan.alarm import plan_alarms
from mlpipe.plan.apply import ApplyResult, apply_plan
from mlpipe.plan.boundary import plan_boundary
from mlpipe.plan.event_source import mapping_spec, plan_mapping
from mlpipe.plan.iam import RoleSpec, plan_role
from mlpipe.plan.lambda_fn import function_spec, plan_function
from mlpipe.plan.logs import plan_log_group
from mlpipe.plan.model import Change, Plan, Ref
from mlpipe.plan.sns import own_topic, plan_topic
from mlpipe.plan.sqs import plan_queue, plan_queue_deletion, queue_specs
from mlpipe.policies.boundary import boundary_policy
from mlpipe.policies.lambda_role import lambda_policy
from mlpipe.reporter import Reporter

LAMBDA_SERVICE = "lambda.amazonaws.com"


@dataclass
class DeployResult:
    plan: Plan
    names: Names
    dry_run: bool
    feature_count: int
    package_sha256: str
    package_size: int
    applied: ApplyResult | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return not self.plan.is_empty

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.names.app,
            "stage": self.names.stage,
            "dry_run": self.dry_run,
            "feature_count": self.feature_count,
            "package": {"sha256": self.package_sha256, "bytes": self.package_size},
            "plan": self.plan.to_dict(),
            "api_calls": self.applied.calls if self.applied else 0,
            "warnings": self.warnings,
        }


def lambda_role_spec(config: Config, names: Names) -> RoleSpec:
    return RoleSpec(
        name=names.lambda_role,
        service=LAMBDA_SERVICE,
        policy=lambda_policy(names, config.queue.results_queue),
        description=f"mlpipe {names.app}/{names.stage}: the {names.function} function's execution role",
        boundary_arn=names.boundary_arn,
    )


def function_environment(config: Config, names: Names, known: dict[str, Any], feature_count: int) -> dict[str, Any]:
    """The handler's environment (docs/CONTRACTS.md); queue URLs are Refs until the queues exist."""
    results: Any = ""
    if config.queue.results_queue:
        results = known.get("results_url", Ref("results_url"))
    return {
        **config.function.environment,
        "MLPIPE_ENDPOINT_NAME": names.endpoint,
        "MLPIPE_FEATURE_COUNT": str(feature_count),
        "MLPIPE_DLQ_URL": known.get("dlq_url", Ref("dlq_url")),
        "MLPIPE_RESULTS_QUEUE_URL": results,
        **function_variables(config),
    }


def plan_deploy(config: Config, clients: Clients, names: Names, package: Package, feature_count: int) -> Plan:
    """Read what exists and return the changes, in dependency order. Makes read calls only."""
    # The boundary first (before any role, and before anything at all): creating or changing it is
    # the admin part's, so an operator's deploy that may not fails before it has created anything.
    changes: list[Change] = [plan_boundary(boundary_policy(config, names), clients, names)]
    known: dict[str, Any] = {}
    for spec in queue_specs(config, names):
        change, found = plan_queue(spec, clients, names)
        changes.append(change)
        known.update(found)
    changes.append(plan_role(lambda_role_spec(config, names), clients, names))
    changes.append(plan_log_group(names.log_group, config.function.log_retention_days, clients, names))
    environment = function_environment(config, names, known, feature_count)
    changes.append(plan_function(function_spec(config, names, environment, package), clients, names))
    changes.append(plan_mapping(mapping_spec(config, names), clients, names))
    topic = plan_topic(config, clients, names)
    # The topic before the alarms that point at it; a topic no longer used goes after them.
    changes += (
        [*topic, *plan_alarms(config, clients, names)]
        if own_topic(config)
        else [*plan_alarms(config, clients, names), *topic]
    )
    if not config.queue.results_queue:
        # Last: the function and its role stop using a results queue before it goes.
        changes.append(plan_queue_deletion(names.results_queue, clients, names))
    return Plan(tuple(changes), vars=known)


def current_model(clients: Clients, names: Names, reporter: Reporter) -> dict[str, Any] | None:
    from mlpipe.ops.model_store import read_current

    current = read_current(clients, names)
    if current is None:
        reporter.warn(
            "no trained model yet: the function will not check the feature count "
            "(run `mlpipe train`, then `mlpipe deploy` again)"
        )
    return current


def deploy(
    config: Config, clients: Clients, reporter: Reporter, dry_run: bool = False, *, package: Package | None = None
) -> DeployResult:
    """Create or update the architecture; `package` replaces the bundled handler's zip (tests, custom code)."""
    warnings = config.warnings()
    for warning in warnings:
        reporter.warn(warning)
    package = package or build_package()
    names = clients.names(config.app, config.stage)
    try:  # reads only, until apply_plan: a Ctrl-C here leaves everything as it was
        current = current_model(clients, names, reporter)
        feature_count = int((current or {}).get("feature_count") or 0)
        package = with_model(package, current)
        plan = plan_deploy(config, clients, names, package, feature_count)
    except KeyboardInterrupt as exc:
        raise Interrupted("interrupted while reading what exists, before any change: nothing was changed") from exc
    result = DeployResult(plan, names, dry_run, feature_count, package.sha256, package.size, warnings=warnings)
    if not dry_run:
        result.applied = apply_plan(plan, clients, reporter)
    return result
