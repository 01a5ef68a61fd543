"""Planner for the Lambda function: code, configuration and reserved concurrency.

Code changed -> only UpdateFunctionCode; configuration changed -> UpdateFunctionConfiguration. Every
update waits for the function to be Active and its last update finished, as AWS requires.
`observe` does every read and returns a plain snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.lambda_package import Package
from mlpipe.names import Names
from mlpipe.plan.common import require_owned
from mlpipe.plan.iam import PROPAGATION_ERRORS
from mlpipe.plan.model import Call, Change, Ref, Step, Wait
from mlpipe.plan.reads import flat, read

HANDLER = "handler.handler"
MISSING = ("ResourceNotFoundException",)
# A function may not be changed while an earlier update is still in progress.
CONFLICT = ("ResourceConflictException",)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    role_arn: str
    runtime: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, Any]  # values may be Refs (queue URLs known only while applying)
    package: Package
    reserved_concurrency: int | None
    description: str = ""

    def configuration(self) -> dict[str, Any]:
        return {
            "Role": self.role_arn,
            "Runtime": self.runtime,
            "Handler": HANDLER,
            "Timeout": self.timeout_s,
            "MemorySize": self.memory_mb,
            "Environment": {"Variables": dict(self.environment)},
        }


def function_spec(config: Config, names: Names, environment: Mapping[str, Any], package: Package) -> FunctionSpec:
    f = config.function
    return FunctionSpec(
        name=names.function,
        role_arn=names.role_arn(names.lambda_role),
        runtime=f.runtime,
        timeout_s=f.timeout_s,
        memory_mb=f.memory_mb,
        environment=environment,
        package=package,
        reserved_concurrency=f.reserved_concurrency,
        description=f"mlpipe {names.app}/{names.stage}: SQS {names.trigger_queue} -> SageMaker {names.endpoint}",
    )


def ready(name: str, settled_statuses: tuple[str, ...] = ("Successful",)) -> tuple[Wait, Wait]:
    """Wait until the function is Active (or Inactive: idle for weeks, which an update wakes up) and
    its last update has finished."""
    params = {"FunctionName": name}
    return (
        Wait("lambda", "get_function_configuration", params, ("State",), ("Active", "Inactive"), ("Failed",),
             description=f"function {name} to become Active"),
        Wait("lambda", "get_function_configuration", params, ("LastUpdateStatus",), settled_statuses, ("Failed",),
             description=f"function {name} update to finish"),
    )  # fmt: skip


def _differences(spec: FunctionSpec, current: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    desired = spec.configuration()
    now = {key: current.get(key) for key in desired}
    now["Environment"] = {"Variables": (current.get("Environment") or {}).get("Variables") or {}}
    out = {}
    for key, value in desired.items():
        if _has_ref(value) or flat(now[key]) != flat(value):
            out[key] = (now[key], value)
    return out


def _has_ref(value: Any) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, Mapping):
        return any(_has_ref(v) for v in value.values())
    return False


def _describe(key: str, current: Any, desired: Any) -> str:
    """'Timeout 30 -> 60', or for the environment the names of the variables that differ."""
    if key != "Environment":
        return f"{key} {current} -> {desired}"
    now, wanted = current["Variables"], desired["Variables"]
    differing = sorted(k for k in set(now) | set(wanted) if _has_ref(wanted.get(k)) or now.get(k) != wanted.get(k))
    return "environment " + ", ".join(differing)


def _concurrency_steps(spec: FunctionSpec, current: int | None) -> tuple[Call, ...]:
    if spec.reserved_concurrency == current:
        return ()
    if spec.reserved_concurrency is None:
        return (Call("lambda", "delete_function_concurrency", {"FunctionName": spec.name}, ok_on=MISSING),)
    return (
        Call(
            "lambda",
            "put_function_concurrency",
            {"FunctionName": spec.name, "ReservedConcurrentExecutions": spec.reserved_concurrency},
        ),
    )


@dataclass(frozen=True)
class Function:
    """What Lambda reports about the function (GetFunction): configuration, tags, reserved concurrency."""

    configuration: Mapping[str, Any]
    tags: Mapping[str, str]
    reserved_concurrency: int | None = None


def observe(clients: Clients, name: str) -> Function | None:
    lam = clients.client("lambda")
    found = read(clients, lambda: lam.get_function(FunctionName=name), MISSING)
    if found is None:
        return None
    reserved = (found.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
    return Function(found["Configuration"], dict(found.get("Tags") or {}), reserved)


def diff(spec: FunctionSpec, observed: Function | None, names: Names) -> Change:
    if observed is None:
        create = Call(
            "lambda",
            "create_function",
            {
                "FunctionName": spec.name,
                **spec.configuration(),
                "Code": {"ZipFile": spec.package.zip_bytes},
                "Description": spec.description,
                "Tags": names.tags,
            },
            retry_on=PROPAGATION_ERRORS,  # the role was just created and is not assumable yet
        )
        steps: tuple[Step, ...] = (create, *ready(spec.name), *_concurrency_steps(spec, None))
        detail = f"{spec.runtime}, {spec.memory_mb} MB, timeout {spec.timeout_s}s, zip {spec.package.size} bytes"
        return Change("create", "lambda-function", spec.name, detail, steps)
    require_owned(names, "Lambda function", spec.name, observed.tags)
    steps, details = _update_steps(spec, observed)
    if not steps:
        return Change("noop", "lambda-function", spec.name)
    steps += ready(spec.name)
    return Change("update", "lambda-function", spec.name, "; ".join(details) + " changed", steps)


def _update_steps(spec: FunctionSpec, observed: Function) -> tuple[tuple[Step, ...], list[str]]:
    """Code, configuration and concurrency calls for what differs, each after the function settled."""
    current = observed.configuration
    steps: tuple[Step, ...] = ()
    details = []
    if current.get("CodeSha256") != spec.package.sha256:
        code = Call("lambda", "update_function_code", {"FunctionName": spec.name, "ZipFile": spec.package.zip_bytes},
                    retry_on=CONFLICT)  # fmt: skip
        steps += (*ready(spec.name, ("Successful", "Failed")), code)
        details.append("code")
    differences = _differences(spec, current)
    if differences:
        update = Call(
            "lambda",
            "update_function_configuration",
            {"FunctionName": spec.name, **{key: desired for key, (_, desired) in differences.items()}},
            retry_on=CONFLICT,
        )
        steps += (*ready(spec.name, ("Successful", "Failed")), update)
        details.append(", ".join(_describe(key, now, desired) for key, (now, desired) in differences.items()))
    reserved = observed.reserved_concurrency
    concurrency = _concurrency_steps(spec, reserved)
    if concurrency:
        steps += concurrency
        details.append(f"reserved concurrency {reserved} -> {spec.reserved_concurrency}")
    return steps, details


def plan_function(spec: FunctionSpec, clients: Clients, names: Names) -> Change:
    return diff(spec, observe(clients, spec.name), names)


def diff_deletion(name: str, observed: Function | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "lambda-function", name, "absent")
    require_owned(names, "Lambda function", name, observed.tags)
    delete = Call("lambda", "delete_function", {"FunctionName": name}, ok_on=MISSING)
    return Change("delete", "lambda-function", name, steps=(delete,))


def plan_function_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(name, observe(clients, name), names)
