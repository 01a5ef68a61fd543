"""A clock and a sleep for code that takes them (`clock=`, `sleep=`): the test drives time.

Sleeping advances the clock at once and first runs what the test scheduled for the moments it
passes over (in time order), so a follow loop sees a log line "written 1.5 s after it started"
without anyone waiting 1.5 s, and what the loop did is counted, not timed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []  # every sleep asked for, in order
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # same moment: in the order scheduled

    def clock(self) -> float:
        return self.now

    def at(self, moment: float, action: Callable[[], None]) -> None:
        """Run `action` when the clock first reaches `moment` (within the sleep that passes it)."""
        heapq.heappush(self._due, (moment, next(self._order), action))

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds} s"
        self.sleeps.append(seconds)
        self.now += seconds
        while self._due and self._due[0][0] <= self.now:
            heapq.heappop(self._due)[2]()

    @property
    def pending(self) -> int:
        """Scheduled actions whose moment never came."""
        return len(self._due)
