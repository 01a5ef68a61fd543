"""Shared fixtures: one embedded-AWS server per test session on a free port, reset between tests.

Functional tests talk to it over real HTTP through boto3, with botocore's parameter validation on,
signing with the server's operator keys: `endpoint_url` exports them (AWS_ACCESS_KEY_ID/SECRET,
as `eval "$(mlpipe local env)"` does for a user), `clients` passes them to the target explicitly.
"""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mlpipe.local.server import EmbeddedServer

REPO = Path(__file__).resolve().parents[1]
# The tutorial's training data, kept in the repository so a fresh clone's `make test` needs nothing else.
BOSTON_CSV = REPO / "tests" / "data" / "boston_train.csv"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's AWS config, credentials or mlpipe cache."""
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    for var in list(os.environ):
        if var.startswith(("AWS_", "MLPIPE_")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MLPIPE_CACHE_DIR", str(home / "mlpipe-cache"))
    monkeypatch.setenv("NO_COLOR", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedServer]:
    """The embedded AWS, started once per session."""
    from mlpipe.local.server import EmbeddedServer

    server = EmbeddedServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def aws_server(embedded_server: EmbeddedServer) -> str:
    """The session server's endpoint URL (state not reset: prefer `endpoint_url`)."""
    return embedded_server.endpoint_url


@pytest.fixture
def operator_keys(embedded_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The server's operator keys, exported as boto3 and the aws CLI read them."""
    operator = embedded_server.operator
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", operator.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", operator.secret_access_key)
    return operator.access_key_id, operator.secret_access_key


@pytest.fixture
def endpoint_url(aws_server: str, operator_keys: tuple[str, str]) -> str:
    """The server's URL, with all state reset before the test (and its keys exported)."""
    from mlpipe.local.control import admin_request

    status, body = admin_request(aws_server, "POST", "/moto-api/reset", b"", credentials=operator_keys)
    assert status == 200, body
    return aws_server


def local_target(endpoint_url: str, keys: tuple[str, str]):  # type: ignore[no-untyped-def]
    from mlpipe.aws.clients import Credentials, Target

    return Target("local", region="us-east-1", endpoint_url=endpoint_url, credentials=Credentials(*keys))


@pytest.fixture(scope="module")
def module_clients(embedded_server: EmbeddedServer):  # type: ignore[no-untyped-def]
    """One set of clients for a whole test module (creating boto3 clients costs ~0.6 s, more than
    many tests): pair it with `endpoint_url`, which resets the server's state before each test."""
    from mlpipe.aws.clients import Clients

    operator = embedded_server.operator
    return Clients(local_target(embedded_server.endpoint_url, (operator.access_key_id, operator.secret_access_key)))


@pytest.fixture
def clients(endpoint_url: str, operator_keys: tuple[str, str]):  # type: ignore[no-untyped-def]
    from mlpipe.aws.clients import Clients

    return Clients(local_target(endpoint_url, operator_keys))


@pytest.fixture(scope="session")
def _pypi_reachable() -> str:
    """'' when the package index answers, else why not (bootstrap-pipeline builds its wheelhouse from it)."""
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10).read(1)
    except OSError as exc:
        return f"PyPI is unreachable ({exc}): bootstrap-pipeline cannot build the build's wheelhouse"
    return ""


@pytest.fixture
def pypi(_pypi_reachable: str) -> None:
    """For tests that run bootstrap-pipeline: skip, with the reason, when PyPI cannot be reached."""
    if _pypi_reachable:
        pytest.skip(_pypi_reachable)


UNIT_TESTS = REPO / "tests" / "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests start no embedded AWS: one that needs it is a CLI or functional test, and `make
    test-fast` stays quick. Every server fixture depends on `embedded_server`."""
    for item in items:
        if UNIT_TESTS in Path(item.path).parents and "embedded_server" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} uses the embedded AWS: move it to tests/functional or tests/cli")
