"""SageMaker for `mlpipe train`: model, endpoint config, endpoint, training job and the removal of
old versions. `observe*` read (and refuse same-named resources mlpipe does not own); every other
function is a pure decision from that snapshot to Changes, applied by plan.apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlpipe.aws.calls import call, iterate, read
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.common import tag_dict, tag_list
from mlpipe.plan.model import Call, Change
from mlpipe.policies.sagemaker_role import TRAINING_PREFIX

VARIANT = "AllTraffic"
SETTLING = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
# Kinds of versioned resources, in the order they are removed (a config before the model it names).
VERSIONED = (
    ("endpoint-config", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"),
    ("model", "list_models", "Models", "ModelName", "ModelArn"),
)
# SageMaker says a resource is missing with a generic code: only its "Could not find ..." means that.
NOT_FOUND = "ValidationException:Could not find"


@dataclass(frozen=True)
class Versioned:
    """An endpoint config or model named `<prefix>-<version>`, with its tags."""

    kind: str  # "endpoint-config" or "model"
    name: str
    version: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Observed:
    """What AWS reports now about this app's training resources."""

    endpoint_status: str | None = None
    endpoint_config: str | None = None
    failure_reason: str | None = None
    versions: set[str] = field(default_factory=set)  # versions with a model or endpoint config


def version_pattern(names: Names) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(names.prefix)}-(\d{{8}}-\d{{6}}(?:-\d+)?)$")


def version_of(names: Names, config_name: str | None) -> str | None:
    match = version_pattern(names).match(config_name or "")
    return match.group(1) if match else None


def foreign(kind: str, name: str, names: Names, tags: dict[str, str]) -> ForeignResourceError:
    """Refusal of a same-named resource (worded as `train` always has; tests and users match on it)."""
    owner = f"app '{tags.get('mlpipe:app')}' stage '{tags.get('mlpipe:stage')}'" if tags else "no mlpipe tags"
    return ForeignResourceError(
        f"{kind} '{name}' exists but is not mlpipe's for app '{names.app}' stage '{names.stage}' ({owner})",
        hint="mlpipe never adopts resources it did not create: delete or rename it, or change app/stage",
    )


# --- reads ------------------------------------------------------------------------------------


def observe(clients: Clients, names: Names) -> Observed:
    """Read calls only; refuses (ForeignResourceError) an endpoint with our name but not our tags."""
    sm = clients.client("sagemaker")
    endpoint = read(clients, sm.describe_endpoint, missing=(NOT_FOUND,), EndpointName=names.endpoint)
    tags = None
    if endpoint is not None:
        tags = tag_dict(call(clients, sm.list_tags, ResourceArn=endpoint["EndpointArn"])["Tags"])
    return observed(names, endpoint, tags, {v.version for v in _listed(clients, names)})


def observed(
    names: Names, endpoint: dict[str, Any] | None, tags: dict[str, str] | None, versions: set[str]
) -> Observed:
    """The snapshot from DescribeEndpoint's answer (None: no endpoint) and the endpoint's tags."""
    seen = Observed(versions=set(versions))
    if endpoint is None:
        return seen
    if not names.owns(tags or {}):
        raise foreign("SageMaker endpoint", names.endpoint, names, tags or {})
    seen.endpoint_status = endpoint["EndpointStatus"]
    seen.endpoint_config = endpoint.get("EndpointConfigName")
    seen.failure_reason = endpoint.get("FailureReason")
    return seen


def _listed(clients: Clients, names: Names) -> list[Versioned]:
    pattern = version_pattern(names)
    sm = clients.client("sagemaker")
    found = []
    for kind, lister, key, name_key, arn_key in VERSIONED:
        for page in iterate(clients, sm.get_paginator(lister).paginate(NameContains=names.prefix)):
            for item in page[key]:
                if match := pattern.match(item[name_key]):
                    found.append(Versioned(kind, item[name_key], match.group(1), {"arn": item[arn_key]}))
    return found


def observe_versions(clients: Clients, names: Names, keep: set[str]) -> list[Versioned]:
    """This app's versioned configs and models outside `keep`, with their tags (one read each)."""
    sm = clients.client("sagemaker")
    out = []
    for item in _listed(clients, names):
        if item.version in keep:
            continue
        tags = read(clients, sm.list_tags, missing=(NOT_FOUND,), ResourceArn=item.tags["arn"])
        if tags is not None:  # gone meanwhile: nothing to remove
            out.append(Versioned(item.kind, item.name, item.version, tag_dict(tags["Tags"])))
    return out


# --- decisions --------------------------------------------------------------------------------


def new_version(seen: Observed, now: datetime) -> str:
    """A UTC timestamp; a suffix when a version of that second already exists."""
    base = now.strftime("%Y%m%d-%H%M%S")
    version, n = base, 0
    while version in seen.versions:
        n += 1
        version = f"{base}-{n}"
    return version


