"""The AWS side of `mlpipe train`: what exists now (read calls only), the plan that creates or
updates the model bucket, execution role, SageMaker model, endpoint config and endpoint, and the
wait for the endpoint. Used by `mlpipe.ops.train`; imports no xgboost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlpipe.aws.calls import call, iterate
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import AwsError, ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.model import Call, Change
from mlpipe.reporter import Reporter

VARIANT = "AllTraffic"
SETTLING = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
Sleep = Callable[[float], None]
Clock = Callable[[], float]


def aws(clients: Clients, service: str, operation: str, **params: Any) -> Any:
    """One read call by operation name (the call layer turns failures into mlpipe errors)."""
    return call(clients, getattr(clients.client(service), operation), **params)


def _tag_list(names: Names) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in names.tags.items()]


def _tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def _foreign(kind: str, name: str, names: Names, tags: dict[str, str]) -> ForeignResourceError:
    owner = f"app '{tags.get('mlpipe:app')}' stage '{tags.get('mlpipe:stage')}'" if tags else "no mlpipe tags"
    return ForeignResourceError(
        f"{kind} '{name}' exists but is not mlpipe's for app '{names.app}' stage '{names.stage}' ({owner})",
        hint="mlpipe never adopts resources it did not create: delete or rename it, or change app/stage",
    )


@dataclass
class Observed:
    """What AWS reports now about this app's training resources."""

    endpoint_status: str | None = None
    endpoint_config: str | None = None
    failure_reason: str | None = None
    versions: set[str] = field(default_factory=set)  # versions with a model or endpoint config


def version_pattern(names: Names) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(names.prefix)}-(\d{{8}}-\d{{6}}(?:-\d+)?)$")


def observe(clients: Clients, names: Names) -> Observed:
    """Read calls only; refuses (ForeignResourceError) anything with our name but not our tags."""
    seen = Observed()
    _observe_endpoint(clients, names, seen)
    pattern = version_pattern(names)
    sm = clients.client("sagemaker")
    for page in iterate(clients, sm.get_paginator("list_endpoint_configs").paginate(NameContains=names.prefix)):
        seen.versions |= {m.group(1) for c in page["EndpointConfigs"] if (m := pattern.match(c["EndpointConfigName"]))}
    for page in iterate(clients, sm.get_paginator("list_models").paginate(NameContains=names.prefix)):
        seen.versions |= {m.group(1) for c in page["Models"] if (m := pattern.match(c["ModelName"]))}
    return seen


def _observe_endpoint(clients: Clients, names: Names, seen: Observed) -> None:
    sm = clients.client("sagemaker")
    try:
        endpoint = call(clients, sm.describe_endpoint, EndpointName=names.endpoint)
    except AwsError as exc:
        if exc.code == "ValidationException" and "Could not find" in exc.aws_message:
            return
        raise
    tags = _tag_dict(aws(clients, "sagemaker", "list_tags", ResourceArn=endpoint["EndpointArn"])["Tags"])
    if not names.owns(tags):
        raise _foreign("SageMaker endpoint", names.endpoint, names, tags)
    seen.endpoint_status = endpoint["EndpointStatus"]
    seen.endpoint_config = endpoint.get("EndpointConfigName")
    seen.failure_reason = endpoint.get("FailureReason")


# --- desired state -> changes -----------------------------------------------------------------


def upload_change(names: Names, key: str, body: bytes, content_type: str, detail: str = "") -> Change:
    return Change(
        "create",
        "s3-object",
        f"s3://{names.model_bucket}/{key}",
        detail=detail,
        steps=(
            Call(
                "s3",
                "put_object",
                {
                    "Bucket": names.model_bucket,
                    "Key": key,
                    "Body": body,
                    "ContentType": content_type,
                    "ServerSideEncryption": "AES256",
                },
            ),
        ),
    )


def variant(config: Config, model_name: str) -> dict[str, Any]:
    endpoint = config.endpoint
    if endpoint.type == "serverless":
        return {
            "VariantName": VARIANT,
            "ModelName": model_name,
            "ServerlessConfig": {"MemorySizeInMB": endpoint.memory_mb, "MaxConcurrency": endpoint.max_concurrency},
        }
    return {
        "VariantName": VARIANT,
        "ModelName": model_name,
        "InstanceType": endpoint.instance_type,
        "InitialInstanceCount": endpoint.instance_count,
        "InitialVariantWeight": 1.0,
    }


