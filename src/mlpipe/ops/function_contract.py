"""What the deployed function accepts: the feature count `deploy` wrote into its environment
(`MLPIPE_FEATURE_COUNT`, docs/CONTRACTS.md). It is the model current at deploy time, so a `train` on
other columns leaves the function checking the old count until the next `deploy`.

Read by `train` (to say that deploy must follow) and `send` (to check rows against what the function
will accept, not only against the model). One GetFunctionConfiguration call; light imports only
(`send` must not import a heavy package).
"""

from __future__ import annotations

from typing import Any

from mlpipe.aws.calls import read
from mlpipe.aws.clients import Clients
from mlpipe.names import Names
from mlpipe.plan.lambda_fn import MISSING as FUNCTION_MISSING


def function_configuration(clients: Clients, names: Names) -> dict[str, Any] | None:
    """GetFunctionConfiguration of the stage's function; None when there is none."""
    lam = clients.client("lambda")
    found = read(clients, lam.get_function_configuration, missing=FUNCTION_MISSING, FunctionName=names.function)
    return dict(found) if found else None


def deployed_feature_count(clients: Clients, names: Names) -> int | None:
    """The function's MLPIPE_FEATURE_COUNT; None when there is no function or it checks no count (0)."""
    found = function_configuration(clients, names)
    variables = ((found or {}).get("Environment") or {}).get("Variables") or {}
    try:
        count = int(variables.get("MLPIPE_FEATURE_COUNT") or 0)
    except ValueError:
        return None
    return count or None


def stale_function(names: Names, deployed: int | None, model: int | None) -> str | None:
    """One line when the function checks another feature count than the served model takes."""
    if not deployed or not model or deployed == model:
        return None
    return (
        f"function {names.function} is deployed for {deployed} features per row, the model "
        f"{names.endpoint} serves takes {model}: until `mlpipe deploy` updates it, rows of {model} values "
        f"are dead-lettered and rows of {deployed} are refused by the endpoint"
    )