def upload_change(names: Names, key: str, body: bytes, content_type: str, detail: str = "") -> Change:
    params = {
        "Bucket": names.model_bucket,
        "Key": key,
        "Body": body,
        "ContentType": content_type,
        "ServerSideEncryption": "AES256",
    }
    url = f"s3://{names.model_bucket}/{key}"
    return Change("create", "s3-object", url, detail=detail, steps=(Call("s3", "put_object", params),))


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


def _size(config: Config) -> str:
    endpoint = config.endpoint
    if endpoint.type == "serverless":
        return f"serverless {endpoint.memory_mb} MB x{endpoint.max_concurrency}"
    return f"{endpoint.instance_count} x {endpoint.instance_type}"


@dataclass(frozen=True)
class ServingSpec:
    """The model version to serve and how."""

    version: str
    image_uri: str
    model_data_url: str
    role_arn: str
    role_is_new: bool = False  # a role created seconds ago is not assumable yet (IAM propagation)


def serving_changes(config: Config, names: Names, seen: Observed, spec: ServingSpec) -> tuple[Change, ...]:
    """SageMaker model + a new endpoint config + create the endpoint or update it in place."""
    name = names.model_name(spec.version)
    tags = tag_list(names.tags)
    container = {"Image": spec.image_uri, "ModelDataUrl": spec.model_data_url}
    model = Call(
        "sagemaker",
        "create_model",
        {"ModelName": name, "PrimaryContainer": container, "ExecutionRoleArn": spec.role_arn, "Tags": tags},
        retry_on=("ValidationException:assume",) if spec.role_is_new else (),
    )
    endpoint_config = Call(
        "sagemaker",
        "create_endpoint_config",
        {"EndpointConfigName": name, "ProductionVariants": [variant(config, name)], "Tags": tags},
    )
    return (
        Change("create", "sagemaker-model", name, detail=spec.image_uri, steps=(model,)),
        Change("create", "sagemaker-endpoint-config", name, detail=_size(config), steps=(endpoint_config,)),
        endpoint_change(names, seen, name),
    )


def endpoint_change(names: Names, seen: Observed, config_name: str, note: str = "") -> Change:
    """Create the endpoint on `config_name`, or point the existing one at it (its name never changes)."""
    if seen.endpoint_status is None:
        params = {"EndpointName": names.endpoint, "EndpointConfigName": config_name, "Tags": tag_list(names.tags)}
        create = Call("sagemaker", "create_endpoint", params)
        return Change("create", "sagemaker-endpoint", names.endpoint, detail=config_name, steps=(create,))
    update = Call("sagemaker", "update_endpoint", {"EndpointName": names.endpoint, "EndpointConfigName": config_name})
    detail = f"{seen.endpoint_config} -> {config_name}{note}"
    return Change("update", "sagemaker-endpoint", names.endpoint, detail=detail, steps=(update,))


def cleanup_changes(names: Names, found: Iterable[Versioned], keep: set[str]) -> tuple[Change, ...]:
    """Delete old configs and models; ones outside `keep` whose tags are not ours are left alone."""
    changes = []
    for item in found:
        if item.version in keep or not names.owns(item.tags):
            continue  # same shape of name, not ours: leave it
        operation = "delete_endpoint_config" if item.kind == "endpoint-config" else "delete_model"
        key = "EndpointConfigName" if item.kind == "endpoint-config" else "ModelName"
        step = Call("sagemaker", operation, {key: item.name}, ok_on=(NOT_FOUND,))
        changes.append(Change("delete", f"sagemaker-{item.kind}", item.name, steps=(step,)))
    return tuple(changes)


# --- training jobs ----------------------------------------------------------------------------


def output_path(names: Names, version: str) -> str:
    return f"s3://{names.model_bucket}/{TRAINING_PREFIX}/{version}/output"


def channel(uri: str, name: str, distribution: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": distribution}
        },
    }


@dataclass(frozen=True)
class JobSpec:
    version: str
    image_uri: str
    role_arn: str
    hyperparameters: dict[str, str]
    channels: tuple[dict[str, Any], ...]
    role_is_new: bool = False


def job_change(config: Config, names: Names, spec: JobSpec) -> Change:
    """CreateTrainingJob of the built-in algorithm of `spec.image_uri` on these channels."""
    job_name = names.model_name(spec.version)
    shards = config.training.instance_count
    params = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {"TrainingImage": spec.image_uri, "TrainingInputMode": "File"},
        "RoleArn": spec.role_arn,
        "HyperParameters": spec.hyperparameters,
        "InputDataConfig": list(spec.channels),
        "OutputDataConfig": {"S3OutputPath": output_path(names, spec.version)},
        "ResourceConfig": {
            "InstanceType": config.training.instance_type,
            "InstanceCount": shards,
            "VolumeSizeInGB": config.training.volume_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": config.training.max_runtime_s},
        "Tags": tag_list(names.tags),
    }
    job = Call(
        "sagemaker", "create_training_job", params, retry_on=("ValidationException:assume",) if spec.role_is_new else ()
    )
    detail = f"{shards} x {config.training.instance_type}, {spec.image_uri.rsplit('/', 1)[-1]}"
    return Change("create", "sagemaker-training-job", job_name, detail=detail, steps=(job,))
