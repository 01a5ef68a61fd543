"""Reading a CloudWatch Logs group: one polling sweep at a time, deduplicated by event id.

Shared by `tail logs` and `send --wait`. Fetching is kept apart from rendering; the caller decides
how often to poll (`next_delay`) and what to do with the events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.calls import call
from mlpipe.aws.clients import Clients
from mlpipe.errors import AwsError

# Events can be ingested a little after their timestamp: each sweep looks back this far and
# drops what it has already seen.
OVERLAP_MS = 10_000
THROTTLED = ("ThrottlingException", "Throttling", "TooManyRequestsException", "LimitExceededException")
MISSING = ("ResourceNotFoundException",)


@dataclass(frozen=True)
class LogEvent:
    event_id: str
    timestamp: int  # epoch ms
    stream: str
    message: str

    def record(self) -> dict[str, Any] | None:
        """The structured handler line (docs/CONTRACTS.md) this event holds, if it is one."""
        text = self.message.strip()
        if not text.startswith("{"):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) and "event" in value else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "timestamp": self.timestamp,
            "logStreamName": self.stream,
            "message": self.message,
        }


class LogPoller:
    """Repeated FilterLogEvents sweeps over one log group, each returning only events not seen before.

    Survives a group that does not exist yet (`missing`) and throttling (`throttled`): both make a
    sweep return nothing instead of failing, and `next_delay` backs off.
    """

    def __init__(self, clients: Clients, group: str, start_ms: int, pattern: str | None = None) -> None:
        self.clients = clients
        self.group = group
        self.pattern = pattern
        self.start_ms = start_ms
        self.newest_ms = start_ms
        self.seen: dict[str, int] = {}  # event id -> timestamp, pruned as the window moves
        self.missing = False
        self.throttled = False
        self.requests = 0

    def poll(self) -> list[LogEvent]:
        logs = self.clients.client("logs")
        params: dict[str, Any] = {
            "logGroupName": self.group,
            "startTime": max(self.start_ms, self.newest_ms - OVERLAP_MS),
            "interleaved": True,
        }
        if self.pattern:
            params["filterPattern"] = self.pattern
        fresh: list[LogEvent] = []
        self.missing = self.throttled = False
        try:
            while True:
                self.requests += 1
                page = call(self.clients, logs.filter_log_events, **params)
                fresh.extend(self.accept(page.get("events", [])))
                token = page.get("nextToken")
                if not token or token == params.get("nextToken"):
                    break
                params["nextToken"] = token
        except AwsError as exc:
            if exc.code in MISSING:
                self.missing = True
            elif exc.code in THROTTLED:
                self.throttled = True
            else:
                raise
        # Stable, on the timestamp only: events of one millisecond keep the service's order (a
        # function's END and REPORT lines come after its own output; event ids are opaque strings).
        fresh.sort(key=lambda e: e.timestamp)
        self._prune()
        return fresh

    def accept(self, events: list[dict[str, Any]]) -> list[LogEvent]:
        """The events (FilterLogEvents' shape) not seen before, remembered from now on."""
        out = []
        for raw in events:
            event_id = str(raw.get("eventId") or content_key(raw))
            # Also by content: a live-tail result (no event id) may repeat what a sweep returned.
            by_content = content_key(raw)
            if event_id in self.seen or by_content in self.seen:
                continue
            timestamp = int(raw.get("timestamp", 0))
            self.seen[event_id] = self.seen[by_content] = timestamp
            self.newest_ms = max(self.newest_ms, timestamp)
            out.append(LogEvent(event_id, timestamp, str(raw.get("logStreamName", "")), str(raw.get("message", ""))))
        return out

    def _prune(self) -> None:
        horizon = self.newest_ms - 2 * OVERLAP_MS
        if len(self.seen) > 10_000:
            self.seen = {k: t for k, t in self.seen.items() if t >= horizon}


def content_key(raw: dict[str, Any]) -> str:
    """An id for an event that carries none (StartLiveTail results)."""
    return f"{raw.get('logStreamName')}/{raw.get('timestamp')}/{raw.get('message')}"


def next_delay(previous: float, got_events: bool, throttled: bool, idle_max: float = 1.0) -> float:
    """Poll again soon while events flow, at most every `idle_max` s when idle, much later when throttled."""
    if throttled:
        return min(max(previous, 0.5) * 2, 10.0)
    if got_events:
        return 0.25
    return min(max(previous, 0.25) * 1.5, idle_max)
