"""One reading of rows: `send`'s checks and the deployed handler decide the same on every input.

Each case is given to `send` (ops.send.prepare, as the CLI does) and to the handler's own reading
(templates/handler/handler.py, loaded from the templates as Lambda loads it from the zip): both
accept or both refuse, and what the handler would send to the endpoint is the same rows.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from mlpipe.config import Config
from mlpipe.contract import rules
from mlpipe.errors import UsageError
from mlpipe.ops.send import SendInput, prepare

HANDLER_DIR = Path(__file__).resolve().parents[2] / "templates" / "handler"
MODEL = {"feature_names": ["a", "b", "c"], "feature_count": 3, "target": "y"}
ROW = [1.5, 2.0, 3.0]
NAN = None  # a missing value, as the endpoint receives it (an empty CSV cell)


def handler_module() -> Any:
    sys.path.insert(0, str(HANDLER_DIR))
    try:
        for name in ("endpoint_client", "payload_rules", "queue_sends"):
            sys.modules.pop(name, None)
        spec = importlib.util.spec_from_file_location("handler_contract_test", HANDLER_DIR / "handler.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(HANDLER_DIR))


HANDLER = handler_module()
CONFIG = Config(app="demo")
RULES = rules(CONFIG, MODEL)
HANDLER_RULES = HANDLER.Rules(feature_names=MODEL["feature_names"])


def deep(depth: int) -> str:
    return '{"instances": ' + "[" * depth + "1" + "]" * depth + "}"


# (case id, how send gets it, the input, expected rows or the words of the refusal)
CASES: list[tuple[str, str, str, Any]] = [
    ("plain", "payload", "1.5,2,3", [ROW]),
    ("spaces", "payload", " 1.5 , 2 ,3 ", [ROW]),
    ("quoted numbers", "payload", '"1.5","2","3"', [ROW]),
    ("scientific", "payload", "1.5e0,2E0,3e+0", [ROW]),
    ("empty cell", "payload", "1.5,,3", [[1.5, NAN, 3.0]]),
    ("NA token", "payload", "1.5,NA,3", [[1.5, NAN, 3.0]]),
    ("NaN token", "payload", "1.5,NaN,3", [[1.5, NAN, 3.0]]),
    ("question mark", "payload", "1.5,?,3", [[1.5, NAN, 3.0]]),
    ("null token", "payload", "null,2,3", [[NAN, 2.0, 3.0]]),
    ("inf refused", "payload", "1.5,inf,3", "not finite"),
    ("-Infinity refused", "payload", "1.5,-Infinity,3", "not finite"),
    ("word refused", "payload", "1.5,abc,3", "not a number"),
    ("too few", "payload", "1.5,2", "2 value"),
    ("too many", "payload", "1.5,2,3,4", "4 value"),
    ("huge decimal literal", "payload", "1.5," + "9" * 400 + ",3", "overflows"),
    ("json payload", "json", json.dumps({"payload": "1.5,2,3"}), [ROW]),
    ("json instances", "json", json.dumps({"instances": [ROW, ROW]}), [ROW, ROW]),
    ("json list", "json", json.dumps(ROW), [ROW]),
    ("json null", "json", json.dumps({"instances": [[1.5, None, 3]]}), [[1.5, NAN, 3.0]]),
    ("json NaN literal", "json", '{"instances": [[1.5, NaN, 3]]}', [[1.5, NAN, 3.0]]),
    ("json Infinity", "json", '{"instances": [[1.5, Infinity, 3]]}', "not finite"),
    ("json 1e400", "json", '{"instances": [[1.5, 1e400, 3]]}', "not finite"),
    ("json quoted numbers", "json", '{"instances": [["1.5", " 2 ", "3"]]}', [ROW]),
    ("json NA string", "json", '{"instances": [["1.5", "NA", "3"]]}', [[1.5, NAN, 3.0]]),
    ("json boolean", "json", '{"instances": [[1.5, true, 3]]}', "not a number"),
    ("4000-digit int", "json", '{"instances": [[1.5, ' + "9" * 4000 + ", 3]]}", "overflows a float"),
    ("5000-digit int", "json", '{"instances": [[1.5, ' + "9" * 5000 + ", 3]]}", "too long"),
    ("nested too deep", "json", deep(5000), "nested too deeply"),
    ("nested lists", "json", '{"instances": [[1, [2], 3]]}', "feature 2 (b) is not a number"),
    ("truncated", "json", '{"instances": [[1.5, 2, 3]', "malformed JSON"),
    ("no known key", "json", json.dumps({"rows": [ROW]}), "'payload', 'instances' or 'features'"),
    ("empty instances", "json", json.dumps({"instances": []}), "non-empty"),
    ("named", "json", json.dumps({"features": {"a": 1.5, "b": 2, "c": 3}}), [ROW]),
    ("named shuffled", "json", json.dumps({"features": {"c": 3, "a": 1.5, "b": 2}}), [ROW]),
    (
        "named instances",
        "json",
        json.dumps({"instances": [{"b": 2, "c": 3, "a": 1.5}, {"a": 1.5, "b": 2, "c": 3}]}),
        [ROW, ROW],
    ),
    ("named null", "json", json.dumps({"features": {"a": 1.5, "b": None, "c": 3}}), [[1.5, NAN, 3.0]]),
    (
        "unknown name",
        "json",
        json.dumps({"features": {"a": 1.5, "b": 2, "c": 3, "zz": 4}}),
        "unknown feature name 'zz'",
    ),
    ("missing name", "json", json.dumps({"features": {"a": 1.5, "b": 2}}), "feature 'c' is missing"),
    ("too many rows", "json", json.dumps({"instances": [ROW] * 10_001}), "over the limit"),
    ("bad id", "json", json.dumps({"payload": "1.5,2,3", "id": {"x": 1}}), "'id' must be"),
    ("file comma header shuffled", "file", "c,a,b\n3,1.5,2\n", [ROW]),
    ("file target and index dropped", "file", ",y,b,a,c\n0,9,2,1.5,3\n", [ROW]),
    ("file BOM CRLF", "file", "\ufeffa,b,c\r\n1.5,2,3\r\n", [ROW]),
    ("file semicolon decimal comma", "file", "a;b;c\n1,5;2;3\n", [ROW]),
    ("file tab", "file", "a\tb\tc\n1.5\t2\t3\n", [ROW]),
    ("file pipe", "file", "a|b|c\n1.5|2|3\n", [ROW]),
    ("file trailing delimiter", "file", "a,b,c,\n1.5,2,3,\n", [ROW]),
    ("file no header", "file", "1.5,2,3\n1.5,2,3\n", [ROW, ROW]),
    ("file missing tokens", "file", "a,b,c\n1.5,NA,3\n1.5,,3\n", [[1.5, NAN, 3.0]] * 2),
    ("file unknown column", "file", "a,b,zz\n1.5,2,3\n", "column 'zz' is not a feature"),
    ("file ragged", "file", "a,b,c\n1.5,2\n", "read as comma-delimited"),
]


def send_rows(kind: str, text: str) -> list[list[float | None]] | str:
    """What send makes of the input, as the handler reads its messages; or send's refusal."""
    request = {
        "payload": SendInput(payload=text),
        "json": SendInput(json_body=text, source="--json"),
        "file": SendInput(text=text, source="rows.csv", rows_per_message=10),
    }[kind]
    try:
        messages, _ = prepare(request, 3, "run", False, RULES, "y")
    except UsageError as exc:
        return str(exc)
    return [row for m in messages for row in HANDLER.message_rows(m.body, HANDLER_RULES)[0]]


