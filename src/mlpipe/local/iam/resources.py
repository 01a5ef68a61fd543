"""Which IAM checks one API call makes: (service, operation, params) -> [(action, resource ARN, context)].

Follows the Service Authorization Reference: the action an operation needs (SendMessageBatch is
sqs:SendMessage, ListObjectsV2 is s3:ListBucket, Invoke is lambda:InvokeFunction...), the ARN of
the resource it acts on ("*" for actions with no resource type), the condition keys the request
carries (iam:PassedToService, iam:PermissionsBoundary, lambda:FunctionArn, cloudwatch:namespace,
aws:RequestTag/..., aws:TagKeys), and the extra checks AWS makes on the same call: iam:PassRole for
every role handed to a service, and the tagging action when a create call carries tags.

An operation missing here returns None: the authorizer lets only the full-access operator call it.
SageMaker names are lowercased in ARNs, as AWS does. Other services: resources_more.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


class Facts(Protocol):
    """What some checks need to know about existing resources (read from moto's backends)."""

    def role_path(self, name: str) -> str: ...  # "/" when the role does not exist (yet)
    def role_boundary(self, name: str) -> str | None: ...
    def mapping_function_arn(self, uuid: str) -> str | None: ...
    def lambda_tags(self, arn: str) -> Mapping[str, str]: ...  # {} when the function/mapping does not exist
    def dead_letter_sources(self, dlq_arn: str) -> list[str]: ...  # ARNs of the queues whose DLQ it is


@dataclass(frozen=True)
class Req:
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    facts: Facts

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        return f"arn:aws:{service}:{self.region if region is None else region}:{self.account}:{resource}"

    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account}:role{self.facts.role_path(name)}{name}"


Handler = Callable[[Req], list[Check] | None]
SERVICES: dict[str, Handler] = {}


