"""AWS's input validation, before moto sees a request (a `registry.AUTHORIZERS` hook).

AWS checks every request against the service's model: required members present, string lengths,
patterns and enums, number ranges, list and map sizes. It answers `ValidationException` (400) with
"N validation error(s) detected: Value '...' at 'member.path' failed to satisfy constraint: ...".
moto checks few of these, so the embedded AWS accepted what AWS refuses: an empty CodeBuild
`serviceRole` or CodePipeline `roleArn` was stored, and the build or pipeline then ran with no role.
botocore's client-side validation only covers required members, types and minimums, and a caller
can switch it off (`parameter_validation=False`), so the server checks the model itself.

Only JSON and REST-JSON services, whose parsed params have the model's shape; SQS (query-compatible,
with its own error codes) and the query/XML services keep moto's checks. docs/CONTRACTS.md.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from mlpipe.local import protocols, registry
from mlpipe.local.registry import AwsApiError, Context

# Their errors are not Coral's ValidationException (SQS answers InvalidParameterValue/MissingParameter).
SKIPPED = frozenset({"sqs"})
MAX_REPORTED = 10


def validate(ctx: Context, identity: Any, request: Any) -> None:
    """The AUTHORIZERS hook: raise AWS's ValidationException when the params break the model."""
    if request.protocol not in ("json", "rest-json") or not request.operation or request.service in SKIPPED:
        return
    shape = _input_shape(request.service, request.operation)
    if shape is None:
        return
    problems: list[str] = []
    _check_structure(shape, request.params, "", problems)
    if problems:
        count = len(problems)
        detail = "; ".join(problems[:MAX_REPORTED])
        noun = "error" if count == 1 else "errors"
        raise AwsApiError("ValidationException", f"{count} validation {noun} detected: {detail}", 400)


@functools.cache
def _input_shape(service: str, operation: str) -> Any:
    model = protocols.service_model(service)
    if model is None or operation not in model.operation_names:
        return None
    return model.operation_model(operation).input_shape


@functools.cache
def _pattern(text: str) -> re.Pattern[str] | None:
    """A model pattern (Java syntax, matched against the whole value); None where Python's re differs."""
    try:
        return re.compile(text)
    except re.error:
        return None


def _at(path: str, name: str) -> str:
    """Coral names members with a lower-case first letter (EndpointName -> 'endpointName')."""
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _check_structure(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        return
    for name in shape.required_members:
        if value.get(name) is None:
            _fail(problems, None, _at(path, name), "not be null")
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _check(member, value[name], _at(path, name), problems)


def _check(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, path, problems)
    elif kind == "list" and isinstance(value, list):
        _check_size(shape, len(value), value, path, problems)
        for i, item in enumerate(value, 1):
            _check(shape.member, item, f"{path}.{i}.member", problems)
    elif kind == "map" and isinstance(value, dict):
        _check_size(shape, len(value), value, path, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.{key}.key", problems)
            _check(shape.value, item, f"{path}.{key}.value", problems)
    elif kind == "string" and isinstance(value, str):
        _check_string(shape, value, path, problems)
    elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        _check_range(shape, value, path, problems)


def _fail(problems: list[str], value: Any, path: str, constraint: str) -> None:
    shown = "null" if value is None else f"'{value}'"
    problems.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")


def _check_size(shape: Any, size: int, value: Any, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        _fail(problems, value, path, f"have length greater than or equal to {low}")
    if high is not None and size > high:
        _fail(problems, value, path, f"have length less than or equal to {high}")


def _check_string(shape: Any, value: str, path: str, problems: list[str]) -> None:
    _check_size(shape, len(value), value, path, problems)
    if shape.enum and value not in shape.enum:
        _fail(problems, value, path, f"satisfy enum value set: [{', '.join(shape.enum)}]")
    text = shape.metadata.get("pattern")
    pattern = _pattern(text) if text else None
    if pattern is not None and pattern.fullmatch(value) is None:
        _fail(problems, value, path, f"satisfy regular expression pattern: {text}")


def _check_range(shape: Any, value: int, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        _fail(problems, value, path, f"have value greater than or equal to {low}")
    if high is not None and value > high:
        _fail(problems, value, path, f"have value less than or equal to {high}")


if validate not in registry.AUTHORIZERS:
    registry.AUTHORIZERS.append(validate)
