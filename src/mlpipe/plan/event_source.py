"""Planner for the SQS -> Lambda event source mapping.

AWS rejects a second mapping for the same queue and function, so the existing one is looked up and
updated; duplicates (which an emulator may have let through) are removed. `observe` does every read
and returns plain snapshots; `diff` and `diff_deletion` decide from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.plan.iam import PROPAGATION_ERRORS
from mlpipe.plan.model import Call, Change, Step, Wait
from mlpipe.plan.reads import flat, read

MISSING = ("ResourceNotFoundException",)
SETTLED = ("Enabled", "Disabled")
# A mapping being created or updated cannot be changed; AWS answers ResourceInUseException.
IN_USE = ("ResourceInUseException",)


@dataclass(frozen=True)
class MappingSpec:
    queue_arn: str
    function: str
    batch_size: int
    batching_window_s: int
    max_concurrency: int | None

    def settings(self) -> dict[str, Any]:
        return {
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.batching_window_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": self.max_concurrency} if self.max_concurrency else {},
            "Enabled": True,
        }


def mapping_spec(config: Config, names: Names) -> MappingSpec:
    f = config.function
    return MappingSpec(
        names.queue_arn(names.trigger_queue), names.function, f.batch_size, f.batching_window_s, f.max_concurrency
    )


def find_mappings(clients: Clients, queue_arn: str, function: str) -> list[dict[str, Any]]:
    """Mappings from this queue to this function (by name, whatever the ARN's qualifier)."""
    lam = clients.client("lambda")
    found: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        kwargs = {"EventSourceArn": queue_arn, **({"Marker": marker} if marker else {})}
        page = read(clients, lambda kw=kwargs: lam.list_event_source_mappings(**kw)) or {}
        for mapping in page.get("EventSourceMappings", []):
            arn = str(mapping.get("FunctionArn", ""))
            if arn.split(":function:")[-1].split(":")[0] == function:
                found.append(mapping)
        marker = page.get("NextMarker")
        if not marker:
            return found


def _current(mapping: dict[str, Any]) -> dict[str, Any]:
    return {
        "BatchSize": mapping.get("BatchSize"),
        "MaximumBatchingWindowInSeconds": mapping.get("MaximumBatchingWindowInSeconds") or 0,
        "FunctionResponseTypes": mapping.get("FunctionResponseTypes") or [],
        "ScalingConfig": {k: v for k, v in (mapping.get("ScalingConfig") or {}).items() if v},
        "Enabled": mapping.get("State") in ("Enabled", "Enabling", "Creating", "Updating"),
    }


def _without_empty(settings: dict[str, Any]) -> dict[str, Any]:
    """No ScalingConfig at all (rather than an empty one) when no maximum concurrency is wanted."""
    return {k: v for k, v in settings.items() if v != {}}


def settled(uuid: str) -> Wait:
    return Wait("lambda", "get_event_source_mapping", {"UUID": uuid}, ("State",), SETTLED,
                description=f"event source mapping {uuid} to settle")  # fmt: skip


@dataclass(frozen=True)
class EventMapping:
    """One existing mapping from the queue to the function: its UUID and settings as AWS reports them,
    and what AWS reports of its state and last processing ("" when a field is absent)."""

    uuid: str
    settings: Mapping[str, Any]
    state: str = ""
    transition_reason: str = ""
    last_result: str = ""


def observe(clients: Clients, queue_arn: str, function: str) -> tuple[EventMapping, ...]:
    """Every mapping from this queue to this function (none: absent; more than one: duplicates)."""
    return tuple(
        EventMapping(
            m["UUID"],
            _current(m),
            str(m.get("State") or ""),
            str(m.get("StateTransitionReason") or ""),
            str(m.get("LastProcessingResult") or ""),
        )
        for m in find_mappings(clients, queue_arn, function)
    )


# A mapping on its way to Enabled is not a problem; any other state stops the function's trigger.
WORKING_STATES = ("Enabled", "Enabling", "Creating", "Updating")
MAPPING_HINT = (
    "re-run `mlpipe deploy`: it rewrites the Lambda role's policy and re-enables the mapping "
    "(`mlpipe tail logs` shows the function's own errors)"
)


def problem(mapping: EventMapping) -> str | None:
    """What AWS reports wrong with a mapping, from the documented fields only: a LastProcessingResult
    starting with "PROBLEM" (e.g. AWS's "PROBLEM: Function call failed"; AWS gives SQS mappings no
    LastProcessingResult at all) and a State that does not poll, with its StateTransitionReason."""
    found = []
    if mapping.last_result.startswith("PROBLEM"):
        found.append(mapping.last_result)
    if mapping.state and mapping.state not in WORKING_STATES:
        reason = f" ({mapping.transition_reason})" if mapping.transition_reason else ""
        found.append(f"State {mapping.state}{reason}")
    return "; ".join(found) or None


def _delete(mapping: EventMapping) -> Call:
    return Call("lambda", "delete_event_source_mapping", {"UUID": mapping.uuid}, ok_on=MISSING, retry_on=IN_USE)


def diff(spec: MappingSpec, observed: Sequence[EventMapping], names: Names) -> Change:
    # The mapping joins our own queue to our own function (both tag-checked), so it is ours.
    label = names.trigger_queue  # a queue feeds one function: the mapping is known by its queue
    desired = spec.settings()
    if not observed:
        create = Call(
            "lambda",
            "create_event_source_mapping",
            {
                "EventSourceArn": spec.queue_arn,
                "FunctionName": spec.function,
                **_without_empty(desired),
                "Tags": names.tags,
            },
            save={"mapping_uuid": "UUID"},
            # AWS checks the function's role may read the queue; a policy put seconds ago may not be
            # visible yet (IAM propagation), and the answer is InvalidParameterValueException.
            retry_on=PROPAGATION_ERRORS,
        )
        detail = f"to {spec.function}, batch {spec.batch_size}, window {spec.batching_window_s}s, partial failures"
        return Change("create", "event-source-mapping", label, detail, (create,))
    keep, extras = observed[0], observed[1:]
    steps: list[Step] = [_delete(m) for m in extras]
    current = keep.settings
    changed = {k: v for k, v in desired.items() if flat(current[k]) != flat(v)}
    details = [f"{len(extras)} duplicate(s) removed"] if extras else []
    if changed:
        steps.append(settled(keep.uuid))
        steps.append(Call("lambda", "update_event_source_mapping", {"UUID": keep.uuid, **changed}, retry_on=IN_USE))
        details.append(", ".join(f"{k} {current[k]} -> {v}" for k, v in changed.items()))
    if not steps:
        return Change("noop", "event-source-mapping", label)
    return Change("update", "event-source-mapping", label, "; ".join(details), tuple(steps))


def plan_mapping(spec: MappingSpec, clients: Clients, names: Names) -> Change:
    return diff(spec, observe(clients, spec.queue_arn, spec.function), names)


def diff_deletion(observed: Sequence[EventMapping], names: Names) -> Change:
    label = names.trigger_queue
    if not observed:
        return Change("noop", "event-source-mapping", label, "absent")
    return Change("delete", "event-source-mapping", label, steps=tuple(_delete(m) for m in observed))


def plan_mapping_deletion(queue_arn: str, function: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(observe(clients, queue_arn, function), names)
