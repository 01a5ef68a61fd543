"""Input rows for `mlpipe send`: everything that must fail before a single message is sent."""

from __future__ import annotations

import json

import pytest

from mlpipe.errors import UsageError
from mlpipe.ops.rows import (
    MAX_MESSAGE_BYTES,
    Message,
    check_sizes,
    describe_lines,
    json_message,
    pack_rows,
    read_rows,
    validate_rows,
)
from mlpipe.ops.sqs_batch import batches


def test_header_is_detected_and_skipped_with_its_line_number() -> None:
    rows, header = read_rows("crim,zn,indus\n0.1,18,2.3\n\n0.2,0,7.1\n", "rows.csv")
    assert header == 1
    assert [(r.line, r.fields) for r in rows] == [(2, ("0.1", "18", "2.3")), (4, ("0.2", "0", "7.1"))]


def test_a_line_mixing_numbers_and_words_is_data_and_fails_validation_naming_it() -> None:
    rows, header = read_rows("0.1,abc,2.3\n", "rows.csv")
    assert header is None
    with pytest.raises(UsageError, match=r"rows.csv:1: column 2 value 'abc' is not a number"):
        validate_rows(rows, 3, "rows.csv")


@pytest.mark.parametrize(("text", "what"), [("", "nothing"), ("\n \n", "nothing"), ("a,b,c\n", "only a header")])
def test_empty_input_is_refused(text: str, what: str) -> None:
    with pytest.raises(UsageError, match=f"rows.csv: no rows to send \\(it holds {what}"):
        read_rows(text, "rows.csv")


def test_wrong_feature_count_names_the_line_and_suspects_the_target_column() -> None:
    rows, _ = read_rows("1,2,3\n1,2,3\n1,2,3,4\n", "f.csv")
    with pytest.raises(UsageError, match=r"f.csv:3: 4 values, the deployed model expects 3 features \(is the target"):
        validate_rows(rows, 3, "f.csv")
    validate_rows(rows[:2], 3, "f.csv")  # the good lines pass
    validate_rows(rows, None, "f.csv")  # unknown feature count: only numbers are checked


def test_empty_fields_are_missing_values_not_errors() -> None:
    rows, _ = read_rows("1,,3\n", "-")
    validate_rows(rows, 3, "-")
    [message] = pack_rows(rows, 2, "run1")
    assert json.loads(message.body)["instances"] == [[1.0, None, 3.0]]


def test_one_payload_message_per_row_with_correlation_ids_sharing_the_run_prefix() -> None:
    rows, _ = read_rows("1, 2 ,3\n4,5,6\n", "-")
    messages = pack_rows(rows, 1, "abc")
    assert [json.loads(m.body) for m in messages] == [
        {"payload": "1,2,3", "id": "abc-1"},
        {"payload": "4,5,6", "id": "abc-2"},
    ]
    assert [m.lines for m in messages] == [(1,), (2,)]


def test_rows_per_message_packs_instances() -> None:
    rows, _ = read_rows("\n".join(f"{i},0.5" for i in range(5)), "-")
    messages = pack_rows(rows, 2, "r")
    assert [len(json.loads(m.body)["instances"]) for m in messages] == [2, 2, 1]
    assert messages[2].lines == (5,)
    assert json.loads(messages[0].body) == {"instances": [[0.0, 0.5], [1.0, 0.5]], "id": "r-1"}
    with pytest.raises(UsageError, match="--rows-per-message 0"):
        pack_rows(rows, 0, "r")


def test_json_bodies_are_sent_as_is_unless_wait_needs_an_id() -> None:
    text = '{"payload": "1,2,3"}'
    assert json_message(text, "r", need_id=False).body == text
    added = json_message(text, "r", need_id=True)
    assert json.loads(added.body) == {"payload": "1,2,3", "id": "r-1"} and added.correlation_id == "r-1"
    own = json_message('{"payload": "1", "id": "mine"}', "r", need_id=True)
    assert own.correlation_id == "mine" and own.body == '{"payload": "1", "id": "mine"}'
    with pytest.raises(UsageError, match="--wait needs a JSON object"):
        json_message("[1, 2, 3]", "r", need_id=True)


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(UsageError, match=r"--json: malformed JSON at line 1 column 13"):
        json_message('{"payload": }', "r", need_id=False)


def test_bodies_over_one_mib_are_refused_naming_the_first_line() -> None:
    small = Message("x" * 10, "a", (1,))
    big = Message("x" * (MAX_MESSAGE_BYTES + 1), "b", (7, 8))
    check_sizes([small, Message("y" * MAX_MESSAGE_BYTES, "c", (2,))], "f.csv")  # exactly 1 MiB is fine
    with pytest.raises(UsageError, match=r"f.csv:7: message body is 1,048,577 bytes, over the SQS limit"):
        check_sizes([small, big], "f.csv")


def test_batches_hold_at_most_ten_entries_and_one_mib() -> None:
    tiny = [Message("x", str(i), (i,)) for i in range(23)]
    assert [len(b) for b in batches(tiny)] == [10, 10, 3]
    third = MAX_MESSAGE_BYTES // 3
    heavy = [Message("x" * third, str(i), (i,)) for i in range(7)]
    groups = batches(heavy)
    assert [len(b) for b in groups] == [3, 3, 1]
    assert all(sum(heavy[i].size for i in b) <= MAX_MESSAGE_BYTES for b in groups)
    assert sorted(i for b in groups for i in b) == list(range(7))


def test_describe_lines_compresses_runs() -> None:
    assert describe_lines([9, 3, 4, 5, 12, 4]) == "3-5, 9, 12"
    assert describe_lines([]) == ""
