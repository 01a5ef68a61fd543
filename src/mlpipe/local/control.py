"""Start, stop and inspect the embedded AWS process (`mlpipe local ...`). Never prints.

The server runs as `python -m mlpipe local up --foreground` in its own session, writes its pid,
port and operator keys through `local.state` once it listens, and logs to `<cache>/local.log`.
Its admin routes (/_mlpipe/*, /moto-api/*) need the operator's signature: `admin_request`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.cache import cache_dir
from mlpipe.errors import AwsTargetError, UsageError
from mlpipe.local.state import (
    LOOPBACK_HOSTS,
    ServerState,
    clear_state,
    credentials_file,
    ensure_cache_dir,
    read_state,
    recorded_server_for,
    write_state,
)
from mlpipe.waiting import Poll

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class UpResult:
    state: ServerState
    already_running: bool


def log_file() -> Path:
    return cache_dir() / "local.log"


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        # As the server binds (werkzeug sets SO_REUSEADDR): a port whose last connections are in
        # TIME_WAIT after `local down` is free, not "in use" for another minute.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def check_listen_address(host: str, port: int | None, expose_on_network: bool = False) -> None:
    """A port in range; a loopback address unless the user explicitly exposes the server."""
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a TCP port", hint="choose one from 1024 to 65535 (0: any free port)")
    if host not in LOOPBACK_HOSTS and not expose_on_network:
        raise UsageError(
            f"--host {host} would expose the embedded AWS beyond this machine",
            hint="use --host 127.0.0.1; to accept other machines anyway, add --expose-on-network",
        )


def start_background(port: int | None, host: str = "127.0.0.1", expose_on_network: bool = False) -> UpResult:
    """Start the server in a detached process and wait until it answers.

    `port` None: the running server if any, else DEFAULT_PORT. A server already running on another
    port than the one asked for is an error, not a silent success.
    """
    from mlpipe.local.state import DEFAULT_PORT

    check_listen_address(host, port, expose_on_network)
    running = read_state()
    if running is not None:
        if port not in (None, 0, running.port):
            where = f"{running.endpoint_url} (pid {running.pid})"
            raise UsageError(
                f"the embedded AWS is already running at {where}, not on port {port}",
                hint=f"use it (drop --port), or stop it first: `mlpipe local down && mlpipe local up --port {port}`",
            )
        return UpResult(running, already_running=True)
    port = DEFAULT_PORT if port is None else port
    _require_free(host, port)
    ensure_cache_dir()
    path = log_file()
    argv = [sys.executable, "-m", "mlpipe", "local", "up", "--foreground", "--port", str(port), "--host", host]
    if expose_on_network:
        argv.append("--expose-on-network")
    with path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the terminal; `mlpipe local down` stops it
        )
    for _ in Poll(START_TIMEOUT_S, 0.2):
        if process.poll() is not None:
            raise AwsTargetError(
                f"the embedded AWS exited during start-up (code {process.returncode})",
                hint=f"see {path}: {last_lines(path, 3)}",
            )
        state = read_state()
        if state is not None and state.pid == process.pid and _answers(state):
            return UpResult(state, already_running=False)
    process.terminate()
    raise AwsTargetError(f"the embedded AWS did not answer within {START_TIMEOUT_S:.0f} s", hint=f"see {path}")


def run_foreground(
    port: int | None, host: str = "127.0.0.1", verbose: bool = False, expose_on_network: bool = False
) -> None:
    """Serve in this process until SIGTERM/SIGINT, recorded in the state file meanwhile."""
    import logging

    from mlpipe.local.credentials import load_or_create_operator
    from mlpipe.local.persistence import snapshot_file
    from mlpipe.local.server import EmbeddedServer
    from mlpipe.local.state import DEFAULT_PORT

    check_listen_address(host, port, expose_on_network)
    port = DEFAULT_PORT if port is None else port
    running = read_state()
    if running is not None and running.pid != os.getpid():
        raise UsageError(f"the embedded AWS is already running at {running.endpoint_url} (pid {running.pid})")
    ensure_cache_dir()  # where the state file goes: fail before serving, not after
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):  # meant for AWS; moto must not load it
        os.environ.pop(variable, None)
    _require_free(host, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    operator = load_or_create_operator(credentials_file())
    server = EmbeddedServer(
        port=port,
        host=host,
        verbose=verbose,
        operator=operator,
        expose_on_network=expose_on_network,
        state_path=snapshot_file(),
    )
    original_start = server.start

    def start_and_record() -> None:
        original_start()
        write_state(
            ServerState(
                pid=os.getpid(),
                port=server.port,
                host=host,
                log_file=str(log_file()),
                access_key_id=operator.access_key_id,
                secret_access_key=operator.secret_access_key,
            )
        )

    server.start = start_and_record  # type: ignore[method-assign]
    try:
        server.serve_forever()
    finally:
        state = read_state()
        if state is not None and state.pid == os.getpid():
            clear_state()


def stop() -> ServerState | None:
    """Stop the recorded server; None when none was running."""
    state = read_state()
    if state is None:
        clear_state()
        return None
    os.kill(state.pid, signal.SIGTERM)
    for _ in Poll(STOP_TIMEOUT_S, 0.1):
        if not _alive(state.pid):
            break
    if _alive(state.pid):
        os.kill(state.pid, signal.SIGKILL)
    clear_state()
    return state


def status() -> dict[str, Any]:
    """What the running server reports at /_mlpipe/status (plus its recorded pid and log file)."""
    state = read_state()
    if state is None:
        raise AwsTargetError("the embedded AWS is not running", hint="start it with `mlpipe local up`")
    try:
        code, data = admin_request(state.endpoint_url, "GET", "/_mlpipe/status", timeout=5)
        if code != 200:
            raise ValueError(f"HTTP {code}: {data}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise AwsTargetError(
            f"the embedded AWS (pid {state.pid}) does not answer at {state.endpoint_url}: {exc}",
            hint="restart it: `mlpipe local down && mlpipe local up`",
        ) from None
    data.setdefault("server", {})["log_file"] = state.log_file
    return data


def last_lines(path: Path, count: int) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-count:])
    except OSError:
        return "(no log)"


def _require_free(host: str, port: int) -> None:
    if not port_free(host, port):
        raise UsageError(f"port {port} on {host} is already in use", hint="choose another one with --port")


def _answers(state: ServerState) -> bool:
    try:
        return admin_request(state.endpoint_url, "GET", "/_mlpipe/status", timeout=2)[0] == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def admin_request(
    endpoint_url: str,
    method: str,
    path: str,
    data: Any = None,
    *,
    credentials: tuple[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    """Call an admin route (/_mlpipe/*, /moto-api/*) signed as the operator: (HTTP status, JSON or text).

    Keys: `credentials` (key id, secret), else the recorded server's if `endpoint_url` is it, else
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (as after `eval "$(mlpipe local env)"`).
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if credentials is None:
        recorded = recorded_server_for(endpoint_url)
        if recorded is not None and recorded.access_key_id:
            credentials = (recorded.access_key_id, recorded.secret_access_key)
        else:
            credentials = (os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
    body = b"" if data is None else (data if isinstance(data, bytes) else json.dumps(data).encode())
    request = AWSRequest(method=method, url=endpoint_url.rstrip("/") + path, data=body)
    if data is not None and not isinstance(data, bytes):
        request.headers["Content-Type"] = "application/json"
    SigV4Auth(Credentials(*credentials), "mlpipe", "us-east-1").add_auth(request)
    prepared = urllib.request.Request(request.url, data=body or None, method=method, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # our own child that exited but was not reaped yet
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def reset() -> str:
    """Empty the embedded AWS: "running" (the live server was reset), "snapshot" (the state kept
    for the next start was deleted) or "nothing"."""
    state = read_state()
    if state is not None:
        code, body = admin_request(state.endpoint_url, "POST", "/moto-api/reset", b"")
        if code != 200:
            raise AwsTargetError(f"the embedded AWS refused the reset (HTTP {code}): {body}")
        return "running"
    from mlpipe.local.persistence import discard

    return "snapshot" if discard() else "nothing"
