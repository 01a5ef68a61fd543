"""SageMaker endpoints in the embedded AWS: UpdateEndpoint (moto answers HTTP 500) and its
Updating -> InService transition, so `mlpipe train` updates an endpoint in place as on AWS.

Like AWS, the endpoint keeps its name and ARN and keeps serving while Updating; an update of an
endpoint that is still changing, or to a config that does not exist, is refused.
"""

from __future__ import annotations

import time
from typing import Any

from mlpipe.local.registry import AwsApiError, Context, after, on_reset, override, persistent

UPDATE_SECONDS = 0.5  # how long an update stays in "Updating" (AWS: minutes)
STATE_KEY = "sagemaker_endpoints"


def _find(ctx: Context, name: str) -> tuple[Any, Any]:
    """(region backend, endpoint) of the endpoint called `name`, in any account and region."""
    from moto.sagemaker.models import sagemaker_backends

    for account in list(sagemaker_backends):
        for backend in dict.values(sagemaker_backends[account]):
            endpoint = backend.endpoints.get(name)
            if endpoint is not None:
                return backend, endpoint
    raise AwsApiError("ValidationException", f'Could not find endpoint "{name}".')


def _settling(ctx: Context) -> dict[str, float]:
    """Endpoint ARN -> monotonic time it becomes InService; reset with the server's state."""
    state: dict[str, float] = ctx.state.setdefault(STATE_KEY, {})
    return state


@on_reset
def _forget(ctx: Context) -> None:
    ctx.state.pop(STATE_KEY, None)


@override("sagemaker", "UpdateEndpoint")
def update_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from moto.core.utils import utcnow

    backend, endpoint = _find(ctx, params["EndpointName"])
    _settle(ctx, endpoint)
    if endpoint.endpoint_status != "InService":
        raise AwsApiError(
            "ValidationException",
            f'Cannot update in-progress endpoint "{endpoint.arn}" (status {endpoint.endpoint_status}).',
        )
    config_name = params["EndpointConfigName"]
    config = backend.endpoint_configs.get(config_name)
    if config is None:
        raise AwsApiError("ValidationException", f'Could not find endpoint configuration "{config_name}".')
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
    endpoint.endpoint_status = "Updating"
    endpoint.last_modified_time = utcnow()
    _settling(ctx)[endpoint.arn] = time.monotonic() + UPDATE_SECONDS
    return {"EndpointArn": endpoint.arn}


def _settle(ctx: Context, endpoint: Any) -> None:
    ready_at = _settling(ctx).get(endpoint.arn)
    if ready_at is not None and time.monotonic() >= ready_at:
        endpoint.endpoint_status = "InService"
        _settling(ctx).pop(endpoint.arn, None)  # concurrent DescribeEndpoint calls may race here


@after("sagemaker", "DescribeEndpoint")
def describe_endpoint(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    try:
        _, endpoint = _find(ctx, params["EndpointName"])
    except AwsApiError:
        return
    _settle(ctx, endpoint)
    response["EndpointStatus"] = endpoint.endpoint_status
    response["EndpointConfigName"] = endpoint.endpoint_config_name


def _after_restart(ctx: Context) -> None:
    """Deadlines of another process's clock mean nothing here: an update in progress is done."""
    from moto.sagemaker.models import sagemaker_backends

    pending = set(_settling(ctx))
    for _, _, backend in sagemaker_backends.iter_backends():
        for endpoint in backend.endpoints.values():  # type: ignore[attr-defined]
            if endpoint.arn in pending:
                endpoint.endpoint_status = "InService"
    _settling(ctx).clear()


persistent(STATE_KEY, _after_restart)
