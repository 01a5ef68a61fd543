"""The embedded AWS server: moto's WSGI app behind our middleware, on one port.

`start()` binds and serves from a background thread of this process (tests, `mlpipe demo`);
`serve_forever()` is the foreground form `mlpipe local up` runs in its own process.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from mlpipe.local import registry
from mlpipe.local.registry import Context
from mlpipe.local.state import DEFAULT_PORT

log = logging.getLogger("mlpipe.local")


class EmbeddedServer:
    """Runs the embedded AWS in a background thread of this process."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1", verbose: bool = False) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self.ctx: Context | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from mlpipe.local.middleware import Middleware

        registry.load_extensions()
        # Bind first (the app needs the real port for its Context), then plug the app in.
        self._server = make_server(
            self.host, self.port, _not_ready, threaded=True, request_handler=_handler_class(self.verbose)
        )
        self.port = int(self._server.server_address[1])  # port 0 = any free port
        self.ctx = Context(endpoint_url=self.endpoint_url)
        self.middleware = Middleware(DomainDispatcherApplication(create_backend_app), self.ctx)
        self._server.app = self.middleware
        self._thread = threading.Thread(target=self._server.serve_forever, name="mlpipe-aws", daemon=True)
        self._thread.start()
        for hook in registry.STARTUP:
            hook(self.ctx)
        log.info("embedded AWS listening on %s", self.endpoint_url)

    def stop(self) -> None:
        if self.ctx is not None:
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
