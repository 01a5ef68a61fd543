"""Waiting for something to happen: one deadline-and-interval loop for every wait in mlpipe.

`Poll` is the loop itself, for waits that do something on each pass (report progress, read log
lines, yield a status) or end in their own way; `wait_until` is the common case on top of it: call a
probe until it answers, or raise. Both take the clock and the sleep, so tests wait on a fake clock.
Standard library only: `mlpipe send` and `--help` import this.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from mlpipe.errors import WaitTimeout

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Poll:
    """Iterate to poll: the first pass at once, the next after a sleep of `interval`, and so on until
    the deadline; a sleep never runs past it, so the last pass is at the deadline. Breaking out of
    the loop means done; the loop ending by itself means time ran out.

    `interval` is the next sleep: it grows by `backoff` after each (at most `max_interval_s`), and a
    caller whose pace depends on what it saw (log lines flowing or not) may set it between passes.
    `jitter` adds up to that fraction of the interval at random, so concurrent retries spread out.
    """

    def __init__(
        self,
        timeout_s: float,
        interval_s: float,
        *,
        backoff: float = 1.0,
        max_interval_s: float | None = None,
        jitter: float = 0.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self.started = clock()
        self.deadline = self.started + timeout_s
        self.interval = interval_s
        self.backoff = backoff
        self.max_interval_s = math.inf if max_interval_s is None else max_interval_s
        self.jitter = jitter
        self.passes = 0

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        """The number of this pass (1, 2, ...), after sleeping until it is due."""
        if self.passes:
            left = self.deadline - self.clock()
            if left <= 0:
                raise StopIteration
            pause = self.interval * (1.0 + self.jitter * random.random())
            self.sleep(min(pause, left))
            self.interval = min(self.interval * self.backoff, self.max_interval_s)
        self.passes += 1
        return self.passes


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout_s: float,
    interval_s: float,
    what: str,
    hint: str | None = None,
    backoff: float = 1.0,
    max_interval_s: float | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> T:
    """The first truthy answer of `probe`, asked at once and then every interval until the deadline
    (once more at it); WaitTimeout naming `what` when none came. The probe's own errors propagate."""
    poll = Poll(timeout_s, interval_s, backoff=backoff, max_interval_s=max_interval_s, clock=clock, sleep=sleep)
    for _ in poll:
        answer = probe()
        if answer:
            return answer
    raise WaitTimeout(f"timed out after {timeout_s:g}s waiting for {what}", hint=hint)
