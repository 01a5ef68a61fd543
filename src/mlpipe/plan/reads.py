"""Read calls for planners: a missing resource is None, every other failure an mlpipe error."""

from __future__ import annotations

from typing import Any

# Planners read through the one call layer; `read` is re-exported here for them.
from mlpipe.aws.calls import read

__all__ = ["flat", "read"]


def flat(value: Any) -> Any:
    """AWS echoes numbers and booleans as strings ("true", "30"): compare everything as such."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return {str(k): flat(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [flat(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return ""
    text = str(value)
    return text.lower() if text in ("True", "False") else text
