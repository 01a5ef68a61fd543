"""The endpoint side of `train` and `rollback`: wait for an endpoint to settle, and once a version
serves, record it (models/current.json) and remove versions older than the previous one (deletion
Changes from mlpipe.plan.sagemaker, applied by plan.apply). Imports no xgboost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlpipe import interrupts
from mlpipe.aws.calls import call
from mlpipe.aws.clients import Clients
from mlpipe.errors import AwsError, Interrupted, WaitTimeout
from mlpipe.names import Names
from mlpipe.ops import model_store
from mlpipe.plan.apply import apply_plan
from mlpipe.plan.model import Plan
from mlpipe.plan.sagemaker import SETTLING, Observed, cleanup_changes, observe, observe_versions
from mlpipe.reporter import Reporter
from mlpipe.waiting import Poll

if TYPE_CHECKING:
    from mlpipe.ops.train import TrainResult

Sleep = Callable[[float], None]
Clock = Callable[[], float]


def endpoint_status(clients: Clients, names: Names) -> str:
    sm = clients.client("sagemaker")
    return str(call(clients, sm.describe_endpoint, EndpointName=names.endpoint)["EndpointStatus"])


def wait_endpoint(
    clients: Clients,
    names: Names,
    reporter: Reporter,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    timeout_s: float = 1800.0,
    updating: bool = False,
) -> str:
    """Poll until the endpoint leaves its transitional state; Failed raises with SageMaker's reason."""
    last = status = None
    sm = clients.client("sagemaker")
    poll = Poll(timeout_s, 0.1, backoff=1.6, max_interval_s=10.0, clock=clock, sleep=sleep)
    for _ in poll:
        endpoint = call(clients, sm.describe_endpoint, EndpointName=names.endpoint)
        status = endpoint["EndpointStatus"]
        elapsed = poll.elapsed
        if status != last:
            reporter.step(f"endpoint {names.endpoint}: {status} ({elapsed:.0f}s)")
            last = status
        reporter.progress(f"endpoint {names.endpoint} {status}, seconds", int(elapsed), None)
        if status == "InService":
            return str(status)
        if status in ("Failed", "OutOfService"):
            raise _failed(names, status, endpoint.get("FailureReason"), updating)
    raise WaitTimeout(
        f"endpoint {names.endpoint} still {status} after {poll.elapsed:.0f}s",
        hint="it continues in the background: check `mlpipe status`",
    )


def _failed(names: Names, status: str, reason: str | None, updating: bool) -> AwsError:
    hint = (
        "the endpoint keeps serving the previous model; fix the cause and train again"
        if updating
        else "fix the cause, then train again (mlpipe replaces the failed endpoint)"
    )
    return AwsError(f"endpoint {names.endpoint} is {status}: {reason or 'SageMaker gave no reason'}", hint=hint)


def settled(
    clients: Clients,
    names: Names,
    reporter: Reporter,
    sleep: Sleep,
    clock: Clock,
    dry_run: bool,
    timeout_s: float,
) -> Observed:
    """What exists now; an endpoint still changing is waited for (AWS refuses to update it meanwhile)."""
    seen = observe(clients, names)
    if seen.endpoint_status in SETTLING and not dry_run:
        reporter.step(f"endpoint {names.endpoint} is {seen.endpoint_status}: waiting before changing it")
        wait_endpoint(clients, names, reporter, sleep, clock, timeout_s=timeout_s, updating=True)
        seen = observe(clients, names)
    if seen.endpoint_status in ("Failed", "OutOfService"):
        raise AwsError(
            f"endpoint {names.endpoint} is {seen.endpoint_status}: {seen.failure_reason or 'no reason given'}",
            hint=f"delete it (`aws sagemaker delete-endpoint --endpoint-name {names.endpoint}`), then train again",
        )
    return seen


def finish(
    clients: Clients,
    names: Names,
    reporter: Reporter,
    result: TrainResult,
    metadata: dict[str, Any],
    updating: bool,
    no_wait: bool,
    timeout_s: float,
    sleep: Sleep,
    clock: Clock,
) -> None:
    """Wait for the endpoint, record the current version, remove versions older than the previous one.
    A Ctrl-C while waiting records the version as `--no-wait` does (SageMaker goes on updating)."""
    if no_wait:
        status = endpoint_status(clients, names)
    else:
        try:
            status = wait_endpoint(clients, names, reporter, sleep, clock, timeout_s=timeout_s, updating=updating)
        except KeyboardInterrupt as exc:
            raise _stopped_waiting(clients, names, reporter, result, metadata) from exc
    _record(clients, names, reporter, result, metadata, status)
    if status == "InService":  # nothing is removed before the new version is known to serve
        keep = {result.version} | ({result.previous_version} if result.previous_version else set())
        result.removed = cleanup(clients, names, keep, reporter, sleep)


def _stopped_waiting(
    clients: Clients, names: Names, reporter: Reporter, result: TrainResult, metadata: dict[str, Any]
) -> Interrupted:
    recorded = False
    try:
        with interrupts.deferred(f"recording version {result.version} as the current model"):
            _record(clients, names, reporter, result, metadata, endpoint_status(clients, names))
            recorded = True
    except KeyboardInterrupt:
        pass  # held until recorded (or cut short by another Ctrl-C: then not recorded)
    if not recorded:
        return Interrupted(
            f"interrupted while endpoint {names.endpoint} was updating to version {result.version}, "
            "before it was recorded as the current model",
            hint="run `mlpipe train` again",
        )
    return Interrupted(
        f"interrupted while waiting for endpoint {names.endpoint}: SageMaker goes on updating it to version "
        f"{result.version} (recorded as current, as with --no-wait)",
        hint="`mlpipe status` shows when it is InService",
    )


def _record(
    clients: Clients, names: Names, reporter: Reporter, result: TrainResult, metadata: dict[str, Any], status: str
) -> None:
    result.endpoint_status = status
    current = {
        **metadata,
        "version": result.version,
        "artifact_uri": result.artifact_uri,
        "endpoint": names.endpoint,
        "endpoint_config": result.model_name,
        "model_name": result.model_name,
        "previous_version": result.previous_version,
        "endpoint_status": status,
    }
    model_store.write_current(clients, names, current)
    reporter.done(f"endpoint {names.endpoint} serves version {result.version} ({status})")


def cleanup(clients: Clients, names: Names, keep: set[str], reporter: Reporter, sleep: Sleep) -> list[str]:
    """Delete this app's endpoint configs and models except the versions in `keep`."""
    changes = cleanup_changes(names, observe_versions(clients, names, keep), keep)
    if not changes:
        return []
    apply_plan(Plan(changes), clients, reporter, sleep=sleep)
    reporter.done(f"removed {len(changes)} old endpoint config(s)/model(s)")
    return [f"{c.kind.removeprefix('sagemaker-')} {c.name}" for c in changes]
