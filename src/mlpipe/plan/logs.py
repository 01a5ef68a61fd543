"""Planner for log groups: created before what writes to them, with retention and tags.

Created by us (rather than by Lambda, CodeBuild or SageMaker on first write) so they carry our tags
and a retention. SageMaker's groups have fixed names: the endpoint's is named after our endpoint (if
SageMaker created it first, untagged, only its retention is set); the training jobs' group is shared
by every training job of the account and region, so mlpipe only gives it a retention when it has none.
"""

from __future__ import annotations

from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.names import Names
from mlpipe.plan.common import require_owned
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read

MISSING = ("ResourceNotFoundException",)


def find_log_group(clients: Clients, name: str) -> dict[str, Any] | None:
    logs = clients.client("logs")
    response = read(clients, lambda: logs.describe_log_groups(logGroupNamePrefix=name)) or {}
    return next((g for g in response.get("logGroups", []) if g.get("logGroupName") == name), None)


def _tags(clients: Clients, names: Names, name: str) -> dict[str, str]:
    logs = clients.client("logs")
    response = read(clients, lambda: logs.list_tags_for_resource(resourceArn=names.log_group_arn(name)), MISSING)
    return dict((response or {}).get("tags") or {})


def plan_log_group(name: str, retention_days: int, clients: Clients, names: Names) -> Change:
    retention = Call("logs", "put_retention_policy", {"logGroupName": name, "retentionInDays": retention_days})
    group = find_log_group(clients, name)
    if group is None:
        create = Call("logs", "create_log_group", {"logGroupName": name, "tags": names.tags})
        return Change("create", "log-group", name, f"retention {retention_days} days", (create, retention))
    require_owned(names, "log group", name, _tags(clients, names, name))
    current = group.get("retentionInDays")
    if current == retention_days:
        return Change("noop", "log-group", name)
    return Change("update", "log-group", name, f"retention {current} -> {retention_days} days", (retention,))


def plan_log_group_deletion(name: str, clients: Clients, names: Names) -> Change:
    if find_log_group(clients, name) is None:
        return Change("noop", "log-group", name, "absent")
    require_owned(names, "log group", name, _tags(clients, names, name))
    delete = Call("logs", "delete_log_group", {"logGroupName": name}, ok_on=MISSING)
    return Change("delete", "log-group", name, steps=(delete,))


SAGEMAKER_TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def sagemaker_endpoint_log_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def plan_service_log_group(
    name: str, retention_days: int, clients: Clients, names: Names, *, shared: bool = False
) -> Change:
    """A group an AWS service writes under a fixed name (SageMaker): ours with tags when we create it
    first; else retention only (a `shared` group keeps a retention someone already chose)."""
    group = find_log_group(clients, name)
    if group is None:
        tags = {} if shared else {"tags": names.tags}
        create = Call("logs", "create_log_group", {"logGroupName": name, **tags})
        retention = Call("logs", "put_retention_policy", {"logGroupName": name, "retentionInDays": retention_days})
        return Change("create", "log-group", name, f"retention {retention_days} days", (create, retention))
    if not shared and names.owns(_tags(clients, names, name)):
        return plan_log_group(name, retention_days, clients, names)
    current = group.get("retentionInDays")
    if current == retention_days or (shared and current is not None):
        return Change("noop", "log-group", name)
    retention = Call("logs", "put_retention_policy", {"logGroupName": name, "retentionInDays": retention_days})
    detail = f"retention {current or 'never expire'} -> {retention_days} days"
    return Change("update", "log-group", name, detail, (retention,))


def plan_service_log_group_deletion(name: str, clients: Clients, names: Names) -> Change:
    """Deleted only when mlpipe created it (our tags); one SageMaker created is left, and said so."""
    if find_log_group(clients, name) is None:
        return Change("noop", "log-group", name, "absent")
    if not names.owns(_tags(clients, names, name)):
        return Change("noop", "log-group", name, "kept: created by the service, not by mlpipe")
    delete = Call("logs", "delete_log_group", {"logGroupName": name}, ok_on=MISSING)
    return Change("delete", "log-group", name, steps=(delete,))
