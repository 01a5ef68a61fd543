"""Deletion planners for what `mlpipe train` creates: the endpoint, its configs and models, and the
model bucket (emptied first). `destroy` removes them too, since endpoints cost money while they exist.

Only resources named after this app/stage *and* tagged for it are deleted; a same-named endpoint or
bucket without our tags is refused, and other stages' models (whose names share the prefix) are
left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.names import Names
from mlpipe.plan.common import require_owned, tag_dict
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read

SAGEMAKER_MISSING = ("ValidationException", "ResourceNotFound")


def _tags(clients: Clients, arn: str) -> dict[str, str]:
    sm = clients.client("sagemaker")
    return tag_dict((read(clients, lambda: sm.list_tags(ResourceArn=arn), SAGEMAKER_MISSING) or {}).get("Tags"))


def plan_endpoint_deletion(clients: Clients, names: Names) -> Change:
    sm = clients.client("sagemaker")
    endpoint = read(clients, lambda: sm.describe_endpoint(EndpointName=names.endpoint), SAGEMAKER_MISSING)
    if endpoint is None:
        return Change("noop", "sagemaker-endpoint", names.endpoint, "absent")
    require_owned(names, "SageMaker endpoint", names.endpoint, _tags(clients, endpoint["EndpointArn"]))
    delete = Call("sagemaker", "delete_endpoint", {"EndpointName": names.endpoint}, ok_on=SAGEMAKER_MISSING)
    return Change("delete", "sagemaker-endpoint", names.endpoint, endpoint.get("EndpointStatus", ""), (delete,))


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _owned_by_prefix(
    clients: Clients, names: Names, items: list[dict[str, Any]], name_key: str, arn_key: str
) -> list[str]:
    """Names of listed items that carry this app/stage's name prefix and its tags."""
    prefix = f"{names.prefix}-"
    return [
        item[name_key]
        for item in items
        if str(item[name_key]).startswith(prefix) and names.owns(_tags(clients, item[arn_key]))
    ]


def plan_endpoint_configs_deletion(clients: Clients, names: Names) -> list[Change]:
    sm = clients.client("sagemaker")
    configs = read(
        clients, lambda: list(_pages(sm.list_endpoint_configs, "EndpointConfigs", NameContains=names.prefix))
    )
    owned = _owned_by_prefix(clients, names, configs or [], "EndpointConfigName", "EndpointConfigArn")
    return [
        Change("delete", "sagemaker-endpoint-config", name, steps=(
            Call("sagemaker", "delete_endpoint_config", {"EndpointConfigName": name}, ok_on=SAGEMAKER_MISSING),))
        for name in owned
    ]  # fmt: skip


def plan_models_deletion(clients: Clients, names: Names) -> list[Change]:
    sm = clients.client("sagemaker")
    models = read(clients, lambda: list(_pages(sm.list_models, "Models", NameContains=names.prefix)))
    owned = _owned_by_prefix(clients, names, models or [], "ModelName", "ModelArn")
    return [
        Change("delete", "sagemaker-model", name, steps=(
            Call("sagemaker", "delete_model", {"ModelName": name}, ok_on=SAGEMAKER_MISSING),))
        for name in owned
    ]  # fmt: skip
