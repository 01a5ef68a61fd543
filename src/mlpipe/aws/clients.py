"""One client factory for both targets: real AWS and the embedded AWS (`mlpipe local`).

Local versus AWS is decided here (`resolve_target`) and nowhere else. Everything downstream gets boto3 clients that
behave the same; where the emulator lacks something, the emulator is extended.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

import boto3
import botocore.config
import botocore.exceptions
import botocore.session

from mlpipe import __version__
from mlpipe.errors import AwsTargetError
from mlpipe.names import Names

DEFAULT_LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Credentials:
    """Explicit keys for a target (the embedded AWS's operator keys); None elsewhere means boto3's chain."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Target:
    kind: Literal["aws", "local"]
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    # Local only: the server's keys. None: boto3's usual chain (AWS_ACCESS_KEY_ID..., as after
    # `eval "$(mlpipe local env)"`).
    credentials: Credentials | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def description(self) -> str:
        if self.is_local:
            return f"embedded AWS at {self.endpoint_url}"
        where = self.region or "default region"
        return f"AWS {where}" + (f" (profile {self.profile})" if self.profile else "")


@dataclass(frozen=True)
class LocalServer:
    """A running embedded AWS: where it listens and the operator's keys (None: boto3's chain)."""

    endpoint_url: str
    credentials: Credentials | None = None


class EmbeddedAws(Protocol):
    """The embedded AWS as the factory needs to find it. aws/ never imports the emulator: the CLI
    hands in `cli.embedded.RecordedEmbeddedAws` (the server `mlpipe local up` recorded)."""

    def recorded(self, endpoint_url: str | None = None) -> LocalServer | None:
        """The recorded server if it still runs (and, given an endpoint URL, is the one listening there)."""

    def start(self, port: int | None) -> LocalServer:
        """Start one in the background and record it; `port` None: the usual port."""


def resolve_target(
    kind: str | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    env: dict[str, str] | None = None,
    kind_source: str | None = None,
    embedded: EmbeddedAws | None = None,
) -> Target:
    """Decide the target once: the one place that says "an endpoint URL (option, config or
    AWS_ENDPOINT_URL) means local". `kind` local without one means the server `embedded` recorded
    (or starts, with MLPIPE_LOCAL_AUTOSTART); None: no embedded AWS can be found.
    `kind_source` says where `local` came from ("mlpipe.yaml:3", "env MLPIPE_TARGET"...), for hints."""
    env = dict(os.environ) if env is None else env
    endpoint_url = endpoint_url or env.get("AWS_ENDPOINT_URL")
    if kind != "local" and not endpoint_url:
        # botocore reads AWS_DEFAULT_REGION itself; AWS_REGION is what most other AWS tools set.
        return Target("aws", region=region or env.get("AWS_REGION") or None, profile=profile)
    server = _local_server(endpoint_url.rstrip("/") if endpoint_url else None, env, kind_source, embedded)
    return Target(
        "local",
        region=region or env.get("AWS_DEFAULT_REGION") or DEFAULT_LOCAL_REGION,
        endpoint_url=server.endpoint_url,
        credentials=server.credentials,
    )


def _local_server(
    endpoint_url: str | None, env: dict[str, str], kind_source: str | None, embedded: EmbeddedAws | None
) -> LocalServer:
    """The embedded AWS at `endpoint_url` (the recorded server's keys when it is that one; they win
    over AWS_ACCESS_KEY_ID & co., which usually hold real AWS keys the embedded AWS does not know),
    else the recorded server, else one started on request."""
    if endpoint_url:
        recorded = embedded.recorded(endpoint_url) if embedded else None
        return LocalServer(endpoint_url, recorded.credentials if recorded else None)
    server = embedded.recorded() if embedded else None
    if server is None and embedded and env.get("MLPIPE_LOCAL_AUTOSTART", "") not in ("", "0", "false"):
        port = env.get("MLPIPE_LOCAL_PORT") or None
        if port is not None and not port.isdigit():
            raise AwsTargetError(f"MLPIPE_LOCAL_PORT={port} is not a port number", hint="export MLPIPE_LOCAL_PORT=4599")
        server = embedded.start(int(port) if port else None)
    if server is None:
        raise AwsTargetError(
            "the embedded AWS is not running",
            hint="start it with `mlpipe local up` (or export MLPIPE_LOCAL_AUTOSTART=1, or "
            + _not_local(kind_source)
            + ")",
        )
    return server


def _not_local(kind_source: str | None) -> str:
    """How to target AWS instead, where `target: local` was set."""
    if kind_source and kind_source.startswith("env "):
        return f"unset {kind_source.removeprefix('env ')}"
    if kind_source and not kind_source.startswith("option"):
        return f"set target: aws in {kind_source.rsplit(':', 1)[0]}"
    return "drop --local"


def known_regions(session: boto3.Session) -> set[str]:
    """Every region of every partition botocore knows (its bundled endpoints data)."""
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("sqs", partition_name=partition))
    return regions


