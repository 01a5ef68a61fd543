"""Extension points of the embedded AWS.

moto answers most calls. Where it lacks an operation mlpipe uses, or behaves unlike AWS in a way
mlpipe must cope with, a module in `mlpipe.local.ext` registers a handler here. The server imports
every module of that package at start-up (`load_extensions`), so adding a module is enough.

Handlers work on the JSON form of a request, whatever the wire protocol: `params` is what botocore
would have serialized (the operation's input shape), the return value is the output shape.

    @override("codecommit", "PutFile")          # replaces moto for this operation
    def put_file(ctx: Context, params: dict) -> dict: ...

    @after("lambda", "CreateEventSourceMapping")  # observes moto's successful answer
    def on_mapping(ctx: Context, params: dict, response: dict) -> None: ...

    @before("lambda", "CreateEventSourceMapping")  # may raise AwsApiError to reject the call
    def reject_duplicate(ctx: Context, params: dict) -> None: ...

`before` hooks may change `params` in place (e.g. drop entries a fault makes fail) and stash
what they need in `ctx.request_state` (a dict fresh for every request); `after` hooks may change
`response` in place (e.g. add those entries to `Failed`). Raise `AwsApiError(code, message,
status)` from any handler to answer with an AWS error.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_CLIENTS_LOCK = threading.Lock()

Key = tuple[str, str]  # (botocore service name, operation name), e.g. ("sqs", "StartMessageMoveTask")


class AwsApiError(Exception):
    """An AWS-style error answer: the code and message botocore will surface to the caller."""

    def __init__(self, code: str, message: str, status: int = 400, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        # Additional members of the error shape (e.g. OriginalStatusCode of SageMaker's ModelError).
        self.extra = extra or {}


@dataclass
class Context:
    """What a handler may use: clients back to this very server, and the server's shared state."""

    endpoint_url: str
    account_id: str = "123456789012"
    # Region of the current request (from its signature); the server's default outside requests.
    region: str = "us-east-1"
    # Shared, mutable state of the server (fault settings, counters, runner...), by module.
    state: dict[str, Any] = field(default_factory=dict)
    # Scratch space shared by the before/after hooks of one request; the server resets it per request.
    request_state: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client that talks to this server (for S3 reads, log writes, ...).

        Cached per (service, region) in `state`: creating one costs ~5-10 ms, and boto3 clients are
        thread-safe, so hooks on hot paths (InvokeEndpoint, the mapping runner) can call this freely.
        """
        import boto3
        import botocore.config

        cache: dict[tuple[str, str], Any] = self.state.setdefault("_clients", {})
        key = (service, region)
        if key not in cache:
            with _CLIENTS_LOCK:
                if key not in cache:
                    # The emulator's own calls sign as its internal identity (the account's root).
                    internal = self.state["credentials"].internal
                    cache[key] = boto3.client(
                        service,
                        region_name=region,
                        endpoint_url=self.endpoint_url,
                        aws_access_key_id=internal.access_key_id,
                        aws_secret_access_key=internal.secret_access_key,
                        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}),
                    )
        return cache[key]


# hook(ctx, identity, request): called for every authenticated AWS API request, before anything
# else sees it; raise AwsApiError to deny. `identity` is a credentials.Identity, `request` a
# protocols.ApiRequest (operation "" when the request maps to no operation of the model).
Authorizer = Callable[[Context, Any, Any], None]
AUTHORIZERS: list[Authorizer] = []
# Non-AWS routes by path prefix (e.g. "/v1/repos/" for git smart HTTP): plain WSGI apps, called only
# after authentication (SigV4 or HTTP Basic with key id and secret); the caller's Identity is in
# environ["mlpipe.identity"].
RAW_ROUTES: dict[str, Callable[..., Any]] = {}

# Admin routes of extensions, (method, path) -> handler(ctx, json_body) -> JSON answer, e.g.
# ("POST", "/_mlpipe/iam"). Operator-signed requests only (like every /_mlpipe/ route); a ValueError
# from the handler answers 400 with its message.
ADMIN_ROUTES: dict[tuple[str, str], Callable[[Context, dict[str, Any]], dict[str, Any]]] = {}

Override = Callable[[Context, dict[str, Any]], dict[str, Any]]
Before = Callable[[Context, dict[str, Any]], None]
After = Callable[[Context, dict[str, Any], dict[str, Any]], None]

OVERRIDES: dict[Key, Override] = {}
BEFORE: dict[Key, list[Before]] = defaultdict(list)
AFTER: dict[Key, list[After]] = defaultdict(list)
# Called once when the server starts, with its Context (start background threads here).
STARTUP: list[Callable[[Context], None]] = []
# Called on `POST /moto-api/reset`, just before moto resets: stop in-flight work, drop own state.
RESET: list[Callable[[Context], None]] = []
# Called when the server stops (stop threads, worker processes...).
SHUTDOWN: list[Callable[[Context], None]] = []
# Each returns a dict merged into `GET /_mlpipe/status` (e.g. {"mappings": [...]}).
STATUS: list[Callable[[Context], dict[str, Any]]] = []
# ctx.state keys that snapshots keep across restarts (local/persistence.py), each with an optional
# fix-up called after a restore, before STARTUP (e.g. runs a dead process left "in progress").
PERSISTENT: dict[str, Callable[[Context], None] | None] = {}


def override(service: str, operation: str) -> Callable[[Override], Override]:
    def register(fn: Override) -> Override:
        OVERRIDES[(service, operation)] = fn
        return fn

    return register


def before(service: str, operation: str) -> Callable[[Before], Before]:
    def register(fn: Before) -> Before:
        BEFORE[(service, operation)].append(fn)
        return fn

    return register


def after(service: str, operation: str) -> Callable[[After], After]:
    def register(fn: After) -> After:
        AFTER[(service, operation)].append(fn)
        return fn

    return register


def on_startup(fn: Callable[[Context], None]) -> Callable[[Context], None]:
    STARTUP.append(fn)
    return fn


def on_reset(fn: Callable[[Context], None]) -> Callable[[Context], None]:
    RESET.append(fn)
    return fn


def on_shutdown(fn: Callable[[Context], None]) -> Callable[[Context], None]:
    SHUTDOWN.append(fn)
    return fn


def on_status(fn: Callable[[Context], dict[str, Any]]) -> Callable[[Context], dict[str, Any]]:
    STATUS.append(fn)
    return fn


def persistent(key: str, on_restore: Callable[[Context], None] | None = None) -> None:
    """Keep `ctx.state[key]` in snapshots (pickled; locks and events are re-created on load)."""
    PERSISTENT[key] = on_restore


def load_extensions() -> None:
    """Import every module in mlpipe.local.ext so their decorators register."""
    from mlpipe.local import ext

    for info in pkgutil.iter_modules(ext.__path__):
        importlib.import_module(f"{ext.__name__}.{info.name}")
