"""The embedded AWS server. (Being built: for now moto's plain threaded server.)"""

from __future__ import annotations


class EmbeddedServer:
    """Runs the embedded AWS in a background thread of this process."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        from moto.server import ThreadedMotoServer

        self.host = host
        self.port = port
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
