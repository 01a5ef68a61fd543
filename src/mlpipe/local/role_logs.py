"""CloudWatch Logs writes an AWS service makes as a role, done inside the server.

Lambda writes a function's lines as its execution role, CodeBuild a build's as the project's
service role, SageMaker a training job's as the job's execution role. Each goes to moto's CloudWatch
Logs backend in-process (no HTTP, SigV4 or boto3), authorized as the role's session
(`assumed-role/<role>/<session>`) with the authorizer's evaluation, each check only for the call the
service makes, as the Service Authorization Reference names it: CreateLogGroup on the group
(`log-group:<group>:*`, the ARN AWS reports) when it is missing, CreateLogStream when the stream is
missing and PutLogEvents, both on `log-group:<group>:log-stream:<stream>`.

A refusal is returned (AWS's AccessDenied message), never raised: what it means is the service's
choice (Lambda loses the lines, CodeBuild fails the build in QUEUED, SageMaker loses the lines).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from mlpipe.local.persistence import mutation
from mlpipe.local.registry import Context


@dataclasses.dataclass(frozen=True)
class RoleLogStream:
    """One log stream as a service writes it for a role session (role "" means none: always refused)."""

    account: str
    region: str
    group: str
    stream: str
    role: str
    session: str

    @property
    def group_arn(self) -> str:
        partition = self.role.split(":")[1] if self.role.count(":") >= 5 else "aws"
        return f"arn:{partition}:logs:{self.region}:{self.account}:log-group:{self.group}"

    @property
    def stream_arn(self) -> str:
        return f"{self.group_arn}:log-stream:{self.stream}"

    def open(self, ctx: Context) -> str:
        """Create the group and the stream where missing: "" when the stream exists, else why not."""
        from moto.logs.exceptions import ResourceAlreadyExistsException

        ctx = dataclasses.replace(ctx, region=self.region)  # aws:RequestedRegion is the writer's region
        backend = _backend(self.account, self.region)
        found = backend.groups.get(self.group)
        if found is None:
            refused = refusal(ctx, self.role, self.session, "logs:CreateLogGroup", f"{self.group_arn}:*")
            if refused:
                return refused
            # Two writers may both find the group missing: the second creation is moot.
            with mutation(ctx), contextlib.suppress(ResourceAlreadyExistsException):
                backend.create_log_group(self.group, {})
            found = backend.groups.get(self.group)
        if found is None:  # deleted meanwhile: these lines have nowhere to go
            return f"ResourceNotFoundException: log group {self.group} does not exist"
        if self.stream not in found.streams:
            refused = refusal(ctx, self.role, self.session, "logs:CreateLogStream", self.stream_arn)
            if refused:
                return refused
            with mutation(ctx), contextlib.suppress(ResourceAlreadyExistsException):
                backend.ensure_log_stream(self.group, self.stream)
        return ""

    def put(self, ctx: Context, events: list[dict[str, Any]]) -> str:
        """PutLogEvents into the (open) stream: "" when written, else why the lines are lost."""
        from moto.logs.exceptions import ResourceNotFoundException

        ctx = dataclasses.replace(ctx, region=self.region)
        refused = refusal(ctx, self.role, self.session, "logs:PutLogEvents", self.stream_arn)
        if refused:
            return refused
        try:
            with mutation(ctx):
                for i in range(0, len(events), 1000):  # PutLogEvents takes up to 10,000; keep batches small
                    _backend(self.account, self.region).put_log_events(self.group, self.stream, events[i : i + 1000])
        except ResourceNotFoundException as exc:  # group or stream deleted meanwhile: lost, as on AWS
            return f"ResourceNotFoundException: {exc.message}"
        return ""

    def write(self, ctx: Context, events: list[dict[str, Any]]) -> str:
        """open + put: "" when written, else why the lines are lost."""
        return self.open(ctx) or self.put(ctx, events)


def refusal(ctx: Context, role: str, session: str, action: str, arn: str) -> str:
    """AWS's AccessDenied message when the role's session may not do `action` on `arn`, else ""."""
    if not role:  # the APIs require a role; should one be missing, never act as the emulator
        return f"AccessDenied: there is no execution role to call {action} with"
    from mlpipe.local.iam.actors import session_arn
    from mlpipe.local.iam.authorizer import authorize_action

    principal = session_arn(role, session)
    decision = authorize_action(ctx, principal, action, arn)
    return "" if decision.allowed else f"AccessDenied: {decision.message(principal, action, arn)}"


def _backend(account: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]
