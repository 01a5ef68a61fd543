"""Function code is confined as Lambda confines it (security review F4): a handler cannot read the
operator's keys, the user's home or the repository checkout, write outside its TMPDIR, or connect to
any TCP port but the embedded AWS's, and still does its normal work (boto3 through the server).

Skipped, with the reason, only where the kernel offers no Landlock; with Landlock and
MLPIPE_LOCAL_SANDBOX=off these tests fail (the handler reads and writes everything)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_helpers import client, create_function, handler_zip, log_lines, wait_for
from test_local_mappings import queues

from mlpipe.local.lambda_sandbox import SECCOMP_ARCH, abi_version

REPO = Path(__file__).resolve().parents[2]
ABI, NO_LANDLOCK = abi_version()

PROBES = """
import json, os, socket

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__

def read(path):
    with open(path) as f:
        f.read()

def write(path):
    with open(path, "w") as f:
        f.write("written by the handler")

def connect(port):
    socket.create_connection(("127.0.0.1", port), timeout=5).close()

def handler(event, context):
    env = os.environ
    import boto3  # Python and its packages stay readable
    arn = boto3.client("sts").get_caller_identity()["Arn"]  # the server's port stays reachable
    results = {
        "credentials": attempt(lambda: read(env["PROBE_CREDENTIALS"])),
        "home_file": attempt(lambda: read(env["PROBE_HOME_FILE"])),
        "home_listing": attempt(lambda: os.listdir(env["PROBE_HOME"])),
        "checkout": attempt(lambda: read(env["PROBE_CHECKOUT_FILE"])),
        "server_environ": attempt(lambda: read("/proc/%d/environ" % os.getppid())),
        "write_outside": attempt(lambda: write(env["PROBE_OUTSIDE_FILE"])),
        "write_tmp": attempt(lambda: write(os.path.join(env["TMPDIR"], "scratch"))),
        "connect_other": attempt(lambda: connect(int(env["PROBE_PORT"]))),
        "unix_socket": attempt(lambda: socket.socket(socket.AF_UNIX).connect(env["PROBE_UNIX_SOCKET"])),
        "home_is_tmp": env["HOME"] == env["TMPDIR"],
        "caller": arn,
    }
    print("PROBES " + json.dumps(results))
    return {}
