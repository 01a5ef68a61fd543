"""The one call layer: botocore's failures become mlpipe errors, and botocore stays inside aws/ and local/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import botocore.exceptions
import pytest

from mlpipe.aws.calls import call, iterate, read
from mlpipe.aws.clients import Clients, Target
from mlpipe.errors import AwsError, MlpipeError

REPO = Path(__file__).resolve().parents[2]
CLIENTS = Clients(Target("aws", region="us-east-1"))  # no call below reaches a client


def _client_error(code: str, message: str = "some words", status: int = 400) -> botocore.exceptions.ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return botocore.exceptions.ClientError(response, "GetThing")


def _raises(exc: Exception) -> Any:
    def fn(**_: Any) -> NoReturn:
        raise exc

    return fn


def test_read_returns_none_for_a_named_missing_code_and_passes_parameters() -> None:
    seen: dict[str, Any] = {}
    assert read(CLIENTS, lambda **kw: seen.update(kw) or {"ok": 1}, Name="x") == {"ok": 1}
    assert seen == {"Name": "x"}
    assert read(CLIENTS, _raises(_client_error("NoSuchEntity")), missing=("NoSuchEntity",)) is None
    assert read(CLIENTS, _raises(_client_error("NoSuchEntity")), ("NoSuchEntity",)) is None  # positional form


def test_other_codes_become_aws_errors_with_code_and_the_services_message() -> None:
    with pytest.raises(AwsError) as caught:
        read(CLIENTS, _raises(_client_error("Throttling", "Rate exceeded")), missing=("NoSuchEntity",))
    assert caught.value.code == "Throttling"
    assert caught.value.aws_message == "Rate exceeded"
    assert "GetThing failed: Throttling: Rate exceeded" in caught.value.message
    assert not caught.value.transient
    assert isinstance(caught.value.__cause__, botocore.exceptions.ClientError)


def test_connection_failures_are_transient_mlpipe_errors() -> None:
    timeout = botocore.exceptions.ReadTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
    with pytest.raises(MlpipeError) as caught:
        call(CLIENTS, _raises(timeout))
    assert caught.value.transient
    refused = botocore.exceptions.EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
    with pytest.raises(MlpipeError) as caught:
        call(CLIENTS, _raises(refused))
    assert caught.value.transient and "cannot reach" in caught.value.message


def test_iterate_translates_failures_raised_while_streaming() -> None:
    def stream() -> Any:
        yield 1
        raise _client_error("ResourceNotFoundException", "gone")

    got: list[int] = []
    with pytest.raises(AwsError) as caught:
        got.extend(iterate(CLIENTS, stream()))
    assert got == [1] and caught.value.code == "ResourceNotFoundException"


def test_botocore_is_imported_only_by_aws_and_local() -> None:
    leaks = [
        str(path.relative_to(REPO))
        for path in (REPO / "src" / "mlpipe").rglob("*.py")
        if path.parent.name not in ("aws",)
        and "local" not in path.relative_to(REPO / "src" / "mlpipe").parts
        and any(
            line.lstrip().startswith(("import botocore", "from botocore"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert leaks == []


@pytest.mark.skipif(shutil.which("ruff", path=str(Path(sys.executable).parent)) is None, reason="ruff not installed")
def test_ruff_refuses_a_new_botocore_import_outside_aws() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff is not None
    checked = subprocess.run(
        [ruff, "check", "--select", "TID251", "--stdin-filename", "src/mlpipe/ops/new_module.py", "-"],
        input="import botocore.exceptions\n",
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert checked.returncode != 0 and "TID251" in checked.stdout
    allowed = subprocess.run(
        [ruff, "check", "--select", "TID251", "--stdin-filename", "src/mlpipe/aws/new_module.py", "-"],
        input="import botocore.exceptions\n",
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert allowed.returncode == 0, allowed.stdout


def test_a_generic_code_counts_as_missing_only_with_its_message() -> None:
    gone = _client_error("ValidationException", "Could not find endpoint 'x'.")
    invalid = _client_error("ValidationException", "1 validation error detected: Value 'x!' failed")
    missing = ("ValidationException:Could not find",)
    assert read(CLIENTS, _raises(gone), missing=missing) is None
    with pytest.raises(AwsError) as caught:
        read(CLIENTS, _raises(invalid), missing=missing)
    assert caught.value.code == "ValidationException"
