"""IAM enforcement for every request the embedded AWS answers (a `registry.AUTHORIZERS` hook).

The caller is the identity whose keys signed the request (credentials.CredentialStore): the CLI's
operator, an actor's assumed role (the Lambda handler, a build, SageMaker, the pipeline), or the
emulator itself (the account root, which IAM does not restrict). For a role, its inline and
attached policies and its permissions boundary are read from moto's IAM backend on every request
(parsed documents are cached by their text, so a PutRolePolicy takes effect on the next call, as on
AWS after propagation). S3 bucket and SQS queue policies take part as resource-based policies.

The operator has full access unless the server was given an operator policy (`mlpipe local up
--operator-policy`), then exactly that document. Operations resources.py does not model, and
requests the embedded AWS cannot map to an operation, are allowed to the full-access operator only;
sts:AssumeRole needs the role's trust policy for every caller, full access or not.
`MLPIPE_LOCAL_IAM=off` (`--no-iam`) turns it all off.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from mlpipe.local import routing
from mlpipe.local.iam.evaluator import Decision, allows_principal, evaluate
from mlpipe.local.iam.resources import Check, checks_for
from mlpipe.local.registry import AwsApiError, Context

IAM_ENV = "MLPIPE_LOCAL_IAM"  # "off" disables enforcement
OPERATOR_POLICY_ENV = "MLPIPE_LOCAL_OPERATOR_POLICY"  # "full" (default) or a policy document file
ROOT_SUFFIX = ":root"
# The loopback server answers over plain HTTP, but nothing leaves the machine: requests count as
# TLS (aws:SecureTransport true), so mlpipe's TLS-only bucket and queue policies let them through.
SECURE_TRANSPORT = "true"
# What a full-access subject holds when a check still runs for it (sts:AssumeRole): AdministratorAccess.
FULL_ACCESS: dict[str, Any] = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass
class IamSettings:
    enabled: bool = True
    operator_policy: dict[str, Any] | None = None  # None: full access

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> IamSettings:
        env = os.environ if env is None else env
        enabled = env.get(IAM_ENV, "on").strip().lower() not in ("off", "0", "false", "no")
        return cls(enabled, load_operator_policy(env.get(OPERATOR_POLICY_ENV, "")))


def load_operator_policy(value: str) -> dict[str, Any] | None:
    """ "" or "full" -> None (full access); otherwise a file holding an IAM policy document."""
    value = value.strip()
    if value in ("", "full"):
        return None
    with open(value, encoding="utf-8") as f:
        document = json.load(f)
    if not isinstance(document, dict) or "Statement" not in document:
        raise ValueError(f"{value}: not an IAM policy document (no Statement)")
    return document


def settings(ctx: Context) -> IamSettings:
    found = ctx.state.get("iam")
    if found is None:
        with _LOCK:
            found = ctx.state.setdefault("iam", IamSettings.from_environment())
    return found


_LOCK = threading.Lock()


@dataclass(frozen=True)
class Subject:
    """Who is calling, with the policies that apply to them."""

    principal_arn: str
    full_access: bool
    policies: tuple[Mapping[str, Any], ...] = ()
    boundary: Mapping[str, Any] | None = None


def authorize(ctx: Context, identity: Any, request: Any) -> None:
    """The AUTHORIZERS hook: raise AwsApiError (AWS's AccessDenied shape) unless IAM allows the call."""
    iam = settings(ctx)
    if not iam.enabled:
        return
    subject = subject_of(ctx, identity.principal_arn, iam)
    if subject.full_access and (request.service, request.operation) != ("sts", "AssumeRole"):
        return  # no identity, however privileged, bypasses a role's trust policy (checked below)
    if not request.operation:
        raise _denied(
            request,
            f"User: {subject.principal_arn} is not authorized to perform this request: the embedded AWS cannot "
            f"tell which {request.service or 'AWS'} operation it names (only a full-access operator may send it)",
        )
    account = ctx.account_id
    params = _unflattened(request.params) if request.protocol == "query" else request.params
    checks = checks_for(request.service, request.operation, params, request.region, account, MotoFacts(account))
    if checks is None:
        action = f"{request.service}:{request.operation}"
        raise _denied(
            request,
            f"User: {subject.principal_arn} is not authorized to perform: {action} on resource: * because the "
            "embedded AWS does not model IAM for this operation (only a full-access operator may call it)",
        )
    for check in checks:
        decision = decide(ctx, subject, check, request.service, request.region)
        if not decision.allowed:
            raise _denied(request, decision.message(subject.principal_arn, check.action, check.resource))
    routing.expect(request.service, request.operation, params)  # moto must run exactly this


def authorize_action(ctx: Context, principal_arn: str, action: str, resource: str) -> Decision:
    """One check outside an API call (git push as codecommit:GitPush, a service acting as a role)."""
    iam = settings(ctx)
    if not iam.enabled:
        return Decision(True, "IAM enforcement is off")
    subject = subject_of(ctx, principal_arn, iam)
    if subject.full_access and action != "sts:AssumeRole":
        return Decision(True, "full access")
    return decide(ctx, subject, Check(action, resource))


def decide(ctx: Context, subject: Subject, check: Check, service: str = "", region: str = "") -> Decision:
    """One check for one subject, with the request context AWS would build."""
    now = time.time()
    context: dict[str, str | Sequence[str]] = {
        "aws:PrincipalArn": subject.principal_arn,
        "aws:PrincipalAccount": ctx.account_id,
        "aws:SecureTransport": SECURE_TRANSPORT,
        "aws:RequestedRegion": region or ctx.region,
        "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "aws:EpochTime": str(int(now)),
        **check.context,
    }
    if ":user/" in subject.principal_arn:
        context["aws:username"] = subject.principal_arn.rsplit("/", 1)[-1]
    policy = resource_policy(ctx.account_id, check, region or ctx.region)
    decision = evaluate(
        check.action,
        check.resource,
        identity_policies=(FULL_ACCESS,) if subject.full_access else subject.policies,
        boundary=subject.boundary,
        resource_policy=policy,
        principal_arn=subject.principal_arn,
        context=context,
    )
    if decision.allowed and check.action == "sts:AssumeRole":
        # The role's trust policy must name the caller (or its account), whatever identity policies say.
        trusted = policy is not None and allows_principal(
            policy, check.action, check.resource, principal_arn=subject.principal_arn, context=context
        )
        if not trusted:
            return Decision(False, "because no resource-based policy allows the sts:AssumeRole action")
    return decision


def _denied(request: Any, message: str) -> AwsApiError:
    if request.protocol in ("query", "rest-xml") or request.service in ("sqs", "cloudwatch"):
        code = "AuthorizationError" if request.service == "sns" else "AccessDenied"
        return AwsApiError(code, message, 403)
    return AwsApiError("AccessDeniedException", message, 403 if request.protocol == "rest-json" else 400)


# -- who is calling ------------------------------------------------------------------------------


def subject_of(ctx: Context, principal_arn: str, iam: IamSettings) -> Subject:
    credentials = ctx.state.get("credentials")
    operator = getattr(getattr(credentials, "operator", None), "principal_arn", None)
    if principal_arn == operator:
        if iam.operator_policy is None:
            return Subject(principal_arn, True)
        return Subject(principal_arn, False, (iam.operator_policy,))
    if principal_arn.endswith(ROOT_SUFFIX):
        return Subject(principal_arn, True)  # the emulator itself, acting as the account
    parts = principal_arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    if resource.startswith("assumed-role/"):
        return _role_subject(ctx.account_id, principal_arn, resource.split("/")[1])
    if resource.startswith("user/"):
        return _user_subject(ctx.account_id, principal_arn, resource.rsplit("/", 1)[-1])
    return Subject(principal_arn, False)  # unknown principal: nothing allows it


def _iam_backend(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["global"]


def _role_subject(account: str, principal_arn: str, role_name: str) -> Subject:
    backend = _iam_backend(account)
    role = next((r for r in backend.roles.values() if r.name == role_name), None)
    if role is None:  # deleted since its credentials were issued: nothing applies
        return Subject(principal_arn, False)
    policies = [parse_document(doc) for doc in role.policies.values()]
    policies += [_managed_document(p) for p in role.managed_policies.values()]
    boundary = None
    if role.permissions_boundary_arn:
        boundary = _managed_document(backend.managed_policies.get(role.permissions_boundary_arn))
    return Subject(principal_arn, False, tuple(p for p in policies if p), boundary)


def _user_subject(account: str, principal_arn: str, user_name: str) -> Subject:
    user = _iam_backend(account).users.get(user_name)
    if user is None:
        return Subject(principal_arn, False)
    policies = [parse_document(doc) for doc in user.policies.values()]
    policies += [_managed_document(p) for p in user.managed_policies.values()]
    return Subject(principal_arn, False, tuple(p for p in policies if p))


def _managed_document(policy: Any) -> dict[str, Any]:
    """The default version of a managed policy; a boundary that no longer exists allows nothing."""
    if policy is None:
        return {"Statement": []}
    version = next((v for v in policy.versions if v.is_default), None)
    return parse_document(version.document if version is not None else "")


@lru_cache(maxsize=512)
def parse_document(text: str | bytes) -> dict[str, Any]:
    """Documents are cached by their text: a changed policy is a new text, parsed once."""
    if isinstance(text, bytes):
        text = text.decode()
    if not text:
        return {"Statement": []}
    try:
        document = json.loads(text)
    except ValueError:
        document = json.loads(unquote(text))
    return document if isinstance(document, dict) else {"Statement": []}


# -- what moto knows about resources -------------------------------------------------------------


class MotoFacts:
    def __init__(self, account: str) -> None:
        self.account = account

    def _role(self, name: str) -> Any:
        return next((r for r in _iam_backend(self.account).roles.values() if r.name == name), None)

    def role_path(self, name: str) -> str:
        role = self._role(name)
        return str(role.path) if role is not None else "/"

    def role_boundary(self, name: str) -> str | None:
        role = self._role(name)
        return role.permissions_boundary_arn if role is not None else None

    def mapping_function_arn(self, uuid: str) -> str | None:
        from moto.awslambda.models import lambda_backends

        for region in lambda_backends[self.account]:
            esm = lambda_backends[self.account][region].get_event_source_mapping(uuid)
            if esm is not None:
                return str(esm.function_arn)
        return None

    def lambda_tags(self, arn: str) -> dict[str, str]:
        from moto.awslambda.models import lambda_backends
        from moto.core.exceptions import JsonRESTError

        region = arn.split(":")[3] if arn.count(":") >= 6 else ""
        # the regions in use only: indexing a region would create its backend as a side effect
        backend = next((b for r, b in lambda_backends[self.account].items() if r == region), None)
        if backend is None:
            return {}
        try:
            return dict(backend.list_tags(arn))
        except JsonRESTError:  # not found (yet): no tags
            return {}

    def dead_letter_sources(self, dlq_arn: str) -> list[str]:
        from moto.sqs.models import sqs_backends

        region = dlq_arn.split(":")[3] if dlq_arn.count(":") >= 5 else ""
        backend = next((b for r, b in sqs_backends[self.account].items() if r == region), None)
        if backend is None:
            return []
        return sorted(
            q.queue_arn
            for q in backend.queues.values()
            if q.dead_letter_queue is not None and q.dead_letter_queue.queue_arn == dlq_arn
        )


def resource_policy(account: str, check: Check, region: str) -> Mapping[str, Any] | None:
    """The bucket policy (S3), queue policy (SQS) or trust policy (AssumeRole) of the resource checked."""
    service = check.action.split(":", 1)[0]
    try:
        if check.action == "sts:AssumeRole":  # the role's trust policy
            role = next((r for r in _iam_backend(account).roles.values() if r.arn == check.resource), None)
            return parse_document(role.assume_role_policy_document) if role is not None else None
        if service == "s3" and check.resource.startswith("arn:aws:s3:::"):
            from moto.s3.models import s3_backends

            bucket = s3_backends[account]["aws"].buckets.get(check.resource[13:].split("/", 1)[0])
            return parse_document(bucket.policy) if bucket is not None and bucket.policy else None
        if service == "sqs" and check.resource.startswith("arn:aws:sqs:"):
            from moto.sqs.models import sqs_backends

            _, _, _, queue_region, _, name = check.resource.split(":", 5)
            queue = sqs_backends[account][queue_region].queues.get(name)
            return parse_document(queue.policy) if queue is not None and queue.policy else None
    except (KeyError, ValueError):
        return None
    return None


def _unflattened(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query-protocol lists ("Tags.member.1.Key") back into the JSON shape resources.py reads."""
    out: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, Any]]] = {}
    for key, value in params.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[1] in ("member", "entry") and parts[2].isdigit():
            lists.setdefault(parts[0], {}).setdefault(int(parts[2]), {})[parts[3]] = value
        else:
            out[key] = value
    for name, items in lists.items():
        out[name] = [items[i] for i in sorted(items)]
    return out
