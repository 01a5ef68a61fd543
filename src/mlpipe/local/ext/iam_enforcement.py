"""IAM for every caller of the embedded AWS (mlpipe.local.iam): registers the authorizer, puts the
server's IAM settings back on reset, and reports them in `GET /_mlpipe/status`."""

from __future__ import annotations

from typing import Any

from mlpipe.local import registry
from mlpipe.local.iam.authorizer import IamSettings, authorize, settings
from mlpipe.local.registry import Context, on_reset, on_startup, on_status

if authorize not in getattr(registry, "AUTHORIZERS", []):
    getattr(registry, "AUTHORIZERS", []).append(authorize)


@on_reset
def restore_settings(ctx: Context) -> None:
    """A reset starts over with what the server was started with (a test's narrowed operator ends)."""
    ctx.state["iam"] = IamSettings.from_environment()


@on_status
def describe(ctx: Context) -> dict[str, Any]:
    iam = settings(ctx)
    operator = "full" if iam.operator_policy is None else f"policy ({len(iam.operator_policy['Statement'])} statements)"
    return {"iam": {"enabled": iam.enabled, "operator": operator}}


@on_startup
def answer_sts_for_our_identities(ctx: Context) -> None:
    """GetCallerIdentity names the caller; AssumeRole issues keys this server knows (iam/sts.py)."""
    store = ctx.state.get("credentials")
    if store is not None:
        from mlpipe.local.iam import sts

        sts.install(store)
