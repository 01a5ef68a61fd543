"""`--since 10m|1h|2d|ISO-8601` -> a point in time, in epoch milliseconds (what CloudWatch Logs wants)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from mlpipe.errors import UsageError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
MAX_BACK_DAYS = 3653  # CloudWatch Logs' longest retention (10 years): nothing older can be there


def parse_since(text: str, now: float | None = None) -> int:
    """Epoch ms for a duration ago ('10m') or an ISO-8601 instant (naive means UTC)."""
    now = time.time() if now is None else now
    match = _RELATIVE.match(text.lower())
    if match:
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds > MAX_BACK_DAYS * 86_400:
            raise UsageError(
                f"--since '{text}': more than {MAX_BACK_DAYS} days back, longer than any log retention",
                hint=f"use at most {MAX_BACK_DAYS}d, or an ISO-8601 time such as 2026-11-26T14:00:00Z",
            )
        return int((now - seconds) * 1000)
    try:
        instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since '{text}': not a duration or an ISO-8601 time",
            hint="use e.g. 30s, 10m, 1h, 2d, 1w, or 2026-11-26T14:00:00Z",
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    if instant.timestamp() < 0:
        raise UsageError(f"--since '{text}': before 1970, earlier than any log event", hint="use a later time")
    return int(instant.timestamp() * 1000)
