"""Where the running embedded AWS is recorded (pid, port, the operator's keys), so `--local`
commands find it and can sign their requests.

Kept free of heavy imports: `--local` commands read it on every start. The file holds a secret:
it is written 0600 in a 0700 directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlpipe.cache import cache_dir

DEFAULT_PORT = 4599  # not 4566 (LocalStack) or 5000 (moto's default, Flask, AirPlay)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def ensure_cache_dir() -> Path:
    """The cache directory, created: a clear error when it cannot be (HOME not writable,
    MLPIPE_CACHE_DIR naming a file...), before anything is started."""
    from mlpipe.errors import UsageError

    path = cache_dir()
    source = "MLPIPE_CACHE_DIR" if os.environ.get("MLPIPE_CACHE_DIR") else "the cache directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        problem = "it is a file, not a directory" if path.is_file() else exc.strerror
        raise UsageError(
            f"{source} {path} cannot be used: {problem}",
            hint="export MLPIPE_CACHE_DIR=<a writable directory> (the embedded AWS keeps its state and log there)",
        ) from None
    return path


def state_file() -> Path:
    return cache_dir() / "local.json"


def credentials_file() -> Path:
    """The operator's keys, kept across restarts (unlike the state file, removed on `local down`)."""
    return cache_dir() / "credentials.json"


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    host: str = "127.0.0.1"
    log_file: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def read_state() -> ServerState | None:
    """The recorded server, or None when none is recorded or its process is gone."""
    try:
        data = json.loads(state_file().read_text())
        state = ServerState(**data)
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    return state


def write_state(state: ServerState) -> None:
    from mlpipe.local.credentials import write_private

    write_private(state_file(), json.dumps(asdict(state)))


def clear_state() -> None:
    state_file().unlink(missing_ok=True)


def recorded_server_for(endpoint_url: str) -> ServerState | None:
    """The recorded server if `endpoint_url` points at it (any loopback spelling of its host)."""
    from urllib.parse import urlsplit

    state = read_state()
    if state is None:
        return None
    try:
        parts = urlsplit(endpoint_url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    same_host = host == state.host or (host in LOOPBACK_HOSTS and state.host in LOOPBACK_HOSTS)
    return state if same_host and port == state.port else None
