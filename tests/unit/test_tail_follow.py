"""Following logs: live tail results are delivered once, until the deadline; a broken stream
hands over to polling. (The embedded AWS has no StartLiveTail endpoint, so this path is unit-tested
with a plain iterable standing in for botocore's event stream.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlpipe.ops.logevents import LogEvent, LogPoller, next_delay
from mlpipe.ops.tail import _follow_live


class Stream:
    def __init__(self, updates: list[dict[str, Any]], fail_after: int | None = None) -> None:
        self.updates = updates
        self.fail_after = fail_after
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import botocore.exceptions

        for n, update in enumerate(self.updates):
            if self.fail_after is not None and n == self.fail_after:
                raise botocore.exceptions.ReadTimeoutError(endpoint_url="https://streaming-logs")
            yield update

    def close(self) -> None:
        self.closed = True


def _update(*messages: tuple[int, str]) -> dict[str, Any]:
    results = [{"logStreamName": "s", "timestamp": ts, "message": m} for ts, m in messages]
    return {"sessionUpdate": {"sessionResults": results}}


def test_live_results_are_delivered_once_until_the_deadline() -> None:
    ticks = iter(range(100))
    stream = Stream(
        [{"sessionStart": {}}, _update((1, "a"), (2, "b")), _update((2, "b"), (3, "c")), _update((4, "d"))] * 2
    )
    got: list[LogEvent] = []
    poller = LogPoller(None, "g", 0)  # type: ignore[arg-type]  # accept() needs no client
    finished = _follow_live(stream, poller, got.extend, deadline=2, clock=lambda: next(ticks))
    assert finished and stream.closed
    assert [e.message for e in got] == ["a", "b", "c"]  # the duplicate "b" dropped; stopped at the deadline
    assert poller.newest_ms == 3


def test_a_broken_stream_hands_over_to_polling() -> None:
    stream = Stream([_update((1, "a")), _update((2, "b"))], fail_after=1)
    got: list[LogEvent] = []
    poller = LogPoller(None, "g", 0)  # type: ignore[arg-type]
    assert not _follow_live(stream, poller, got.extend, deadline=None, clock=lambda: 0.0)
    assert [e.message for e in got] == ["a"] and stream.closed


def test_poll_delay_is_short_while_events_flow_and_backs_off_on_throttling() -> None:
    assert next_delay(1.0, got_events=True, throttled=False) == 0.25
    idle = [0.25]
    for _ in range(6):
        idle.append(next_delay(idle[-1], got_events=False, throttled=False))
    assert idle[-1] == 1.0 and idle == sorted(idle)  # never slower than 1 s when idle: lines show within 2 s
    throttled = [0.25]
    for _ in range(6):
        throttled.append(next_delay(throttled[-1], got_events=False, throttled=True))
    assert throttled[1:] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_live_result_that_the_history_sweep_already_returned_is_not_shown_again() -> None:
    poller = LogPoller(None, "g", 0)  # type: ignore[arg-type]
    history = poller.accept([{"eventId": "e-1", "logStreamName": "s", "timestamp": 1, "message": "a"}])
    got: list[LogEvent] = []
    _follow_live(Stream([_update((1, "a"), (2, "b"))]), poller, got.extend, deadline=None, clock=lambda: 0.0)
    assert [e.message for e in history] == ["a"] and [e.message for e in got] == ["b"]
