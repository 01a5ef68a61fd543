"""The embedded AWS's JSON filter patterns (moto matches every line for them)."""

from __future__ import annotations

import json

import pytest

from mlpipe.local.ext.logs_filter import json_pattern, message_matches

PREDICTION = {
    "event": "prediction",
    "message_id": "m1",
    "correlation_id": "ab12-7",
    "rows": 2,
    "predictions": [21.5, 30.0],
    "latency_ms": 812.5,
    "meta": {"warm": True, "tags": ["a", "b"]},
}
POISON = {"event": "poison", "message_id": "m2", "correlation_id": "zz-1", "reason": "bad row", "excerpt": None}


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ('{ $.event = "prediction" }', ["m1"]),
        ("{ $.event = poison }", ["m2"]),
        ('{ $.correlation_id = "ab12-*" }', ["m1"]),
        ('{ $.event != "prediction" }', ["m2"]),
        ("{ $.latency_ms > 500 }", ["m1"]),
        ("{ $.latency_ms <= 500 }", []),
        ("{ $.rows = 2 }", ["m1"]),
        ("{ $.predictions[1] >= 30 }", ["m1"]),
        ('{ $.meta.tags[0] = "a" }', ["m1"]),
        ("{ $.meta.warm IS TRUE }", ["m1"]),
        ("{ $.excerpt IS NULL }", ["m2"]),
        ("{ $.reason EXISTS }", ["m2"]),
        ("{ $.reason NOT EXISTS }", ["m1"]),
        ('{ ($.event = "poison") || ($.latency_ms > 800) }', ["m1", "m2"]),
        ('{ $.event = "prediction" && $.rows = 1 || $.message_id = "m2" }', ["m2"]),
        ('{ $.missing = "x" }', []),
    ],
)
def test_json_patterns_select_like_cloudwatch(pattern: str, matches: list[str]) -> None:
    matcher = json_pattern(pattern)
    lines = [json.dumps(PREDICTION), json.dumps(POISON), "START RequestId: 1", "[1, 2]"]
    selected = [json.loads(line)["message_id"] for line in lines if message_matches(matcher, line)]
    assert selected == matches


@pytest.mark.parametrize(
    "pattern", ["{ $.a = }", "{ $.a ~ 1 }", "{ $.a > big }", "{ a = 1 }", "{ ($.a = 1 }", "$.a = 1", "{ $.a IS maybe }"]
)
def test_malformed_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(ValueError):
        json_pattern(pattern)
