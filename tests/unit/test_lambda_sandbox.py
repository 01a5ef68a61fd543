"""The Lambda worker's sandbox rules (pure parts; tests/functional/test_local_lambda_sandbox.py
shows the kernel enforcing them)."""

from __future__ import annotations

import logging

import pytest

from mlpipe.local import lambda_sandbox as sandbox
from mlpipe.local.lambda_confine import SandboxState, probe

PREFIXES = ["/home/dev/.pyenv/versions/3.11.7", "/home/dev/project/.venv", "/home/dev/project/.venv/lib/site"]
PROTECTED = ["/home/dev", "/home/dev/.cache/mlpipe", "/home/dev/project"]


def _plan(**overrides: object) -> dict[str, object]:
    args: dict[str, object] = {
        "code_dir": "/tmp/code/abc",
        "tmp_dir": "/tmp/code/tmp-fn-1",
        "port": 4599,
        "protected": PROTECTED,
        "prefixes": PREFIXES,
    }
    return sandbox.plan(**{**args, **overrides})  # type: ignore[arg-type]


def test_the_worker_reads_python_the_system_and_its_code_and_writes_only_its_tmp() -> None:
    rules = _plan()

    assert rules["read"] == [*PREFIXES, *sandbox.SYSTEM_READ, "/tmp/code/abc"]
    assert rules["write"] == ["/tmp/code/tmp-fn-1"]
    assert rules["connect_ports"] == [4599]
    assert rules["read_self_proc"] is True  # its own /proc/<pid> only
    assert rules["block_unix_sockets"] is True  # Landlock does not check connect() to a socket file
    assert set(rules["devices"]) == {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"}  # type: ignore[arg-type]


def test_no_grant_may_contain_the_home_the_cache_or_the_checkout() -> None:
    # A Python prefix that is the home itself, or holds mlpipe's cache, would expose the keys: dropped.
    rules = _plan(prefixes=["/home/dev", "/home/dev/.cache", "/home/dev/.pyenv/versions/3.11.7", "/"])

    assert rules["read"] == ["/home/dev/.pyenv/versions/3.11.7", *sandbox.SYSTEM_READ, "/tmp/code/abc"]


def test_duplicates_and_relative_spellings_are_granted_once() -> None:
    rules = _plan(prefixes=["/usr", "/usr/", "/usr/lib/../lib"])

    assert rules["read"].count("/usr") == 1  # type: ignore[union-attr]
    assert rules["read"].count("/usr/lib") == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("abi", "fs_bits", "net", "scoped", "size"),
    [
        (1, 13, 0, 0, 8),  # filesystem only
        (2, 14, 0, 0, 8),  # + REFER
        (3, 15, 0, 0, 8),  # + TRUNCATE
        (4, 15, sandbox.NET_CONNECT_TCP, 0, 16),  # + TCP connect rules (struct grows)
        (5, 16, sandbox.NET_CONNECT_TCP, 0, 16),  # + IOCTL_DEV
        (6, 16, sandbox.NET_CONNECT_TCP, 3, 24),  # + signal and abstract UNIX socket scopes
        (7, 16, sandbox.NET_CONNECT_TCP, 3, 24),  # (audit flags only)
    ],
)
def test_what_a_ruleset_handles_follows_the_kernels_abi(
    abi: int, fs_bits: int, net: int, scoped: int, size: int
) -> None:
    assert sandbox.handled(abi) == ((1 << fs_bits) - 1, net, scoped, size)


def test_read_rights_are_read_and_execute_only_and_a_file_takes_file_rights_only() -> None:
    assert sandbox.READ == sandbox.EXECUTE | sandbox.READ_FILE | sandbox.READ_DIR
    assert not sandbox.READ & sandbox.WRITE_FILE
    assert sandbox.DEVICES["/dev/null"] & ~sandbox.FILE_RIGHTS == 0
    assert sandbox.READ_DIR & sandbox.FILE_RIGHTS == 0


def test_the_switch_turns_the_sandbox_off_and_the_log_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mlpipe.local"):
        state = probe({"MLPIPE_LOCAL_SANDBOX": "off"})

    assert state == SandboxState(False, 0, "MLPIPE_LOCAL_SANDBOX=off")
    assert state.as_dict() == {
        "sandboxed": False,
        "landlock_abi": 0,
        "network": False,
        "unix_sockets_blocked": False,
        "reason": state.reason,
    }
    assert [r.getMessage() for r in caplog.records] == [
        "Lambda function code runs NOT sandboxed (MLPIPE_LOCAL_SANDBOX=off): a handler can read your files, "
        "~/.aws and the embedded AWS's operator keys"
    ]


def test_an_unavailable_landlock_is_reported_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.sys, "platform", "darwin")

    assert sandbox.abi_version() == (0, "Landlock is a Linux kernel feature (this is darwin)")
    state = probe({})
    assert not state.sandboxed and state.reason.startswith("Landlock is a Linux kernel feature")
    assert state.describe().startswith("NOT sandboxed (Landlock is a Linux kernel feature")


def test_the_status_line_names_the_abi_and_whether_tcp_is_confined() -> None:
    assert SandboxState(True, 7).describe() == "sandboxed (Landlock ABI 7: filesystem, TCP connect to this server only)"
    assert SandboxState(True, 7, unix_sockets_blocked=True).describe().endswith("server only, no UNIX sockets)")
    assert SandboxState(True, 3).describe() == "sandboxed (Landlock ABI 3: filesystem (this kernel: no TCP rules))"
    assert SandboxState(True, 7).as_dict()["network"] is True
    assert SandboxState(True, 3).as_dict()["network"] is False
