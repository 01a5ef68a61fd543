"""The fault switch: make a fraction of one operation's calls fail, so reliability is testable offline.

`POST /_mlpipe/faults` with `{"service": "sagemaker-runtime", "operation": "InvokeEndpoint",
"rate": 0.2, "error": "ThrottlingException", "seed": 1}` (status optional); `DELETE` clears all.
Draws come from a seeded generator per fault, so a test run is reproducible for a given call order.

`"after": n` lets the first n calls through untouched. `"hold": true` holds a call instead of
failing it: the request waits (at most `hold_s`, 60 s) until the faults are cleared (`DELETE`, or a
reset), then goes on as normal. `POST /_mlpipe/faults/wait` with `{"service", "operation", "held": n,
"timeout": s}` answers once n calls are held: a test can act at a known point of a client's work
(e.g. Ctrl-C while deploy's CreateFunction is in flight), with no guessed sleep.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local import registry
from mlpipe.local.registry import AwsApiError, Context

# HTTP status AWS uses for the usual transient errors (the caller's retry logic keys on them).
DEFAULT_STATUS = {
    "ThrottlingException": 400,
    "Throttling": 400,
    "TooManyRequestsException": 429,
    "ModelNotReadyException": 429,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "InternalFailure": 500,
    "InternalServerError": 500,
    "InternalDependencyException": 530,
}


@dataclass
class Fault:
    service: str
    operation: str
    rate: float
    error: str = "ThrottlingException"
    status: int = 400
    seed: int | None = None
    after: int = 0  # the first `after` calls pass untouched
    hold: bool = False  # hold the call until the faults are cleared, instead of failing it
    hold_s: float = 60.0
    calls: int = 0
    injected: int = 0
    held: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    release: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "rate": self.rate,
            "error": self.error,
            "status": self.status,
            "seed": self.seed,
            "after": self.after,
            "hold": self.hold,
            "calls": self.calls,
            "injected": self.injected,
            "held": self.held,
        }


class FaultSwitch:
    def __init__(self) -> None:
        self._faults: dict[tuple[str, str], Fault] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a call was held

    def set(self, spec: dict[str, Any]) -> Fault:
        """Add or replace the fault of one operation; ValueError for a bad spec."""
        try:
            service, operation = str(spec["service"]), str(spec["operation"])
            rate = float(spec.get("rate", 1.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a fault needs service, operation and a numeric rate ({exc})") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        error = str(spec.get("error", "ThrottlingException"))
        seed = spec.get("seed")
        fault = Fault(
            service=service,
            operation=operation,
            rate=rate,
            error=error,
            status=int(spec.get("status", DEFAULT_STATUS.get(error, 400))),
            seed=None if seed is None else int(seed),
            after=int(spec.get("after", 0)),
            hold=bool(spec.get("hold", False)),
            hold_s=float(spec.get("hold_s", 60.0)),
            rng=random.Random(seed),
        )
        with self._lock:
            replaced = self._faults.get((service, operation))
            self._faults[(service, operation)] = fault
        if replaced is not None:
            replaced.release.set()
        return fault

    def clear(self) -> None:
        """Remove every fault; held calls go on."""
        with self._lock:
            faults = list(self._faults.values())
            self._faults.clear()
        for fault in faults:
            fault.release.set()

    def wait_held(self, service: str, operation: str, count: int, timeout_s: float) -> bool:
        """True once `count` calls of the operation are held, False at the timeout."""

        def enough() -> bool:
            fault = self._faults.get((service, operation))
            return fault is not None and fault.held >= count

        with self._changed:
            return self._changed.wait_for(enough, timeout_s)

    def active_for(self, service: str) -> bool:
        return any(key[0] == service for key in self._faults)

    def check(self, service: str, operation: str) -> None:
        """Raise the configured error for this call if its draw says so."""
        with self._lock:
            fault = self._faults.get((service, operation))
            if fault is None:
                return
            fault.calls += 1
            if fault.calls <= fault.after or fault.rng.random() >= fault.rate:
                return
            fault.injected += 1
            if fault.hold:
                fault.held += 1
                self._changed.notify_all()
        if fault.hold:
            fault.release.wait(fault.hold_s)
            return
        raise AwsApiError(fault.error, f"injected by the mlpipe fault switch ({operation})", fault.status)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults.values()]


def _wait_route(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /_mlpipe/faults/wait`: answers once `held` calls of the operation are held."""
    switch: FaultSwitch = ctx.state.setdefault("faults", FaultSwitch())
    try:
        service, operation = str(body["service"]), str(body["operation"])
        count, timeout_s = int(body.get("held", 1)), float(body.get("timeout", 30.0))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"wait needs service, operation, held and timeout ({exc})") from None
    if not switch.wait_held(service, operation, count, min(timeout_s, 300.0)):
        raise ValueError(f"fewer than {count} {service}.{operation} call(s) held after {timeout_s:g}s")
    return {"faults": switch.describe()}


registry.ADMIN_ROUTES[("POST", "/_mlpipe/faults/wait")] = _wait_route
