from __future__ import annotations

import calendar

import pytest

from mlpipe.errors import UsageError
from mlpipe.ops.since import parse_since

NOW = 1_800_000_000.0  # a fixed "now", in epoch seconds


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [("30s", 30), ("10m", 600), ("1h", 3600), ("2d", 172_800), ("1w", 604_800), (" 5M ", 300)],
)
def test_durations_count_back_from_now(text: str, seconds_ago: int) -> None:
    assert parse_since(text, now=NOW) == int((NOW - seconds_ago) * 1000)


@pytest.mark.parametrize(
    "text", ["2027-01-15T08:00:00Z", "2027-01-15T08:00:00+00:00", "2027-01-15T09:00:00+01:00", "2027-01-15T08:00:00"]
)
def test_iso_instants_naive_means_utc(text: str) -> None:
    assert parse_since(text) == calendar.timegm((2027, 1, 15, 8, 0, 0)) * 1000


@pytest.mark.parametrize("text", ["yesterday", "10", "10 minutes", "1y", "", "2027-13-01"])
def test_unknown_formats_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--since") as caught:
        parse_since(text)
    assert caught.value.hint and "10m" in caught.value.hint
