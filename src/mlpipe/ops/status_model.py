"""`mlpipe status`: the rows of what `train` creates, so "every resource of the stage" includes them
(a half-created first train shows there, not only in `destroy --dry-run`): the stage's permissions
boundary (deploy's too), the model bucket, the endpoint's log group, the SageMaker execution role, the
endpoint, and the endpoint configs and models it keeps (the current and the previous version).

Drift is what `train` would change, as for deploy's rows; the execution role's policy depends on the
model's container image (and S3 data), so it is compared only when models/current.json names them.
"""

from __future__ import annotations

from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.ops.status import ResourceStatus, check_row
from mlpipe.plan.boundary import plan_boundary
from mlpipe.plan.common import require_owned
from mlpipe.plan.iam import RoleSpec, plan_role
from mlpipe.plan.iam import observe as observe_role
from mlpipe.plan.logs import plan_service_log_group, sagemaker_endpoint_log_group
from mlpipe.plan.model import Change
from mlpipe.plan.s3 import BucketSpec, plan_bucket
from mlpipe.plan.teardown import plan_endpoint_configs_deletion, plan_endpoint_deletion, plan_models_deletion
from mlpipe.policies.boundary import boundary_policy
from mlpipe.policies.sagemaker_role import sagemaker_policy


def model_rows(config: Config, clients: Clients, names: Names, current: dict[str, Any] | None) -> list[ResourceStatus]:
    group, retention = sagemaker_endpoint_log_group(names.endpoint), config.function.log_retention_days
    rows = [
        check_row(
            "iam-boundary-policy",
            names.boundary_policy,
            lambda: plan_boundary(boundary_policy(config, names), clients, names),
        ),
        check_row("s3-bucket", names.model_bucket, lambda: plan_bucket(BucketSpec(names.model_bucket), clients, names)),
        check_row("log-group", group, lambda: plan_service_log_group(group, retention, clients, names)),
    ]
    if config.training.role_arn is None:
        rows.append(_sagemaker_role(clients, names, current))
    return [*rows, _endpoint(clients, names, current), *_versions(clients, names, current)]


def _sagemaker_role(clients: Clients, names: Names, current: dict[str, Any] | None) -> ResourceStatus:
    name = names.sagemaker_role
    image = str((current or {}).get("image_uri") or "")
    if not image:  # no model recorded: whether the role exists (and is ours); its policy is not compared
        return check_row("iam-role", name, lambda: _existence(clients, names))
    source = str((current or {}).get("data_source") or "")
    spec = RoleSpec(
        name,
        "sagemaker.amazonaws.com",
        sagemaker_policy(names, image, data_uri=source if source.startswith("s3://") else None),
        f"SageMaker execution role of mlpipe {names.app}/{names.stage}",
        boundary_arn=names.boundary_arn,
    )
    return check_row("iam-role", name, lambda: plan_role(spec, clients, names))


def _existence(clients: Clients, names: Names) -> Change:
    role = observe_role(clients, names.sagemaker_role)
    if role is None:
        return Change("create", "iam-role", names.sagemaker_role)
    require_owned(names, "IAM role", names.sagemaker_role, role.tags)
    return Change("noop", "iam-role", names.sagemaker_role, "exists; no model recorded: its policy is not compared")


def _endpoint(clients: Clients, names: Names, current: dict[str, Any] | None) -> ResourceStatus:
    try:
        found = plan_endpoint_deletion(clients, names)
    except ForeignResourceError as exc:
        return ResourceStatus("sagemaker-endpoint", names.endpoint, "foreign", exc.message)
    if found.action == "noop":
        return ResourceStatus("sagemaker-endpoint", names.endpoint, "missing")
    version = (current or {}).get("version")
    return ResourceStatus(
        "sagemaker-endpoint", names.endpoint, "in sync", found.detail + (f", version {version}" if version else "")
    )


def _versions(clients: Clients, names: Names, current: dict[str, Any] | None) -> list[ResourceStatus]:
    """The endpoint configs and models of this stage (tagged for it): which version each is."""
    current = current or {}
    roles = {
        str(current.get("model_name") or ""): "current version",
        names.model_name(str(current.get("previous_version")))
        if current.get("previous_version")
        else "": "previous version",
    }
    rows = []
    for kind, changes in (
        ("sagemaker-endpoint-config", plan_endpoint_configs_deletion(clients, names)),
        ("sagemaker-model", plan_models_deletion(clients, names)),
    ):
        if not changes:
            rows.append(ResourceStatus(kind, f"{names.prefix}-<version>", "missing"))
        rows += [ResourceStatus(kind, c.name, "in sync", roles.get(c.name, "")) for c in changes]
    return rows
