"""Planner for the function's log group: created before the function, with retention and tags.

Created by us (rather than by Lambda on first invocation) so it carries our tags and a retention.
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
