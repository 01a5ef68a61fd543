"""`mlpipe local git-credential` answers git with the server's keys, for that server only."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.local.gitcred import answer
from mlpipe.local.state import ServerState


def server(**keys: Any) -> ServerState:
    return ServerState(pid=1, port=4599, **keys)


KEYS = {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cret"}


@pytest.mark.parametrize(
    ("action", "request_lines", "expected"),
    [
        ("get", "protocol=http\nhost=127.0.0.1:4599\npath=v1/repos/app\n", "username=AKIAEXAMPLE\npassword=s3cret\n"),
        ("get", "protocol=http\nhost=localhost:4599\n", "username=AKIAEXAMPLE\npassword=s3cret\n"),
        ("get", "protocol=http\nhost=127.0.0.1:4600\n", ""),  # another port: another server
        ("get", "protocol=https\nhost=git-codecommit.us-east-1.amazonaws.com\n", ""),
        ("get", "protocol=http\nhost=evil.example:4599\n", ""),
        ("store", "protocol=http\nhost=127.0.0.1:4599\nusername=x\npassword=y\n", ""),
        ("erase", "protocol=http\nhost=127.0.0.1:4599\n", ""),
    ],
)
def test_answers_only_for_the_recorded_server(action: str, request_lines: str, expected: str) -> None:
    assert answer(action, request_lines, server(**KEYS)) == expected


def test_nothing_without_a_running_server() -> None:
    assert answer("get", "protocol=http\nhost=127.0.0.1:4599\n", None) == ""