class Clients:
    """Cached boto3 clients for one target, plus the account id and derived names."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @cached_property
    def session(self) -> boto3.Session:
        t = self.target
        try:
            if t.is_local:
                # The embedded AWS needs no profile: an AWS_PROFILE meant for AWS must not break it.
                core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
                if t.credentials is None:  # boto3's chain: AWS_ACCESS_KEY_ID... (`mlpipe local env`)
                    return boto3.Session(region_name=t.region, botocore_session=core)
                return boto3.Session(
                    aws_access_key_id=t.credentials.access_key_id,
                    aws_secret_access_key=t.credentials.secret_access_key,
                    aws_session_token=t.credentials.session_token,
                    region_name=t.region,
                    botocore_session=core,
                )
            return boto3.Session(profile_name=t.profile, region_name=t.region)
        except botocore.exceptions.ProfileNotFound as exc:
            # Without --profile the name came from AWS_PROFILE (or AWS_DEFAULT_PROFILE): say that one.
            name = t.profile or exc.kwargs.get("profile") or os.environ.get("AWS_PROFILE")
            where = "" if t.profile else " (from AWS_PROFILE)" if os.environ.get("AWS_PROFILE") else ""
            raise AwsTargetError(
                f"AWS profile '{name}'{where} is not configured",
                hint="check `aws configure list-profiles`, or unset AWS_PROFILE"
                if where
                else "check `aws configure list-profiles`",
            ) from None

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise AwsTargetError(
                "no AWS region configured",
                hint="pass --region, set region: in mlpipe.yaml, or export AWS_REGION (or AWS_DEFAULT_REGION)",
            )
        if self.target.is_local and region not in known_regions(self.session):
            # The embedded AWS serves real region names only (moto answers an HTML 500 page otherwise).
            raise AwsTargetError(
                f"region '{region}' is not an AWS region",
                hint="use a real one such as us-east-1 (region: in mlpipe.yaml, --region or AWS_DEFAULT_REGION)",
            )
        return region

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                client = self.session.client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.target.endpoint_url,
                    config=self._config(),
                )
                if service == "s3":
                    client.meta.events.register("before-parameter-build.s3", self._expected_bucket_owner)
                self._clients[service] = client
            return self._clients[service]

    def _expected_bucket_owner(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """Every S3 call mlpipe makes names the owner it expects (this account): bucket names are
        global, and a same-named bucket in another account then answers 403 instead of taking
        mlpipe's data or serving it someone else's."""
        shape = model.input_shape
        if shape is not None and "ExpectedBucketOwner" in shape.members and "ExpectedBucketOwner" not in params:
            params["ExpectedBucketOwner"] = self.account_id

    def _config(self) -> botocore.config.Config:
        if self.target.is_local:
            # The emulator answers 500 for what it lacks; don't spend seconds retrying that.
            return botocore.config.Config(
                retries={"mode": "standard", "max_attempts": 2},
                connect_timeout=2,
                read_timeout=60,
                user_agent_extra=f"mlpipe/{__version__}",
            )
        return botocore.config.Config(
            retries={"mode": "adaptive", "max_attempts": 10}, user_agent_extra=f"mlpipe/{__version__}"
        )

    @cached_property
    def account_id(self) -> str:
        from mlpipe.aws.errors import translate

        try:
            return str(self.client("sts").get_caller_identity()["Account"])
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.target) from exc
        except botocore.exceptions.ClientError as exc:
            raise translate(exc, self.target) from exc

    def names(self, app: str, stage: str) -> Names:
        return Names(app=app, stage=stage, region=self.region, account=self.account_id)
