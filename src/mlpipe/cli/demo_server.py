"""The embedded AWS as `mlpipe demo` uses it: `mlpipe local up`'s background process (`local.control`).

Started the same way and recorded in the same place, so `--local` commands, `mlpipe local status`
and `mlpipe local down` find a server the demo kept (--keep). The demo stops only a server it
started itself, never one the user was already running.
"""

from __future__ import annotations

from mlpipe.local import control
from mlpipe.local.state import DEFAULT_PORT, ServerState, read_state


class RecordedServer:
    """The demo's `ServerControl`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port
        self.started: ServerState | None = None

    def running_url(self) -> str | None:
        state = read_state()
        return state.endpoint_url if state else None

    def start(self) -> str:
        port = self.port
        if port is None:  # the usual port, unless something else holds it
            port = DEFAULT_PORT if control.port_free("127.0.0.1", DEFAULT_PORT) else 0
        self.started = control.start_background(port).state
        return self.started.endpoint_url

    def stop(self) -> None:
        recorded = read_state()
        if self.started is not None and recorded is not None and recorded.pid == self.started.pid:
            control.stop()
        self.started = None
