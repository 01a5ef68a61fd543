"""Read calls for planners: a missing resource is None, every other failure an mlpipe error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mlpipe.aws.clients import Clients

T = TypeVar("T")


def read(clients: Clients, call: Callable[[], T], missing: tuple[str, ...] = ()) -> T | None:
    """Run one read call; None when AWS answers with one of the `missing` error codes."""
    import botocore.exceptions

    from mlpipe.aws.errors import error_code, translate

    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in missing:
            return None
        raise translate(exc, clients.target) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, clients.target) from exc


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