"""


@pytest.fixture
def secrets(tmp_path: Path) -> dict[str, str]:
    """A credentials file in mlpipe's cache dir and a file in the (fake) home, as the user's would be."""
    cache = Path(os.environ["MLPIPE_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "credentials.json").write_text('{"secret_access_key": "operator-secret"}')
    home = cache.parent
    (home / "aws-credentials").write_text("[default]\naws_secret_access_key = users-real-secret\n")
    return {
        "PROBE_CREDENTIALS": str(cache / "credentials.json"),
        "PROBE_HOME_FILE": str(home / "aws-credentials"),
        "PROBE_HOME": str(home),
        "PROBE_CHECKOUT_FILE": str(REPO / "pyproject.toml"),
        "PROBE_OUTSIDE_FILE": str(tmp_path / "planted.txt"),
    }


@pytest.fixture
def listeners() -> Iterator[dict[str, str]]:
    """Other local services: one on TCP (a database, a debugger), one on a UNIX socket (docker.sock,
    the D-Bus session bus, an ssh-agent: Landlock does not check connect() to a socket file)."""
    short = Path(tempfile.mkdtemp(prefix="sbx-"))  # a socket path has at most 107 bytes
    with socket.socket() as tcp, socket.socket(socket.AF_UNIX) as unix:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        unix.bind(str(short / "agent.sock"))
        unix.listen()
        yield {"PROBE_PORT": str(tcp.getsockname()[1]), "PROBE_UNIX_SOCKET": str(short / "agent.sock")}
    shutil.rmtree(short, ignore_errors=True)


def _probe(endpoint_url: str, env: dict[str, str]) -> dict[str, Any]:
    if not ABI:
        pytest.skip(f"Landlock is unavailable, function code runs unsandboxed here: {NO_LANDLOCK}")
    url, arn, _ = queues(endpoint_url, "probe", visibility=30)
    create_function(endpoint_url, "probe-fn", env, 20, handler_zip(PROBES))
    client(endpoint_url, "lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="probe-fn")
    client(endpoint_url, "sqs").send_message(QueueUrl=url, MessageBody="probe")

    def printed() -> Any:
        lines = log_lines(endpoint_url, "/aws/lambda/probe-fn")
        found = [line for line in lines if line.startswith("PROBES ")]
        assert not [line for line in lines if line.startswith("{")], lines  # the handler itself failed
        return found and json.loads(found[0].removeprefix("PROBES "))

    return dict(wait_for(printed, 60, "the probe handler's line"))


def test_a_handler_cannot_read_the_keys_the_home_or_the_checkout_nor_write_outside_tmp(
    endpoint_url: str, secrets: dict[str, str], listeners: dict[str, str]
) -> None:
    results = _probe(endpoint_url, {**secrets, **listeners})

    assert results["credentials"] == "PermissionError"  # the embedded AWS's operator keys
    assert results["home_file"] == "PermissionError"  # ~/.aws/credentials and the like
    assert results["home_listing"] == "PermissionError"
    assert results["checkout"] == "PermissionError"  # the repository the code may have come from
    assert results["server_environ"] == "PermissionError"  # other processes' /proc
    assert results["write_outside"] == "PermissionError"
    assert not Path(secrets["PROBE_OUTSIDE_FILE"]).exists()
    # ... while it does what a handler does: its /tmp, boto3 with its role's credentials
    assert results["write_tmp"] == "allowed"
    assert results["home_is_tmp"] is True
    assert results["caller"].endswith(":assumed-role/probe-fn-role/probe-fn")


def test_a_handler_connects_to_the_embedded_aws_only(
    endpoint_url: str, secrets: dict[str, str], listeners: dict[str, str]
) -> None:
    if 0 < ABI < 4:
        pytest.skip(f"Landlock ABI {ABI} has no TCP rules (Linux >= 6.7 needed): network is not confined here")
    results = _probe(endpoint_url, {**secrets, **listeners})

    assert results["connect_other"] == "PermissionError"
    assert results["caller"]  # reached the embedded AWS through its port


def test_a_handler_cannot_connect_to_a_unix_socket(
    endpoint_url: str, secrets: dict[str, str], listeners: dict[str, str]
) -> None:
    if ABI and os.uname().machine not in SECCOMP_ARCH:
        pytest.skip(f"no seccomp filter for {os.uname().machine}: UNIX sockets are not confined here")
    results = _probe(endpoint_url, {**secrets, **listeners})

    assert results["unix_socket"] == "PermissionError"


def test_local_status_says_whether_function_code_is_sandboxed(
    endpoint_url: str, operator_keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from mlpipe.cli.app import run
    from mlpipe.local import control

    code, data = control.admin_request(endpoint_url, "GET", "/_mlpipe/status", credentials=operator_keys)
    assert code == 200
    if ABI:
        assert data["lambda_sandbox"] == {
            "sandboxed": True,
            "landlock_abi": ABI,
            "network": ABI >= 4,
            "unix_sockets_blocked": os.uname().machine in SECCOMP_ARCH,
            "reason": "",
        }
        expected = f"Function code: sandboxed (Landlock ABI {ABI}: filesystem"
    else:
        assert data["lambda_sandbox"]["sandboxed"] is False and data["lambda_sandbox"]["reason"] == NO_LANDLOCK
        expected = f"Function code: NOT sandboxed ({NO_LANDLOCK})"
    monkeypatch.setattr(control, "status", lambda: data)  # `local status` reads the recorded server: this one

    assert run(["local", "status"]) == 0
    assert expected in capsys.readouterr().out
    assert run(["--output", "json", "local", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["lambda_sandbox"] == data["lambda_sandbox"]


def test_a_worker_that_cannot_confine_itself_never_imports_the_handler(tmp_path: Path) -> None:
    """Fail closed: rules the worker cannot apply end every invocation with Runtime.SandboxError."""
    import subprocess
    import sys

    from mlpipe.local import lambda_worker

    marker = tmp_path / "imported"
    (tmp_path / "handler.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef handler(e, c):\n    return 1\n")
    worker = subprocess.run(
        [sys.executable, lambda_worker.__file__, str(tmp_path), "handler.handler", json.dumps({"read": 1})],
        input=b"",
        capture_output=True,
        timeout=60,
    )

    ready = json.loads(worker.stdout.splitlines()[0])
    assert ready["init_error"]["errorType"] == "Runtime.SandboxError"
    assert ready["init_error"]["errorMessage"].startswith("cannot confine the function: ")
    assert not marker.exists()
