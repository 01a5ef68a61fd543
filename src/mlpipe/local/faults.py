"""The fault switch: make a fraction of one operation's calls fail, so reliability is testable offline.

`POST /_mlpipe/faults` with `{"service": "sagemaker-runtime", "operation": "InvokeEndpoint",
"rate": 0.2, "error": "ThrottlingException", "seed": 1}` (status optional); `DELETE` clears all.
Draws come from a seeded generator per fault, so a test run is reproducible for a given call order.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.registry import AwsApiError

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
    calls: int = 0
    injected: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "rate": self.rate,
            "error": self.error,
            "status": self.status,
            "seed": self.seed,
            "calls": self.calls,
            "injected": self.injected,
        }


class FaultSwitch:
    def __init__(self) -> None:
        self._faults: dict[tuple[str, str], Fault] = {}
        self._lock = threading.Lock()

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
            rng=random.Random(seed),
        )
        with self._lock:
            self._faults[(service, operation)] = fault
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active_for(self, service: str) -> bool:
        return any(key[0] == service for key in self._faults)

    def check(self, service: str, operation: str) -> None:
        """Raise the configured error for this call if its draw says so."""
        with self._lock:
            fault = self._faults.get((service, operation))
            if fault is None:
                return
            fault.calls += 1
            if fault.rng.random() >= fault.rate:
                return
            fault.injected += 1
        raise AwsApiError(fault.error, f"injected by the mlpipe fault switch ({operation})", fault.status)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults.values()]
