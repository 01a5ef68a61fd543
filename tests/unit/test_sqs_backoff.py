"""The retry schedule of `mlpipe send`: pure arithmetic on a seeded random, no clock involved."""

from __future__ import annotations

import random

from mlpipe.ops.sqs_batch import _backoff


def test_backoff_doubles_from_50_ms_to_a_2_s_cap_with_half_to_one_and_a_half_jitter() -> None:
    state = random.getstate()
    random.seed(7)
    try:
        _check_schedule()
    finally:
        random.setstate(state)


def _check_schedule() -> None:
    for attempt in range(1, 12):
        base = min(2.0, 0.05 * 2 ** (attempt - 1))
        draws = [_backoff(attempt) for _ in range(200)]
        assert all(0.5 * base <= d <= 1.5 * base for d in draws), attempt
        assert max(draws) - min(draws) > 0.5 * base  # jittered: concurrent retries spread out
