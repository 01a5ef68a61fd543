"""Planner for log groups: created before what writes to them, with retention and tags.

Created by us (rather than by Lambda, CodeBuild or SageMaker on first write) so they carry our tags
and a retention. SageMaker's groups have fixed names: the endpoint's is named after our endpoint (if
SageMaker created it first, untagged, only its retention is set); the training jobs' group is shared
by every training job of the account and region, so mlpipe only gives it a retention when it has none.

`observe` does every read and returns a plain snapshot; the `diff*` functions decide from it alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.names import Names
from mlpipe.plan.common import require_owned
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read

MISSING = ("ResourceNotFoundException",)


@dataclass(frozen=True)
class LogGroup:
    """What CloudWatch Logs reports about one group; tags None when they were not read."""

    retention_days: int | None
    tags: Mapping[str, str] | None = None


def find_log_group(clients: Clients, name: str) -> dict[str, Any] | None:
    logs = clients.client("logs")
    response = read(clients, lambda: logs.describe_log_groups(logGroupNamePrefix=name)) or {}
    return next((g for g in response.get("logGroups", []) if g.get("logGroupName") == name), None)


def _tags(clients: Clients, names: Names, name: str) -> dict[str, str]:
    logs = clients.client("logs")
    response = read(clients, lambda: logs.list_tags_for_resource(resourceArn=names.log_group_arn(name)), MISSING)
    return dict((response or {}).get("tags") or {})


def observe(clients: Clients, names: Names, name: str, *, tags: bool = True) -> LogGroup | None:
    """The group `name`, or None. `tags=False` skips reading tags (a group shared by the account)."""
    group = find_log_group(clients, name)
    if group is None:
        return None
    return LogGroup(group.get("retentionInDays"), _tags(clients, names, name) if tags else None)


def _retention(name: str, days: int) -> Call:
    return Call("logs", "put_retention_policy", {"logGroupName": name, "retentionInDays": days})


def _delete(name: str) -> Change:
    delete = Call("logs", "delete_log_group", {"logGroupName": name}, ok_on=MISSING)
    return Change("delete", "log-group", name, steps=(delete,))


def diff(name: str, retention_days: int, observed: LogGroup | None, names: Names) -> Change:
    if observed is None:
        create = Call("logs", "create_log_group", {"logGroupName": name, "tags": names.tags})
        return Change(
            "create", "log-group", name, f"retention {retention_days} days", (create, _retention(name, retention_days))
        )
    require_owned(names, "log group", name, observed.tags)
    current = observed.retention_days
    if current == retention_days:
        return Change("noop", "log-group", name)
    return Change(
        "update",
        "log-group",
        name,
        f"retention {current} -> {retention_days} days",
        (_retention(name, retention_days),),
    )


def diff_deletion(name: str, observed: LogGroup | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "log-group", name, "absent")
    require_owned(names, "log group", name, observed.tags)
    return _delete(name)


def plan_log_group(name: str, retention_days: int, clients: Clients, names: Names) -> Change:
    return diff(name, retention_days, observe(clients, names, name), names)


def plan_log_group_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(name, observe(clients, names, name), names)


SAGEMAKER_TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def sagemaker_endpoint_log_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def diff_service(
    name: str, retention_days: int, observed: LogGroup | None, names: Names, *, shared: bool = False
) -> Change:
    """A group an AWS service writes under a fixed name (SageMaker): ours with tags when we create it
    first; else retention only (a `shared` group keeps a retention someone already chose)."""
    if observed is None:
        tags = {} if shared else {"tags": names.tags}
        create = Call("logs", "create_log_group", {"logGroupName": name, **tags})
        return Change(
            "create", "log-group", name, f"retention {retention_days} days", (create, _retention(name, retention_days))
        )
    if not shared and names.owns(dict(observed.tags or {})):
        return diff(name, retention_days, observed, names)
    current = observed.retention_days
    if current == retention_days or (shared and current is not None):
        return Change("noop", "log-group", name)
    detail = f"retention {current or 'never expire'} -> {retention_days} days"
    return Change("update", "log-group", name, detail, (_retention(name, retention_days),))


def plan_service_log_group(
    name: str, retention_days: int, clients: Clients, names: Names, *, shared: bool = False
) -> Change:
    # A shared group's tags are never read: they are not ours to judge (nor, least privilege, to read).
    return diff_service(name, retention_days, observe(clients, names, name, tags=not shared), names, shared=shared)


def diff_service_deletion(name: str, observed: LogGroup | None, names: Names) -> Change:
    """Deleted only when mlpipe created it (our tags); one SageMaker created is left, and said so."""
    if observed is None:
        return Change("noop", "log-group", name, "absent")
    if not names.owns(dict(observed.tags or {})):
        return Change("noop", "log-group", name, "kept: created by the service, not by mlpipe")
    return _delete(name)


def plan_service_log_group_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_service_deletion(name, observe(clients, names, name), names)