def service(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        SERVICES[name] = fn
        return fn

    return register


def checks_for(
    service_name: str, operation: str, params: Mapping[str, Any], region: str, account: str, facts: Facts
) -> list[Check] | None:
    """The checks an operation needs, or None when the emulator does not model it."""
    from mlpipe.local.iam import resources_more  # noqa: F401 - registers the other services

    handler = SERVICES.get(service_name)
    return handler(Req(operation, params, region, account, facts)) if handler else None


# -- shared helpers ------------------------------------------------------------------------------


def tags_of(value: Any) -> dict[str, str]:
    """Tags in any of AWS's shapes: {k: v}, [{"Key": k, "Value": v}] or [{"key": k, "value": v}]."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        out = {}
        for item in value:
            if isinstance(item, Mapping):
                key = item.get("Key", item.get("key"))
                if key is not None:
                    out[str(key)] = str(item.get("Value", item.get("value", "")))
        return out
    return {}


def tag_context(tags: Mapping[str, str]) -> dict[str, str | list[str]]:
    context: dict[str, str | list[str]] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    context["aws:TagKeys"] = list(tags)
    return context


def tagged(action: str, resource: str, tags: Any, tag_action: str) -> list[Check]:
    """A create call; with tags, AWS also checks the service's tagging action on the new resource."""
    found = tags_of(tags)
    if not found:
        return [Check(action, resource)]
    context = tag_context(found)
    return [Check(action, resource, context), Check(tag_action, resource, context)]


def pass_role(role_arn: str | None, to_service: str) -> list[Check]:
    if not role_arn:
        return []
    return [Check("iam:PassRole", role_arn, {"iam:PassedToService": to_service})]


def one(action: str, resource: str, **context: str | list[str]) -> list[Check]:
    return [Check(action, resource, context)]


def last_part(value: str, separator: str) -> str:
    return value.rsplit(separator, 1)[-1]


# -- SQS -----------------------------------------------------------------------------------------

_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SQS_UNSCOPED = {"ListQueues"}


@service("sqs")
def _sqs(req: Req) -> list[Check] | None:
    op = req.operation
    action = "sqs:" + _SQS_ACTIONS.get(op, op)
    if op in _SQS_UNSCOPED:
        return one(action, "*")
    if op == "StartMessageMoveTask":
        return _move_task(req)
    if op == "ListMessageMoveTasks":
        return one(action, req.get("SourceArn", "*"))
    if op == "CancelMessageMoveTask":
        return one(action, "*")  # only a task handle: AWS checks the source queue, unknown here
    name = req.get("QueueName") or last_part(str(req.get("QueueUrl", "")), "/")
    if not name:
        return None
    queue = req.arn("sqs", name)
    if op == "CreateQueue":
        return tagged(action, queue, req.get("tags"), "sqs:TagQueue")
    return one(action, queue)


# What a DLQ redrive needs (SQS Developer Guide, "Configure queue permissions for dead-letter queue
# redrive"): on the source (the DLQ) these, on the destination sqs:SendMessage.
MOVE_TASK_SOURCE_ACTIONS = (
    "sqs:StartMessageMoveTask",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
)


def _move_task(req: Req) -> list[Check]:
    """The source's actions, then sqs:SendMessage on DestinationArn or, without one, on every queue
    whose DLQ the source is (the messages go back to their original source queues)."""
    source = str(req.get("SourceArn") or "*")
    destination = req.get("DestinationArn")
    targets = [str(destination)] if destination else req.facts.dead_letter_sources(source)
    return [Check(a, source) for a in MOVE_TASK_SOURCE_ACTIONS] + [Check("sqs:SendMessage", t) for t in targets]


# -- Lambda --------------------------------------------------------------------------------------

_LAMBDA_ACTIONS = {"Invoke": "InvokeFunction", "InvokeAsync": "InvokeAsync", "ListTags": "ListTags"}
_LAMBDA_UNSCOPED = {"ListFunctions", "GetAccountSettings", "ListEventSourceMappings", "ListLayers"}
_ESM_RE = re.compile(r"event-source-mapping:(?P<uuid>[^:/]+)$")


def function_arn(req: Req, name_or_arn: str) -> str:
    """A function given by name, partial or full ARN (any qualifier dropped: IAM checks the function)."""
    match = re.fullmatch(r"(?:arn:aws:lambda:([^:]+):)?(?:(\d{12}):)?(?:function:)?([^:]+)(?::[^:]+)?", name_or_arn)
    if not match:
        return name_or_arn
    region, account, name = match.groups()
    return f"arn:aws:lambda:{region or req.region}:{account or req.account}:function:{name}"


@service("lambda")
def _lambda(req: Req) -> list[Check] | None:
    op = req.operation
    base = re.sub(r"\d{8}$", "", op)  # ListTags20170331 style names are not in botocore, but be safe
    action = "lambda:" + _LAMBDA_ACTIONS.get(base, base)
    if op in _LAMBDA_UNSCOPED:
        return one(action, "*")
    if op in ("TagResource", "UntagResource", "ListTags"):
        resource = str(req.get("Resource", ""))
        if not _ESM_RE.search(resource):
            resource = function_arn(req, resource)
        return _on_existing(req, action, resource, _tagging_context(op, req), with_function=False)
    if op == "CreateEventSourceMapping":
        fn = function_arn(req, str(req.get("FunctionName", "")))
        checks = one(action, "*", **{"lambda:FunctionArn": fn})
        if tags := tags_of(req.get("Tags")):
            checks.append(Check("lambda:TagResource", req.arn("lambda", "event-source-mapping:*"), tag_context(tags)))
        return checks
    if op in ("GetEventSourceMapping", "UpdateEventSourceMapping", "DeleteEventSourceMapping"):
        return _on_existing(req, action, req.arn("lambda", f"event-source-mapping:{req.get('UUID', '')}"), {})
    if "FunctionName" not in req.params:
        return None
    fn = function_arn(req, str(req.get("FunctionName")))
    if op == "CreateFunction":
        return tagged(action, fn, req.get("Tags"), "lambda:TagResource") + pass_role(
            req.get("Role"), "lambda.amazonaws.com"
        )
    if op == "UpdateFunctionConfiguration":
        return _on_existing(req, action, fn, {}) + pass_role(req.get("Role"), "lambda.amazonaws.com")
    return _on_existing(req, action, fn, {})


def _tagging_context(op: str, req: Req) -> dict[str, str | list[str]]:
    if op == "TagResource":
        return tag_context(tags_of(req.get("Tags")))
    if op == "UntagResource":
        return {"aws:TagKeys": [str(k) for k in req.get("TagKeys") or []]}
    return {}


def _on_existing(
    req: Req, action: str, arn: str, context: dict[str, str | list[str]], with_function: bool = True
) -> list[Check]:
    """A check on an existing function or mapping: its tags as aws:ResourceTag/<key> (Lambda's ABAC),
    and for Get/Update/DeleteEventSourceMapping the function the mapping invokes as lambda:FunctionArn
    (the Service Authorization Reference gives the tagging actions no such key)."""
    context = {**context, **{f"aws:ResourceTag/{k}": v for k, v in req.facts.lambda_tags(arn).items()}}
    match = _ESM_RE.search(arn) if with_function else None
    if match and (fn := req.facts.mapping_function_arn(match.group("uuid"))):
        context["lambda:FunctionArn"] = fn
    return [Check(action, arn, context)]


# -- IAM and STS ---------------------------------------------------------------------------------

_IAM_UNSCOPED = {"ListRoles", "ListPolicies", "ListUsers", "GetAccountSummary", "ListAccountAliases"}
# Role writes whose request carries iam:PermissionsBoundary: the role's boundary as it is now.
_ROLE_WRITES = {
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "DeleteRolePermissionsBoundary",
}


@service("iam")
def _iam(req: Req) -> list[Check] | None:
    op = req.operation
    action = "iam:" + op
    if op in _IAM_UNSCOPED:
        return one(action, "*")
    if "RoleName" in req.params:
        return _iam_role(req, action, str(req.get("RoleName")))
    if "UserName" in req.params:
        resource = f"arn:aws:iam::{req.account}:user{req.get('Path') or '/'}{req.get('UserName')}"
        return tagged(action, resource, req.get("Tags"), "iam:TagUser") if op == "CreateUser" else one(action, resource)
    if "PolicyArn" in req.params:
        return one(action, str(req.get("PolicyArn")))
    if op == "CreatePolicy":
        policy = f"arn:aws:iam::{req.account}:policy{req.get('Path') or '/'}{req.get('PolicyName')}"
        return tagged(action, policy, req.get("Tags"), "iam:TagPolicy")
    if op == "GetUser":
        return None  # without UserName: the caller itself (the authorizer allows it for users)
    return None


def _iam_role(req: Req, action: str, name: str) -> list[Check]:
    op = req.operation
    if op == "CreateRole":
        role = f"arn:aws:iam::{req.account}:role{req.get('Path') or '/'}{name}"
        checks = tagged(action, role, req.get("Tags"), "iam:TagRole")
        boundary = req.get("PermissionsBoundary")
        if boundary:
            checks = [Check(c.action, c.resource, {**c.context, "iam:PermissionsBoundary": boundary}) for c in checks]
        return checks
    role = req.role_arn(name)
    context: dict[str, str | list[str]] = {}
    if op == "PutRolePermissionsBoundary":
        context["iam:PermissionsBoundary"] = str(req.get("PermissionsBoundary"))
    elif op in _ROLE_WRITES:
        current = req.facts.role_boundary(name)
        if current:
            context["iam:PermissionsBoundary"] = current
    if op in ("AttachRolePolicy", "DetachRolePolicy"):
        context["iam:PolicyARN"] = str(req.get("PolicyArn"))
    if op == "TagRole":
        context.update(tag_context(tags_of(req.get("Tags"))))
    return [Check(action, role, context)]


@service("sts")
def _sts(req: Req) -> list[Check] | None:
    if req.operation == "GetCallerIdentity":
        return []  # AWS: no permission is needed, not even an explicit deny stops it
    if req.operation in ("AssumeRole", "TagSession"):
        return one("sts:" + req.operation, str(req.get("RoleArn", "*")))
    return None
