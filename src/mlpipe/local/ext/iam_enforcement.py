"""IAM for every caller of the embedded AWS (mlpipe.local.iam): registers the authorizer, puts the
server's IAM settings back on reset, and reports them in `GET /_mlpipe/status`."""

from __future__ import annotations

import logging
from typing import Any

from mlpipe.local import registry
from mlpipe.local.iam.authorizer import IamSettings, authorize, settings
from mlpipe.local.registry import AwsApiError, Context, on_reset, on_startup, on_status

log = logging.getLogger("mlpipe.local")

if authorize not in registry.AUTHORIZERS:
    registry.AUTHORIZERS.append(authorize)


@on_reset
def restore_settings(ctx: Context) -> None:
    """A reset starts over with what the server was started with (a test's narrowed operator ends)."""
    try:
        ctx.state["iam"] = IamSettings.from_environment()
    except (OSError, ValueError) as exc:  # the policy file went away: keep the settings in force
        log.warning("IAM settings not reloaded on reset: %s", exc)


@on_status
def describe(ctx: Context) -> dict[str, Any]:
    iam = settings(ctx)
    operator = "full" if iam.operator_policy is None else f"policy ({len(iam.operator_policy['Statement'])} statements)"
    return {"iam": {"enabled": iam.enabled, "operator": operator}}


@on_startup
def answer_sts_for_our_identities(ctx: Context) -> None:
    """GetCallerIdentity names the caller; AssumeRole issues keys this server knows (iam/sts.py)."""
    from mlpipe.local import routing

    routing.install()  # moto runs only what the authorizer checked for a restricted caller
    store = ctx.state.get("credentials")
    if store is not None:
        from mlpipe.local.iam import sts

        sts.install(store)


def execution_role_can_poll(ctx: Context, params: dict[str, Any]) -> None:
    """Lambda polls an SQS queue as the function's execution role: CreateEventSourceMapping checks that
    role may receive, delete and read the queue's attributes, as AWS does."""
    from moto.awslambda.models import lambda_backends

    from mlpipe.local.iam.actors import session_arn
    from mlpipe.local.iam.authorizer import authorize_action

    source, name = str(params.get("EventSourceArn", "")), str(params.get("FunctionName", ""))
    if ":sqs:" not in source or not name or not settings(ctx).enabled:
        return
    try:
        function = lambda_backends[ctx.account_id][ctx.region].get_function(name)
    except Exception:
        return  # moto answers for a missing function
    principal = session_arn(str(function.role), str(function.function_name))
    for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes"):
        if not authorize_action(ctx, principal, f"sqs:{action}", source).allowed:
            raise AwsApiError(
                "InvalidParameterValueException",
                f"The provided execution role does not have permissions to call {action} on SQS",
                400,
            )


@on_startup
def check_mappings_last(ctx: Context) -> None:
    """After the other CreateEventSourceMapping checks (a Pending function is a conflict first)."""
    hooks = registry.BEFORE[("lambda", "CreateEventSourceMapping")]
    if execution_role_can_poll not in hooks:
        hooks.append(execution_role_can_poll)
