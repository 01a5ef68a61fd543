"""Apply a plan, step by step, reporting progress. The only place plans touch AWS."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from mlpipe import interrupts
from mlpipe.aws.calls import call, matches
from mlpipe.aws.clients import Clients
from mlpipe.errors import AwsError, Interrupted, WaitTimeout
from mlpipe.plan.model import Call, Change, Plan, Ref, Wait
from mlpipe.reporter import Reporter
from mlpipe.waiting import Poll

Sleep = Callable[[float], None]
Clock = Callable[[], float]
# A create that finds its resource made since the plan was read, or a conflict with a change in
# progress: another mlpipe run (two deploys at once) got there first.
RACE_CODES = frozenset(
    {
        "EntityAlreadyExists",
        "ResourceAlreadyExistsException",
        "ResourceConflictException",
        "ResourceInUseException",
        "QueueAlreadyExists",
        "QueueNameExists",
        "BucketAlreadyOwnedByYou",
        "RepositoryNameExistsException",
        "AlreadyExistsException",
        "PipelineNameInUseException",
        "ConcurrentModificationException",
    }
)


@dataclass
class ApplyResult:
    applied: list[Change] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": [{"action": c.action, "kind": c.kind, "name": c.name} for c in self.applied],
            "calls": self.calls,
        }


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """Replace Refs (also nested) by the values saved so far."""
    if isinstance(value, Ref):
        if value.var not in variables:
            raise AwsError(f"internal error: plan refers to {value.var!r} before it is known")
        return variables[value.var]
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, variables) for v in value]
    return value


def apply_plan(
    plan: Plan,
    clients: Clients,
    reporter: Reporter,
    sleep: Sleep = time.sleep,
    retry_timeout_s: float = 60.0,
    clock: Clock = time.monotonic,
) -> ApplyResult:
    """Apply the plan's changes in order. A Ctrl-C lets the change in progress finish (its calls and
    waits: no half-made resource), then stops with `Interrupted` saying how many were applied; a
    second Ctrl-C stops at once (mlpipe.interrupts)."""
    result = ApplyResult(vars=dict(plan.vars))
    pending = plan.pending
    change: Change | None = None
    try:
        for change in pending:
            reporter.step(f"{change.action} {change.kind} {change.name}")
            with interrupts.deferred(f"{change.action} {change.kind} {change.name}"):
                for step in change.steps:
                    _step(step, change, clients, result, retry_timeout_s, clock, sleep)
                result.applied.append(change)
                reporter.done(f"{_past(change.action)} {change.kind} {change.name}")
    except KeyboardInterrupt as exc:
        raise interrupted(len(result.applied), len(pending), None if _finished(result, change) else change) from exc
    return result


def _step(
    step: Call | Wait, change: Change, clients: Clients, result: ApplyResult, retry_s: float, clock: Clock, sleep: Sleep
) -> None:
    if isinstance(step, Call):
        # Retried until the deadline, at random intervals so two runs retrying one call drift apart.
        retries = Poll(retry_s, 1.0, backoff=2.0, max_interval_s=10.0, jitter=0.5, clock=clock, sleep=sleep)
        _call(step, clients, result, retries, change)
    else:
        poll = Poll(step.timeout_s, 0.2, backoff=1.5, max_interval_s=5.0, clock=clock, sleep=sleep)
        _wait(step, clients, result.vars, poll)


def _finished(result: ApplyResult, change: Change | None) -> bool:
    return change is None or bool(result.applied and result.applied[-1] is change)


def interrupted(applied: int, planned: int, cut: Change | None) -> Interrupted:
    """What a Ctrl-C during apply says: how far it got; running the command again finishes it (every
    planner reads what AWS has now)."""
    message = f"interrupted after {applied} of {planned} planned change(s)"
    if cut is not None:
        message += f"; {cut.action} {cut.kind} {cut.name} was cut short (running again completes it)"
    return Interrupted(message, rerun=True)


def _past(action: str) -> str:
    return {"create": "created", "update": "updated", "delete": "deleted"}.get(action, action)


def _call(step: Call, clients: Clients, result: ApplyResult, retries: Poll, change: Change) -> None:
    method = getattr(clients.client(step.service), step.operation)
    params = resolve(dict(step.params), result.vars)
    failure: AwsError | None = None
    for _ in retries:
        try:
            result.calls += 1
            response = call(clients, method, **params)
            break
        except AwsError as exc:
            if _matches(exc, step.ok_on):
                return
            if not _matches(exc, step.retry_on):
                _give_up(step, change, exc)
            failure = exc
    else:  # still failing at the deadline
        assert failure is not None
        _give_up(step, change, failure)
    for var, key in step.save.items():
        result.vars[var] = response[key]


def _give_up(step: Call, change: Change, exc: AwsError) -> NoReturn:
    if exc.code in RACE_CODES:
        raise _raced(step, change, exc.code) from exc
    raise exc


def _raced(step: Call, change: Change, code: str) -> AwsError:
    return AwsError(
        f"{step.operation} of {change.kind} {change.name} failed with {code}: it changed since this run "
        "read it; another mlpipe run (a second deploy?) is probably changing the same resources",
        hint="let the other run finish, then run the command again: it converges to mlpipe.yaml",
        code=code,
    )


def _matches(exc: AwsError, patterns: tuple[str, ...]) -> bool:
    return matches(exc.code or "", exc.aws_message, patterns)


def _dig(response: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = response
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _wait(step: Wait, clients: Clients, variables: dict[str, Any], poll: Poll) -> None:
    method = getattr(clients.client(step.service), step.operation)
    params = resolve(dict(step.params), variables)
    status = None
    for _ in poll:
        status = _dig(call(clients, method, **params), step.path)
        if status in step.until:
            return
        if status in step.fail_on:
            raise AwsError(f"{step.description or step.operation}: status {status}")
    raise WaitTimeout(
        f"timed out after {step.timeout_s:.0f}s waiting for {step.description or step.operation} (status {status})",
        hint="run the command again: it continues where it stopped",
    )
