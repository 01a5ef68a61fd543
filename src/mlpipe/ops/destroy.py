"""`mlpipe destroy`: the empty desired state. Everything this app/stage created goes, tag-checked.

Order: the mapping first (so nothing consumes the queue any more), then the function, its log group,
the alarms and their topic, the queues and the role; then what `train` made (endpoint, configs,
models, model bucket) so that nothing keeps costing money. Running it again when all is gone is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.plan.alarm import plan_alarm_deletion
from mlpipe.plan.apply import ApplyResult, apply_plan
from mlpipe.plan.boundary import plan_boundary_deletion
from mlpipe.plan.event_source import plan_mapping_deletion
from mlpipe.plan.iam import plan_role_deletion
from mlpipe.plan.lambda_fn import plan_function_deletion
from mlpipe.plan.logs import plan_log_group_deletion, plan_service_log_group_deletion, sagemaker_endpoint_log_group
from mlpipe.plan.model import Change, Plan
from mlpipe.plan.s3 import plan_bucket_deletion
from mlpipe.plan.sns import plan_topic_deletion
from mlpipe.plan.sqs import plan_queue_deletion
from mlpipe.plan.teardown import (
    plan_endpoint_configs_deletion,
    plan_endpoint_deletion,
    plan_models_deletion,
)
from mlpipe.reporter import Reporter


@dataclass
class DestroyResult:
    plan: Plan
    names: Names
    dry_run: bool
    applied: ApplyResult | None = None

    @property
    def deleted(self) -> list[Change]:
        return list(self.plan.pending)

    @property
    def kept(self) -> list[Change]:
        """What stays on purpose (data the CI/CD holds, without --force), with the reason."""
        return [c for c in self.plan.changes if c.action == "noop" and c.detail.startswith("kept:")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.names.app,
            "stage": self.names.stage,
            "dry_run": self.dry_run,
            "plan": self.plan.to_dict(),
            "kept": [{"kind": c.kind, "name": c.name, "reason": c.detail.removeprefix("kept: ")} for c in self.kept],
            "api_calls": self.applied.calls if self.applied else 0,
        }


def plan_destroy(config: Config, clients: Clients, names: Names, boundary: bool = True) -> Plan:
    """What would go, in a safe order. Read calls only; a foreign same-named resource aborts it all.
    Last, with `boundary`, the stage's permissions boundary, unless its build role still carries it."""
    changes: list[Change] = [
        plan_mapping_deletion(names.queue_arn(names.trigger_queue), names.function, clients, names),
        plan_function_deletion(names.function, clients, names),
        plan_log_group_deletion(names.log_group, clients, names),
        *(plan_alarm_deletion(alarm, clients, names) for alarm in names.alarms),
        plan_topic_deletion(clients, names),
        plan_queue_deletion(names.trigger_queue, clients, names),
        plan_queue_deletion(names.results_queue, clients, names),
        plan_queue_deletion(names.dlq, clients, names),
        plan_role_deletion(names.lambda_role, clients, names),
        plan_endpoint_deletion(clients, names),
        plan_service_log_group_deletion(sagemaker_endpoint_log_group(names.endpoint), clients, names),
        *plan_endpoint_configs_deletion(clients, names),
        *plan_models_deletion(clients, names),
        plan_bucket_deletion(names.model_bucket, clients, names, force=True),  # models are reproducible
        plan_role_deletion(names.sagemaker_role, clients, names),
    ]
    if boundary:
        changes.append(plan_boundary_deletion(clients, names, [names.build_role(names.stage)]))
    return Plan(tuple(changes))


def destroy(
    config: Config,
    clients: Clients,
    reporter: Reporter,
    dry_run: bool = False,
    *,
    pipeline: bool = False,
    force: bool = False,
) -> DestroyResult:
    """With `pipeline`, the app's CI/CD goes too (its bucket and repository only when empty, or `force`)."""
    names = clients.names(config.app, config.stage)
    # With the pipeline, its part removes the boundaries of the pipeline's stages, after the build roles.
    in_pipeline = pipeline and names.stage in config.pipeline.stages
    plan = plan_destroy(config, clients, names, boundary=not in_pipeline)
    if pipeline:
        from mlpipe.ops.bootstrap import plan_pipeline_destroy

        deleting = (names.lambda_role, names.sagemaker_role)
        plan = Plan(plan.changes + plan_pipeline_destroy(config, clients, names, force, deleting).changes)
    result = DestroyResult(plan, names, dry_run)
    if not dry_run:
        result.applied = apply_plan(plan, clients, reporter)
    return result
