"""The one call layer: every AWS call outside aws/ and local/ goes through `call` or `read`.

botocore's exceptions stop here. Callers see mlpipe errors only: an `AwsError` carries the service's
error `code`, its raw `aws_message` and HTTP `status`; a failure to reach the service at all is
`transient` (the network or the service blinked), so use cases can decide to try again without
knowing botocore's class tree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import botocore.exceptions

from mlpipe.aws.errors import error_code, translate

if TYPE_CHECKING:
    from mlpipe.aws.clients import Clients

T = TypeVar("T")

# Failures where the request may or may not have reached AWS: sending again is safe for
# at-least-once APIs (SQS) and for reads.
_CONNECTION_ERRORS = (botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError)


def call(clients: Clients, fn: Callable[..., T], /, **params: Any) -> T:
    """Run one AWS call (`fn(**params)`); any failure is raised as an mlpipe error."""
    try:
        return fn(**params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _translated(exc, clients) from exc


def read(clients: Clients, fn: Callable[..., T], /, missing: Collection[str] = (), **params: Any) -> T | None:
    """Run one read call (`fn(**params)`); None when AWS answers with one of the `missing` errors
    ("Code", or "Code:fragment" for services that say "not found" with a generic code and a message)."""
    try:
        return fn(**params)
    except botocore.exceptions.ClientError as exc:
        if matches(error_code(exc) or "", str(exc.response.get("Error", {}).get("Message", "")), missing):
            return None
        raise _translated(exc, clients) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise _translated(exc, clients) from exc


def matches(code: str, message: str, patterns: Collection[str]) -> bool:
    """Whether an AWS error is one of `patterns`: "Code", or "Code:fragment" (fragment in the message,
    case-insensitive), so that a generic code such as ValidationException can mean one thing only."""
    for pattern in patterns:
        wanted, _, fragment = pattern.partition(":")
        if code == wanted and fragment.lower() in message.lower():
            return True
    return False


def _translated(exc: Exception, clients: Clients | None) -> Exception:
    error = translate(exc, clients.target if clients is not None else None)
    error.transient = isinstance(exc, _CONNECTION_ERRORS)
    return error


def iterate(clients: Clients | None, stream: Iterable[T]) -> Iterator[T]:
    """The items of a response stream (an event stream, a paginator); failures as mlpipe errors."""
    try:
        yield from stream
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _translated(exc, clients) from exc