def serving_changes(
    config: Config,
    names: Names,
    seen: Observed,
    version: str,
    image_uri: str,
    model_data_url: str,
    role_arn: str,
    role_is_new: bool,
) -> tuple[Change, ...]:
    """SageMaker model + a new endpoint config + create the endpoint or update it in place."""
    name = names.model_name(version)
    tags = _tag_list(names)
    model = Call(
        "sagemaker",
        "create_model",
        {
            "ModelName": name,
            "PrimaryContainer": {"Image": image_uri, "ModelDataUrl": model_data_url},
            "ExecutionRoleArn": role_arn,
            "Tags": tags,
        },
        # A role created seconds ago is not assumable yet (IAM propagation): SageMaker says so.
        retry_on=("ValidationException:assume",) if role_is_new else (),
    )
    endpoint_config = Call(
        "sagemaker",
        "create_endpoint_config",
        {"EndpointConfigName": name, "ProductionVariants": [variant(config, name)], "Tags": tags},
    )
    size = (
        f"serverless {config.endpoint.memory_mb} MB x{config.endpoint.max_concurrency}"
        if config.endpoint.type == "serverless"
        else f"{config.endpoint.instance_count} x {config.endpoint.instance_type}"
    )
    changes = [
        Change("create", "sagemaker-model", name, detail=image_uri, steps=(model,)),
        Change("create", "sagemaker-endpoint-config", name, detail=size, steps=(endpoint_config,)),
    ]
    if seen.endpoint_status is None:
        create = Call(
            "sagemaker", "create_endpoint", {"EndpointName": names.endpoint, "EndpointConfigName": name, "Tags": tags}
        )
        changes.append(Change("create", "sagemaker-endpoint", names.endpoint, detail=name, steps=(create,)))
    else:
        update = Call("sagemaker", "update_endpoint", {"EndpointName": names.endpoint, "EndpointConfigName": name})
        changes.append(
            Change(
                "update",
                "sagemaker-endpoint",
                names.endpoint,
                detail=f"{seen.endpoint_config} -> {name}",
                steps=(update,),
            )
        )
    return tuple(changes)


# --- waiting and cleaning up -----------------------------------------------------------------


def wait_endpoint(
    clients: Clients,
    names: Names,
    reporter: Reporter,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    timeout_s: float = 1800.0,
    updating: bool = False,
) -> str:
    """Poll until the endpoint leaves its transitional state; Failed raises with SageMaker's reason."""
    start = clock()
    delay = 0.1
    last = None
    while True:
        endpoint = aws(clients, "sagemaker", "describe_endpoint", EndpointName=names.endpoint)
        status = endpoint["EndpointStatus"]
        elapsed = clock() - start
        if status != last:
            reporter.step(f"endpoint {names.endpoint}: {status} ({elapsed:.0f}s)")
            last = status
        reporter.progress(f"endpoint {names.endpoint} {status}, seconds", int(elapsed), None)
        if status == "InService":
            return str(status)
        if status in ("Failed", "OutOfService"):
            reason = endpoint.get("FailureReason") or "SageMaker gave no reason"
            hint = (
                "the endpoint keeps serving the previous model; fix the cause and train again"
                if updating
                else "fix the cause, then train again (mlpipe replaces the failed endpoint)"
            )
            raise AwsError(f"endpoint {names.endpoint} is {status}: {reason}", hint=hint)
        if elapsed > timeout_s:
            raise AwsError(
                f"endpoint {names.endpoint} still {status} after {elapsed:.0f}s",
                hint="it continues in the background: check `mlpipe status`",
            )
        sleep(delay)
        delay = min(delay * 1.6, 10.0)


def cleanup(clients: Clients, names: Names, keep: set[str], reporter: Reporter) -> list[str]:
    """Delete this app's endpoint configs and models except the versions in `keep`."""
    removed: list[str] = []
    sm = clients.client("sagemaker")
    pattern = version_pattern(names)
    kinds = (
        (
            "list_endpoint_configs",
            "EndpointConfigs",
            "EndpointConfigName",
            "EndpointConfigArn",
            "delete_endpoint_config",
        ),
        ("list_models", "Models", "ModelName", "ModelArn", "delete_model"),
    )
    for lister, key, name_key, arn_key, deleter in kinds:
        for page in sm.get_paginator(lister).paginate(NameContains=names.prefix):
            for item in page[key]:
                match = pattern.match(item[name_key])
                if not match or match.group(1) in keep:
                    continue
                tags = _tag_dict(aws(clients, "sagemaker", "list_tags", ResourceArn=item[arn_key])["Tags"])
                if not names.owns(tags):
                    continue  # same shape of name, not ours: leave it
                aws(clients, "sagemaker", deleter, **{name_key: item[name_key]})
                removed.append(f"{deleter.removeprefix('delete_').replace('_', '-')} {item[name_key]}")
    if removed:
        reporter.done(f"removed {len(removed)} old endpoint config(s)/model(s)")
    return removed
