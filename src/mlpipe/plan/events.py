"""Planner for the EventBridge rule that starts a CodeCommit pipeline on a push to its branch.

AWS's recommended trigger for CodeCommit sources: CodePipeline stops polling a pipeline that has not
run for 30 days, so the source action's PollForSourceChanges is false and this rule starts runs.
The rule's only target is the pipeline, through a role that may only StartPipelineExecution on it.
`observe` does every read and returns a plain snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import PipelineConfig
from mlpipe.names import Names
from mlpipe.plan.common import normalized, require_owned, tag_dict, tag_list
from mlpipe.plan.iam import RoleSpec
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read
from mlpipe.policies.events_role import events_role_policy

MISSING = ("ResourceNotFoundException",)
TARGET_ID = "codepipeline"
# A role just created is not usable by EventBridge for a few seconds (PutTargets validates it).
ROLE_NOT_READY = ("ValidationException:role",)


def events_role_spec(names: Names) -> RoleSpec:
    return RoleSpec(
        names.events_role, "events.amazonaws.com", dict(events_role_policy(names)), "mlpipe pipeline trigger"
    )


def event_pattern(pipeline: PipelineConfig, names: Names) -> dict[str, Any]:
    """A push that creates or moves the tracked branch of the app's repository (AWS's documented pattern)."""
    return {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [names.repository_arn()],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": [pipeline.branch],
        },
    }


def _rule_fields(pipeline: PipelineConfig, names: Names) -> dict[str, Any]:
    return {
        "Name": names.events_rule,
        "EventPattern": json.dumps(event_pattern(pipeline, names), sort_keys=True),
        "State": "ENABLED",
        "Description": f"Start {names.pipeline} on a push to {names.repository}@{pipeline.branch}",
    }


def _targets(names: Names) -> list[dict[str, str]]:
    return [{"Id": TARGET_ID, "Arn": names.pipeline_arn(), "RoleArn": names.role_arn(names.events_role)}]


@dataclass(frozen=True)
class Rule:
    """What EventBridge reports about the rule (DescribeRule), its tags and its targets."""

    definition: Mapping[str, Any]
    tags: Mapping[str, str]
    targets: tuple[Mapping[str, Any], ...] = ()


def observe(clients: Clients, names: Names) -> Rule | None:
    events = clients.client("events")
    current = read(clients, lambda: events.describe_rule(Name=names.events_rule), MISSING)
    if current is None:
        return None
    tags = read(clients, lambda: events.list_tags_for_resource(ResourceARN=current["Arn"]), MISSING) or {}
    listed = read(clients, lambda: events.list_targets_by_rule(Rule=names.events_rule), MISSING) or {}
    return Rule(current, tag_dict(tags.get("Tags")), tuple(listed.get("Targets", [])))


def diff(pipeline: PipelineConfig, observed: Rule | None, names: Names) -> Change:
    fields = _rule_fields(pipeline, names)
    put_targets = Call(
        "events", "put_targets", {"Rule": names.events_rule, "Targets": _targets(names)}, retry_on=ROLE_NOT_READY
    )
    if observed is None:
        put_rule = Call("events", "put_rule", {**fields, "Tags": tag_list(names.tags)})
        return Change("create", "events-rule", names.events_rule, f"push to {pipeline.branch}", (put_rule, put_targets))
    require_owned(names, "EventBridge rule", names.events_rule, observed.tags)
    current, targets = observed.definition, observed.targets
    differ = [
        k for k in ("EventPattern", "State", "Description") if normalized(current.get(k)) != normalized(fields[k])
    ]
    steps: list[Call] = [Call("events", "put_rule", fields)] if differ else []
    stray = [t["Id"] for t in targets if t.get("Id") != TARGET_ID]
    if stray:  # the rule starts our pipeline and nothing else
        steps.append(Call("events", "remove_targets", {"Rule": names.events_rule, "Ids": stray}))
        differ.append(f"{len(stray)} other target(s)")
    ours = [{k: t.get(k) for k in ("Id", "Arn", "RoleArn")} for t in targets if t.get("Id") == TARGET_ID]
    if ours != _targets(names):
        steps.append(put_targets)
        differ.append("target")
    if not steps:
        return Change("noop", "events-rule", names.events_rule)
    return Change("update", "events-rule", names.events_rule, ", ".join(differ) + " changed", tuple(steps))


def plan_rule(pipeline: PipelineConfig, clients: Clients, names: Names) -> Change:
    return diff(pipeline, observe(clients, names), names)


def diff_deletion(observed: Rule | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "events-rule", names.events_rule, "absent")
    require_owned(names, "EventBridge rule", names.events_rule, observed.tags)
    steps: list[Call] = []
    if observed.targets:
        ids = [t["Id"] for t in observed.targets]
        steps.append(Call("events", "remove_targets", {"Rule": names.events_rule, "Ids": ids}, ok_on=MISSING))
    steps.append(Call("events", "delete_rule", {"Name": names.events_rule}, ok_on=MISSING))
    return Change("delete", "events-rule", names.events_rule, steps=tuple(steps))


def plan_rule_deletion(clients: Clients, names: Names) -> Change:
    return diff_deletion(observe(clients, names), names)
