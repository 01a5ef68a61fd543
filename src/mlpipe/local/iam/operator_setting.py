"""`mlpipe local up --operator-policy full|iam-policy[:operator|:admin]|FILE` and `--no-iam`.

"full" (the default) is an administrator. "iam-policy" is exactly what `mlpipe iam-policy` prints for
the app of the current mlpipe.yaml (both parts, as a user with both attached; `:operator` or
`:admin` for one), in the embedded AWS's account and region, so a user can rehearse a
least-privilege operator offline. FILE is any IAM policy document. The choice reaches the server
process through its environment (authorizer.OPERATOR_POLICY_ENV, a file path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlpipe.errors import UsageError
from mlpipe.local.iam.authorizer import IAM_ENV, OPERATOR_POLICY_ENV, load_operator_policy

LOCAL_ACCOUNT = "123456789012"
PARTS = ("both", "operator", "admin")


def operator_environment(
    value: str | None, iam: bool, load_config: Callable[[], Any], region: str | None, cache_dir: Path
) -> dict[str, str]:
    """The server's environment variables for these options (checked here: one clear line if bad)."""
    env = {IAM_ENV: "on" if iam else "off"}
    if value is None or value == "full":
        env[OPERATOR_POLICY_ENV] = "full"
        return env
    if value == "iam-policy" or value.startswith("iam-policy:"):
        part = value.partition(":")[2] or "both"
        if part not in PARTS:
            raise UsageError(
                f"--operator-policy {value}: no such part of `mlpipe iam-policy`",
                hint="use iam-policy (both parts), iam-policy:operator or iam-policy:admin",
            )
        path = cache_dir / "operator-policy.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(iam_policy_document(load_config(), region, part), indent=2))
        env[OPERATOR_POLICY_ENV] = str(path)
        return env
    path = Path(value).expanduser().resolve()
    try:
        load_operator_policy(str(path))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--operator-policy {value}: {exc}",
            hint="use full, iam-policy[:operator|:admin], or a JSON file holding an IAM policy document",
        ) from None
    env[OPERATOR_POLICY_ENV] = str(path)
    return env


def iam_policy_document(config: Any, region: str | None, part: str = "both") -> dict[str, Any]:
    """What `mlpipe iam-policy --for <part>` prints for this config, in the embedded AWS's account,
    as one document: a user with both parts attached has the union of their statements."""
    from mlpipe.names import Names
    from mlpipe.policies.operator import AUDIENCES, COMMANDS, policies_for

    region = region or getattr(config, "region", None) or "us-east-1"
    names = Names(app=config.app, stage=config.stage, region=region, account=LOCAL_ACCOUNT)
    commands = COMMANDS if part == "both" else AUDIENCES[part]
    statements = []
    for policy in policies_for(config, names, commands):
        prefix = policy.audience.capitalize()  # Sids stay unique across the parts
        statements += [{**s, "Sid": prefix + str(s.get("Sid", ""))} for s in policy.document["Statement"]]
    return {"Version": "2012-10-17", "Statement": statements}
