"""Bad payloads for `mlpipe send` against a deployment whose model takes 3 features: every row is
checked before the first message leaves, so a bad one sends nothing. One line naming the input,
the line and the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from battery import Case, run_case

from mlpipe.aws.clients import Clients


def send(id: str, *args: str, expect: str | tuple[str, ...], files: dict[str, str | bytes] | None = None) -> Case:
    return Case(id, ("send", *args), expect, 2, files=files or {}, deployed=True)


BIG = ",".join(["1.5"] * 3) + "," + "9" * 1_100_000
CASES = [
    send("too-few-values", "--payload", "1,2", expect=("--payload:1", "2 values", "3 features")),
    send("target-included", "--payload", "1,2,3,4", expect=("4 values", "is the target column included?")),
    send("not-a-number", "--payload", "1,abc,3", expect=("--payload:1", "column 2", "'abc' is not a number")),
    send("empty-payload", "--payload", "", expect=("--payload", "no rows to send")),
    send("two-rows-in-payload", "--payload", "1,2,3\n4,5,6", expect="--payload takes one row"),
    send("malformed-json", "--json", '{"payload": ', expect=("--json: malformed JSON", "line 1")),
    send("json-array-with-wait", "--json", "[1, 2, 3]", "--wait", expect="--wait needs a JSON object body"),
    send("empty-file", "--file", "rows.csv", expect=("rows.csv: no rows to send", "nothing"), files={"rows.csv": ""}),
    send("header-only", "--file", "rows.csv", expect="only a header line", files={"rows.csv": "a,b,c\n"}),
    send(
        "bad-row-in-file",
        "--file",
        "rows.csv",
        expect=("rows.csv:3", "2 values"),
        files={"rows.csv": "1,2,3\n4,5,6\n7,8\n"},
    ),
    send(
        "word-in-file",
        "--file",
        "rows.csv",
        expect=("rows.csv:2", "'x' is not a number"),
        files={"rows.csv": "1,2,3\n4,x,6\n"},
    ),
    send(
        "file-not-utf8",
        "--file",
        "rows.csv",
        expect=("rows.csv: cannot read", "utf-8"),
        files={"rows.csv": b"1,2,3\n\xff\xfe,1,2\n"},
    ),
    send(
        "message-too-big",
        "--file",
        "rows.csv",
        "--no-validate",
        expect=("rows.csv:1", "over the SQS limit"),
        files={"rows.csv": BIG + "\n"},
    ),
    send(
        "json-too-big", "--json", '{"payload": "' + "1" * 1_100_000 + '"}', "--no-validate", expect="over the SQS limit"
    ),
    send("json-wrong-feature-count", "--json", '{"payload": "1,2"}', expect=("--json", "expected 3 features")),
    send(
        "batch-too-big",
        "--file",
        "rows.csv",
        "-n",
        "10000",
        "--no-validate",
        expect="lower --rows-per-message",
        files={"rows.csv": "".join(f"{i},{i},{'x' * 120}\n" for i in range(10_000))},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_payload_gives_one_line_error_and_sends_nothing(
    case: Case,
    module_clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_case(case, module_clients, endpoint_url, tmp_path, monkeypatch, capsys)  # the queue depths are in the inventory
