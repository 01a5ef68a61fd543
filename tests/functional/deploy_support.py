"""Helpers for deploy/status/destroy tests: count API calls through botocore's event hooks, and
inventory everything on the server that carries an app's tags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.lambda_package import Package, build_package, handler_dir
from mlpipe.names import Names

SERVICES = ("sqs", "lambda", "iam", "logs", "cloudwatch", "s3", "sagemaker", "sts", "sns")
READ_PREFIXES = ("Get", "List", "Describe", "Head")


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


@dataclass
class CallLog:
    """Every API call made through `clients`, as (service, operation)."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    on_mutating: Callable[[str, int], None] | None = None  # (operation, 1-based index) hook

    @property
    def mutating(self) -> list[str]:
        return [op for _, op in self.calls if is_mutating(op)]

    def attach(self, clients: Clients) -> CallLog:
        for service in SERVICES:
            clients.client(service).meta.events.register("before-call.*.*", self._record)
        return self

    def detach(self, clients: Clients) -> None:
        for service in SERVICES:
            clients.client(service).meta.events.unregister("before-call.*.*", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name))
        if self.on_mutating and is_mutating(model.name):
            self.on_mutating(model.name, len(self.mutating))


def variant_package(tmp_path: Path, extra: str) -> Package:
    """The bundled handler with a trailing comment: different code, same entry point."""
    source = tmp_path / "handler-variant"
    source.mkdir()
    for path in handler_dir().iterdir():
        if path.is_file() and path.suffix == ".py":
            (source / path.name).write_bytes(path.read_bytes())
    (source / "handler.py").write_text((handler_dir() / "handler.py").read_text() + f"\n# {extra}\n")
    return build_package(source)


def tagged_inventory(clients: Clients, names: Names) -> list[str]:
    """Everything on the server that carries this app/stage's tags, listed service by service."""
    found: list[str] = []
    sqs, lam, iam = clients.client("sqs"), clients.client("lambda"), clients.client("iam")
    for url in sqs.list_queues().get("QueueUrls", []):
        if names.owns(sqs.list_queue_tags(QueueUrl=url).get("Tags")):
            found.append(f"queue {url}")
    for fn in lam.list_functions()["Functions"]:
        if names.owns(lam.get_function(FunctionName=fn["FunctionName"]).get("Tags")):
            found.append(f"function {fn['FunctionName']}")
    found += [f"mapping {m['UUID']}" for m in lam.list_event_source_mappings()["EventSourceMappings"]]
    for role in iam.list_roles()["Roles"]:
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
        if names.owns(tags):
            found.append(f"role {role['RoleName']}")
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        tags = {t["Key"]: t["Value"] for t in iam.list_policy_tags(PolicyArn=policy["Arn"])["Tags"]}
        if names.owns(tags):
            found.append(f"policy {policy['PolicyName']}")
    logs = clients.client("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        arn = names.log_group_arn(group["logGroupName"])
        if names.owns(logs.list_tags_for_resource(resourceArn=arn).get("tags")):
            found.append(f"log group {group['logGroupName']}")
    cw = clients.client("cloudwatch")
    for alarm in cw.describe_alarms()["MetricAlarms"]:
        tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]}
        if names.owns(tags):
            found.append(f"alarm {alarm['AlarmName']}")
    sns = clients.client("sns")
    for topic in sns.list_topics()["Topics"]:
        tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic["TopicArn"])["Tags"]}
        if names.owns(tags):
            found.append(f"topic {topic['TopicArn'].split(':')[-1]}")
    sm = clients.client("sagemaker")
    for endpoint in sm.list_endpoints()["Endpoints"]:
        found.append(f"endpoint {endpoint['EndpointName']}")
    for config in sm.list_endpoint_configs()["EndpointConfigs"]:
        found.append(f"endpoint config {config['EndpointConfigName']}")
    for model in sm.list_models()["Models"]:
        found.append(f"model {model['ModelName']}")
    for bucket in clients.client("s3").list_buckets().get("Buckets", []):
        found.append(f"bucket {bucket['Name']}")
    return found
