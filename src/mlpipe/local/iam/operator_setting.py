"""`mlpipe local up --operator-policy full|iam-policy|FILE` and `--no-iam`: what the operator may do.

"full" (the default) is an administrator. "iam-policy" is exactly what `mlpipe iam-policy` prints for
the app of the current mlpipe.yaml, in the embedded AWS's account and region, so a user can rehearse
a least-privilege operator offline. FILE is any IAM policy document. The choice reaches the server
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


def operator_environment(
    value: str | None, iam: bool, load_config: Callable[[], Any], region: str | None, cache_dir: Path
) -> dict[str, str]:
    """The server's environment variables for these options (checked here: one clear line if bad)."""
    env = {IAM_ENV: "on" if iam else "off"}
    if value is None or value == "full":
        env[OPERATOR_POLICY_ENV] = "full"
        return env
    if value == "iam-policy":
        path = cache_dir / "operator-policy.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(iam_policy_document(load_config(), region), indent=2))
        env[OPERATOR_POLICY_ENV] = str(path)
        return env
    path = Path(value).expanduser().resolve()
    try:
        load_operator_policy(str(path))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--operator-policy {value}: {exc}",
            hint="use full, iam-policy, or a JSON file holding an IAM policy document",
        ) from None
    env[OPERATOR_POLICY_ENV] = str(path)
    return env


def iam_policy_document(config: Any, region: str | None) -> dict[str, Any]:
    """What `mlpipe iam-policy` prints for this config, in the embedded AWS's account."""
    from mlpipe.names import Names
    from mlpipe.policies.operator import operator_policy

    region = region or getattr(config, "region", None) or "us-east-1"
    names = Names(app=config.app, stage=config.stage, region=region, account=LOCAL_ACCOUNT)
    return operator_policy(config, names).to_dict()
