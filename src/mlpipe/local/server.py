"""The embedded AWS server: moto's WSGI app behind our middleware, on one port.

`start()` binds and serves from a background thread of this process (tests, `mlpipe demo`);
`serve_forever()` is the foreground form `mlpipe local up` runs in its own process.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from mlpipe.local import persistence, registry
from mlpipe.local.credentials import CredentialStore, Identity, new_identity, operator_arn
from mlpipe.local.registry import Context
from mlpipe.local.state import DEFAULT_PORT

log = logging.getLogger("mlpipe.local")


class EmbeddedServer:
    """Runs the embedded AWS in a background thread of this process."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        verbose: bool = False,
        operator: Identity | None = None,
        expose_on_network: bool = False,
        state_path: Path | None = None,
    ) -> None:
        self.host = host
        self.state_path = state_path  # snapshots of the state (restored at start); None: nothing kept
        self.port = port
        self.verbose = verbose
        self.expose_on_network = expose_on_network
        # The keys the CLI signs with: given (`local up` keeps them across restarts) or fresh.
        self.credentials = CredentialStore(operator or new_identity(operator_arn()))
        self.ctx: Context | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def operator(self) -> Identity:
        return self.credentials.operator

    def start(self) -> None:
        from werkzeug.serving import make_server

        from mlpipe.local.middleware import Middleware

        werkzeug_app = moto_server_module()

        registry.load_extensions()
        sweep_stale_scratch()
        # Bind first (the app needs the real port for its Context), then plug the app in.
        self._server = make_server(
            self.host, self.port, _not_ready, threaded=True, request_handler=_handler_class(self.verbose)
        )
        self.port = int(self._server.server_address[1])  # port 0 = any free port
        self.ctx = Context(endpoint_url=self.endpoint_url, state={"credentials": self.credentials})
        keeper = persistence.attach(self.ctx, self.state_path)  # restores the last snapshot
        moto_app = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
        self.middleware = Middleware(moto_app, self.ctx, expose_on_network=self.expose_on_network)
        self._server.app = keeper.wrap(self.middleware) if keeper else self.middleware
        self._thread = threading.Thread(target=self._server.serve_forever, name="mlpipe-aws", daemon=True)
        self._thread.start()
        for hook in registry.STARTUP:
            hook(self.ctx)
        if keeper:
            keeper.start()
        log.info("embedded AWS listening on %s", self.endpoint_url)

    def stop(self) -> None:
        if self.ctx is not None:
            persistence.detach(self.ctx)  # the last snapshot, before the extensions drop their state
            for hook in registry.SHUTDOWN:
                try:
                    hook(self.ctx)
                except Exception:  # keep stopping the rest
                    log.exception("shutdown hook failed")
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Start, then block until SIGTERM/SIGINT; stop cleanly."""
        stopped = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopped.set())
        self.start()
        try:
            stopped.wait()
        finally:
            self.stop()


def moto_server_module() -> Any:
    """moto's WSGI server module, with its global CORS grant off (AWS's APIs send no CORS headers).

    The module imports flask_cors only to make that grant; mlpipe does not install it, so a stand-in
    satisfies the import when it is absent (it is never called: the grant is switched off first).
    """
    import sys
    import types

    try:
        import flask_cors  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("flask_cors")
        stand_in.CORS = _no_cors  # type: ignore[attr-defined]
        sys.modules["flask_cors"] = stand_in
    from moto.moto_server import werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True
    return werkzeug_app


def _no_cors(app: Any, *args: Any, **kwargs: Any) -> None:
    raise RuntimeError("moto's global CORS must stay off in the embedded AWS")


SCRATCH_PREFIXES = ("mlpipe-lambda-code-", "mlpipe-build-")


def sweep_stale_scratch(root: Path | None = None) -> list[Path]:
    """Remove the scratch directories (function code, build checkouts) of servers that are gone.

    A server removes its own when it stops; one that was killed cannot. Names carry the owner's
    pid (`mlpipe-lambda-code-<pid>-…`); directories of live processes are left alone.
    """
    import shutil
    import tempfile

    removed = []
    for path in (root or Path(tempfile.gettempdir())).iterdir():
        prefix = next((p for p in SCRATCH_PREFIXES if path.name.startswith(p)), None)
        if prefix is None or not path.is_dir() or path.stat().st_uid != os.getuid():
            continue
        pid = path.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue  # pid-less names are older mlpipe versions': maybe still running, left alone
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _not_ready(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def _handler_class(verbose: bool) -> Any:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class RequestHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if verbose:
                super().log_request(code, size)

    return RequestHandler