def handler_rows(kind: str, text: str) -> list[list[float | None]] | str:
    try:
        return list(HANDLER.message_rows(text, HANDLER_RULES)[0])
    except HANDLER.Poison as exc:
        return str(exc)


def same(rows: Any, expected: list[list[float | None]]) -> bool:
    return isinstance(rows, list) and [[None if v is None or math.isnan(v) else v for v in r] for r in rows] == expected


@pytest.mark.parametrize(("kind", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_send_and_the_handler_decide_the_same(kind: str, text: str, expected: Any) -> None:
    by_send = send_rows(kind, text)
    if isinstance(expected, str):
        assert isinstance(by_send, str) and expected in by_send, by_send
    else:
        assert same(by_send, expected), by_send
    if kind != "file":  # a body the handler reads as is: it decides as send did
        by_handler = handler_rows(kind, text)
        if isinstance(expected, str):
            assert isinstance(by_handler, str) and expected in by_handler, by_handler
        else:
            assert same(by_handler, expected), by_handler


def test_there_are_at_least_30_cases() -> None:
    assert len(CASES) >= 30


def test_missing_values_reach_the_endpoint_as_empty_cells() -> None:
    rows, _ = HANDLER.message_rows("1.5,NA,3", HANDLER_RULES)
    assert HANDLER.csv_body(rows) == b"1.5,,3.0\n"


def test_custom_missing_tokens_are_shared() -> None:
    config = Config(app="demo", model={"missing_values": ["-999"]})
    custom = rules(config, MODEL)
    assert custom.missing == HANDLER.Rules(missing=["-999"]).missing
    messages, _ = prepare(SendInput(payload="1.5,-999,3"), 3, "run", False, custom, "y")
    assert HANDLER.message_rows(messages[0].body, HANDLER_RULES)[0] == [[1.5, None, 3.0]]
    with pytest.raises(UsageError, match="column 2 value 'NA' is not a number"):
        prepare(SendInput(payload="1.5,NA,3"), 3, "run", False, custom, "y")


def test_mlpipe_reads_rows_with_the_very_file_the_zip_ships() -> None:
    from mlpipe.contract import rules_module
    from mlpipe.lambda_package import build_package

    assert Path(rules_module().__file__) == HANDLER_DIR / "payload_rules.py"
    assert "payload_rules.py" in build_package().files
