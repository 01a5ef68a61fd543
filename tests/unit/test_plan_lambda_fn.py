"""plan/lambda_fn.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from mlpipe.errors import ForeignResourceError
from mlpipe.lambda_package import Package
from mlpipe.names import Names
from mlpipe.plan.lambda_fn import Function, FunctionSpec, diff, diff_deletion
from mlpipe.plan.model import Call, Change, Ref, Wait

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
PACKAGE = Package(b"zip-bytes", ("handler.py",))
SPEC = FunctionSpec(
    "house-dev-worker",
    "arn:aws:iam::123456789012:role/r",
    "python3.12",
    60,
    512,
    {"ENDPOINT": "house-dev"},
    PACKAGE,
    None,
)


def deployed(
    spec: FunctionSpec = SPEC, tags: dict[str, str] = OURS, reserved: int | None = None, **over: Any
) -> Function:
    """The function as Lambda reports it when it matches `spec` (numbers as numbers), with `over` applied."""
    configuration = {**spec.configuration(), "CodeSha256": spec.package.sha256, "State": "Active", **over}
    return Function(configuration, tags, reserved)


def calls(change: Change) -> list[str]:
    return [s.operation for s in change.steps if isinstance(s, Call)]


def test_a_missing_function_is_created_then_waited_for() -> None:
    change = diff(replace(SPEC, reserved_concurrency=5), None, NAMES)
    assert (change.action, calls(change)) == ("create", ["create_function", "put_function_concurrency"])
    create = change.calls[0]
    assert create.params["Code"] == {"ZipFile": b"zip-bytes"} and create.params["Tags"] == OURS
    waits = [s.path for s in change.steps if isinstance(s, Wait)]
    assert waits == [("State",), ("LastUpdateStatus",)]  # Active and settled before the concurrency call


def test_a_matching_function_is_a_noop() -> None:
    assert diff(SPEC, deployed(), NAMES) == Change("noop", "lambda-function", "house-dev-worker")


@pytest.mark.parametrize(
    ("observed", "operations", "detail"),
    [
        (deployed(CodeSha256="old"), ["update_function_code"], "code changed"),
        (deployed(Timeout=30), ["update_function_configuration"], "Timeout 30 -> 60 changed"),
        (
            deployed(Environment={"Variables": {"ENDPOINT": "x", "OLD": "1"}}),
            ["update_function_configuration"],
            "environment ENDPOINT, OLD changed",
        ),
        (deployed(reserved=3), ["delete_function_concurrency"], "reserved concurrency 3 -> None changed"),
        (
            deployed(CodeSha256="old", MemorySize=128),
            ["update_function_code", "update_function_configuration"],
            "code; MemorySize 128 -> 512 changed",
        ),
    ],
)
def test_an_update_makes_exactly_the_needed_calls(observed: Function, operations: list[str], detail: str) -> None:
    change = diff(SPEC, observed, NAMES)
    assert (change.action, calls(change), change.detail) == ("update", operations, detail)
    if "update_function_configuration" in operations:
        (update,) = [c for c in change.calls if c.operation == "update_function_configuration"]
        differing = {
            k for k, v in observed.configuration.items() if k in SPEC.configuration() and v != SPEC.configuration()[k]
        }
        assert set(update.params) == {"FunctionName", *differing}


def test_an_environment_value_known_only_while_applying_is_always_set() -> None:
    spec = replace(SPEC, environment={"ENDPOINT": "house-dev", "RESULTS": Ref("results_url")})
    change = diff(spec, deployed(spec, Environment={"Variables": {"ENDPOINT": "house-dev", "RESULTS": "u"}}), NAMES)
    assert (change.action, change.detail) == ("update", "environment RESULTS changed")


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "shop", "mlpipe:stage": "dev"}])
def test_an_unowned_function_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="Lambda function 'house-dev-worker'"):
        diff(SPEC, deployed(tags=tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion("house-dev-worker", deployed(tags=tags), NAMES)


def test_deletion() -> None:
    assert diff_deletion("house-dev-worker", None, NAMES).action == "noop"
    assert calls(diff_deletion("house-dev-worker", deployed(), NAMES)) == ["delete_function"]
