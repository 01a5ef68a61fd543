"""EventBridge delivery for the embedded AWS: CodeCommit branch events reach the default bus's rules,
and a rule's CodePipeline target starts the pipeline the way AWS does it, by assuming the target's
role and calling StartPipelineExecution with it (so that role's policy decides, through the IAM
authorizer). moto stores rules and targets but delivers no service event.

Delivery is asynchronous, as on AWS: a failed invocation (no role, a role EventBridge may not assume,
a denied call) starts nothing and is recorded in `GET /_mlpipe/status` under `events`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.registry import Context, on_reset, on_status, persistent

log = logging.getLogger("mlpipe.local")
STATE_KEY = "events_delivery"
persistent(STATE_KEY)  # the deliveries `/_mlpipe/status` reports survive a restart
SERVICE = "events.amazonaws.com"


@dataclass
class Deliveries:
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: list[dict[str, str]] = field(default_factory=list)  # rule, pipeline, execution
    failed: list[dict[str, str]] = field(default_factory=list)  # rule, target, reason


def deliveries(ctx: Context) -> Deliveries:
    found: Deliveries = ctx.state.setdefault(STATE_KEY, Deliveries())
    return found


def codecommit_event(
    ctx: Context, region: str, repository: str, branch: str, commit: str, created: bool
) -> dict[str, Any]:
    """The event CodeCommit sends when a push creates or moves a branch (AWS's documented shape)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CodeCommit Repository State Change",
        "source": "aws.codecommit",
        "account": ctx.account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:codecommit:{region}:{ctx.account_id}:{repository}"],
        "detail": {
            "event": "referenceCreated" if created else "referenceUpdated",
            "repositoryName": repository,
            "referenceType": "branch",
            "referenceName": branch,
            "referenceFullName": f"refs/heads/{branch}",
            "commitId": commit,
        },
    }


def publish(ctx: Context, region: str, event: dict[str, Any]) -> threading.Thread:
    """Put `event` on the default bus; matching rules' targets are invoked in the background."""
    thread = threading.Thread(target=_deliver, args=(ctx, region, event), name="events-delivery", daemon=True)
    thread.start()
    return thread


def _rules(ctx: Context, region: str) -> list[Any]:
    from moto.events.models import events_backends

    bus = events_backends[ctx.account_id][region].event_buses.get("default")
    return [r for r in (bus.rules.values() if bus else []) if r.state == "ENABLED"]


def _deliver(ctx: Context, region: str, event: dict[str, Any]) -> None:
    for rule in _rules(ctx, region):
        if not rule.event_pattern.matches_event(event):
            continue
        for target in list(rule.targets):
            if ":codepipeline:" in str(target.get("Arn", "")):
                _start_pipeline(ctx, region, rule.name, target)


def _trusts_events(ctx: Context, role_arn: str) -> bool:
    from moto.iam.models import iam_backends

    role_name = role_arn.rsplit("/", 1)[-1]
    role = next((r for r in iam_backends[ctx.account_id]["global"].roles.values() if r.name == role_name), None)
    if role is None:
        return False
    trust = json.loads(role.assume_role_policy_document)
    return any(
        s.get("Effect") == "Allow" and SERVICE in json.dumps(s.get("Principal", {})) for s in trust.get("Statement", [])
    )


def _start_pipeline(ctx: Context, region: str, rule: str, target: dict[str, Any]) -> None:
    import botocore.exceptions

    from mlpipe.local.iam.actors import role_client

    state = deliveries(ctx)
    pipeline = str(target["Arn"]).rsplit(":", 1)[-1]
    role_arn = str(target.get("RoleArn") or "")
    reason = ""
    if not role_arn:
        reason = "the target has no role"
    elif not _trusts_events(ctx, role_arn):
        reason = f"{role_arn} does not exist or does not trust {SERVICE}"
    else:
        try:
            client = role_client(ctx, role_arn, "events", "codepipeline", region)
            execution = client.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
        except botocore.exceptions.ClientError as exc:
            reason = str(exc)
        else:
            with state.lock:
                state.started.append({"rule": rule, "pipeline": pipeline, "execution": execution})
            return
    log.warning("EventBridge rule %s: target %s not invoked: %s", rule, target.get("Id"), reason)
    with state.lock:
        state.failed.append({"rule": rule, "target": str(target.get("Id")), "reason": reason})


@on_status
def describe(ctx: Context) -> dict[str, Any]:
    state = deliveries(ctx)
    with state.lock:
        return {"events": {"started": list(state.started), "failed_invocations": list(state.failed)}}


@on_reset
def _reset(ctx: Context) -> None:
    ctx.state.pop(STATE_KEY, None)
