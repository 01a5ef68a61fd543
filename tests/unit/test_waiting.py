"""mlpipe.waiting on a fake clock: the sleeps it asks for are recorded and advance the clock, nothing
really sleeps."""

from __future__ import annotations

import math

import pytest

from mlpipe.errors import AwsError, WaitTimeout
from mlpipe.waiting import Poll, wait_until


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_ready_probe_returns_at_once_without_sleeping() -> None:
    t = FakeTime()
    assert wait_until(lambda: "ready", timeout_s=10, interval_s=1, what="x", clock=t.clock, sleep=t.sleep) == "ready"
    assert t.sleeps == []


def test_the_first_truthy_answer_is_returned() -> None:
    t = FakeTime()
    answers = iter([None, "", 0, {"Status": "Done"}, "later"])
    found = wait_until(lambda: next(answers), timeout_s=10, interval_s=0.5, what="x", clock=t.clock, sleep=t.sleep)
    assert found == {"Status": "Done"}
    assert t.sleeps == [0.5, 0.5, 0.5]


def test_times_out_exactly_at_the_deadline_after_a_last_probe_there() -> None:
    t = FakeTime()
    probed_at: list[float] = []

    def probe() -> None:
        probed_at.append(t.now)

    with pytest.raises(WaitTimeout) as caught:
        wait_until(probe, timeout_s=2.5, interval_s=1, what="endpoint e", hint="h", clock=t.clock, sleep=t.sleep)
    assert probed_at == [100.0, 101.0, 102.0, 102.5]  # the last sleep is cut to end at the deadline
    assert t.now == 102.5
    assert str(caught.value) == "timed out after 2.5s waiting for endpoint e"
    assert caught.value.hint == "h"
    assert isinstance(caught.value, AwsError) and caught.value.exit_code == 5


def test_a_zero_timeout_probes_once() -> None:
    t = FakeTime()
    calls: list[int] = []
    with pytest.raises(WaitTimeout):
        wait_until(lambda: calls.append(1), timeout_s=0, interval_s=1, what="x", clock=t.clock, sleep=t.sleep)
    assert calls == [1] and t.sleeps == []


def test_backoff_grows_the_interval_up_to_its_cap() -> None:
    t = FakeTime()
    with pytest.raises(WaitTimeout):
        wait_until(
            lambda: None,
            timeout_s=100,
            interval_s=1,
            backoff=2,
            max_interval_s=10,
            what="x",
            clock=t.clock,
            sleep=t.sleep,
        )
    assert t.sleeps[:6] == [1, 2, 4, 8, 10, 10]
    assert sum(t.sleeps) == 100
    assert t.sleeps[-1] == 100 - sum(t.sleeps[:-1]) <= 10


def test_no_sleep_passes_the_deadline_even_when_probes_take_time() -> None:
    t = FakeTime()

    def slow_probe() -> None:
        t.now += 0.7  # each call costs time on the same clock

    with pytest.raises(WaitTimeout):
        wait_until(slow_probe, timeout_s=5, interval_s=2, what="x", clock=t.clock, sleep=t.sleep)
    ends, elapsed = [], 0.0
    for seconds in t.sleeps:
        elapsed += 0.7 + seconds
        ends.append(elapsed)
    assert all(end <= 5 for end in ends)
    assert t.now == pytest.approx(100 + 5 + 0.7)  # the last probe started at the deadline


def test_a_probe_error_propagates_at_once() -> None:
    t = FakeTime()

    def probe() -> None:
        raise AwsError("endpoint e is Failed")

    with pytest.raises(AwsError, match="Failed") as caught:
        wait_until(probe, timeout_s=10, interval_s=1, what="x", clock=t.clock, sleep=t.sleep)
    assert not isinstance(caught.value, WaitTimeout)
    assert t.sleeps == []


def test_poll_ends_by_itself_at_the_deadline_and_counts_passes() -> None:
    t = FakeTime()
    poll = Poll(3, 1, clock=t.clock, sleep=t.sleep)
    seen = [(n, poll.elapsed) for n in poll]
    assert seen == [(1, 0), (2, 1), (3, 2), (4, 3)]
    assert poll.remaining == 0


def test_poll_takes_an_interval_set_between_passes() -> None:
    t = FakeTime()
    poll = Poll(10, 1, backoff=2, clock=t.clock, sleep=t.sleep)
    for n in poll:
        if n == 2:
            poll.interval = 0.25  # e.g. log lines are flowing: look again soon
        if n == 4:
            break
    assert t.sleeps == [1, 0.25, 0.5]


def test_jitter_adds_at_most_its_fraction() -> None:
    t = FakeTime()
    for n in Poll(1000, 1, jitter=0.5, clock=t.clock, sleep=t.sleep):
        if n == 50:
            break
    assert all(1 <= s <= 1.5 for s in t.sleeps) and len(set(t.sleeps)) > 1


def test_an_infinite_timeout_polls_until_the_caller_stops() -> None:
    t = FakeTime()
    for n in Poll(math.inf, 0.3, clock=t.clock, sleep=t.sleep):
        if n == 1000:
            break
    assert len(t.sleeps) == 999 and set(t.sleeps) == {0.3}
