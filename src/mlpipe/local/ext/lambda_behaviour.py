"""Lambda behaviours of real AWS that moto lacks and mlpipe must cope with.

- A new function is Pending for a moment, an updated one InProgress: updating or mapping it
  before it is Active/Successful is rejected with ResourceConflictException.
- A second event source mapping for the same queue and function is rejected.
- A mapping whose queue's visibility timeout is shorter than the function timeout is rejected.
- moto's own SQS -> Lambda consumption is switched off (the mapping runner does that job).
- Environment variables are validated as Lambda does: names, reserved keys, 4 KB in total.

The Pending period is MLPIPE_LOCAL_PENDING_SECONDS (default 0.5 s; AWS takes a few seconds).
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from mlpipe.aws_rules import (
    LAMBDA_ENV_KEY_PATTERN,
    LAMBDA_ENV_MAX_BYTES,
    lambda_env_bad_keys,
    lambda_env_reserved_keys,
    lambda_env_size,
)
from mlpipe.local.mapping_runner import detach_moto_consumers
from mlpipe.local.registry import AwsApiError, Context, after, before, on_reset

_pending_until: dict[tuple[str, str], float] = {}  # (region, function name) -> when it becomes Active
_updating_until: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def pending_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("MLPIPE_LOCAL_PENDING_SECONDS", "0.5")))
    except ValueError:
        return 0.5


def function_name(name_or_arn: str) -> str:
    """'my-fn', 'my-fn:1', 'arn:aws:lambda:r:a:function:my-fn[:qualifier]' -> 'my-fn'."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn.split(":")[0]


def _left(table: dict[tuple[str, str], float], key: tuple[str, str]) -> float:
    with _lock:
        until = table.get(key, 0.0)
    return until - time.monotonic()


def _state(ctx: Context, name: str) -> tuple[bool, bool]:
    key = (ctx.region, function_name(name))
    return _left(_pending_until, key) > 0, _left(_updating_until, key) > 0


@after("lambda", "CreateFunction")
def created(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    with _lock:
        _pending_until[(ctx.region, function_name(params["FunctionName"]))] = time.monotonic() + pending_seconds()
    _show(response, pending=True, updating=False)


@after("lambda", "UpdateFunctionCode")
@after("lambda", "UpdateFunctionConfiguration")
def updated(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    with _lock:
        _updating_until[(ctx.region, function_name(params["FunctionName"]))] = time.monotonic() + pending_seconds()
    _show(response, pending=False, updating=True)


@after("lambda", "GetFunction")
def get_function(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    pending, updating = _state(ctx, params["FunctionName"])
    _show(response.get("Configuration", {}), pending, updating)


@after("lambda", "GetFunctionConfiguration")
def get_configuration(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    pending, updating = _state(ctx, params["FunctionName"])
    _show(response, pending, updating)


def _show(config: dict[str, Any], pending: bool, updating: bool) -> None:
    if pending:
        config.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
        config.update(LastUpdateStatus="InProgress")
    elif updating:
        config.update(State="Active", LastUpdateStatus="InProgress", LastUpdateStatusReasonCode="")
    elif config:
        config.update(State="Active", LastUpdateStatus="Successful")


@before("lambda", "UpdateFunctionCode")
@before("lambda", "UpdateFunctionConfiguration")
@before("lambda", "CreateEventSourceMapping")
def must_be_ready(ctx: Context, params: dict[str, Any]) -> None:
    name = params.get("FunctionName")
    if not name:
        return
    pending, updating = _state(ctx, name)
    if pending:
        raise AwsApiError(
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the following state: Pending",
            409,
        )
    if updating:
        raise AwsApiError(
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for resource: "
            f"arn:aws:lambda:{ctx.region}:{ctx.account_id}:function:{function_name(name)}",
            409,
        )


@before("lambda", "CreateEventSourceMapping")
def one_mapping_per_queue_and_function(ctx: Context, params: dict[str, Any]) -> None:
    source, name = params.get("EventSourceArn", ""), params.get("FunctionName", "")
    if ":sqs:" not in source or not name:
        return
    lam = ctx.client("lambda", ctx.region)
    for mapping in lam.list_event_source_mappings(EventSourceArn=source).get("EventSourceMappings", []):
        if function_name(mapping.get("FunctionArn", "")) == function_name(name):
            raise AwsApiError(
                "ResourceConflictException",
                f'An event source mapping with SQS arn (" {source} ") and function (" {function_name(name)} ") '
                f"already exists. Please update or delete the existing mapping with UUID {mapping['UUID']}",
                409,
            )
    _check_visibility(ctx, source, name)


def _check_visibility(ctx: Context, queue_arn: str, name: str) -> None:
    sqs = ctx.client("sqs", ctx.region)
    lam = ctx.client("lambda", ctx.region)
    _, _, _, _, account, queue_name = queue_arn.split(":", 5)
    try:
        url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        visibility = int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
                "VisibilityTimeout"
            ]
        )
        timeout = int(lam.get_function_configuration(FunctionName=name).get("Timeout", 3))
    except (sqs.exceptions.ClientError, lam.exceptions.ClientError):
        return  # moto reports the missing queue or function itself
    if visibility < timeout:
        raise AwsApiError(
            "InvalidParameterValueException",
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: {timeout} seconds",
            400,
        )


@before("lambda", "CreateFunction")
@before("lambda", "UpdateFunctionConfiguration")
def valid_environment(ctx: Context, params: dict[str, Any]) -> None:
    """Lambda's checks, in its order: the key pattern (API validation), reserved keys, then size."""
    variables = (params.get("Environment") or {}).get("Variables") or {}
    if lambda_env_bad_keys(variables):
        raise AwsApiError(
            "ValidationException",
            "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys "
            f"must satisfy constraint: [Member must satisfy regular expression pattern: {LAMBDA_ENV_KEY_PATTERN}]",
            400,
        )
    reserved = lambda_env_reserved_keys(variables)
    if reserved:
        raise AwsApiError(
            "InvalidParameterValueException",
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided contains reserved keys that are currently not supported for modification. Reserved keys used "
            f"in this request: {', '.join(reserved)}",
            400,
        )
    if lambda_env_size(variables) > LAMBDA_ENV_MAX_BYTES:
        measured = json.dumps(variables, separators=(",", ":"), ensure_ascii=False)
        raise AwsApiError(
            "InvalidParameterValueException",
            "Lambda was unable to configure your environment variables because the environment variables you have "
            f"provided exceeded the 4KB limit. String measured: {measured}",
            400,
        )


@after("lambda", "CreateEventSourceMapping")
def stop_moto_consuming(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    detach_moto_consumers()


@on_reset
def forget(ctx: Context) -> None:
    with _lock:
        _pending_until.clear()
        _updating_until.clear()
