"""The embedded AWS as the client factory finds it (`aws.clients.EmbeddedAws`): the server
`mlpipe local up` recorded (`local.state`), started on request (`local.control`).

It lives in the CLI because aws/ must not import the emulator: commands hand it to `resolve_target`.
Both modules it uses are light (stdlib only), so `mlpipe send --local` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipe.aws.clients import Credentials, LocalServer

if TYPE_CHECKING:
    from mlpipe.local.state import ServerState


class RecordedEmbeddedAws:
    def recorded(self, endpoint_url: str | None = None) -> LocalServer | None:
        from mlpipe.local.state import read_state, recorded_server_for

        state = recorded_server_for(endpoint_url) if endpoint_url else read_state()
        return _server(state) if state else None

    def start(self, port: int | None) -> LocalServer:
        from mlpipe.local.control import start_background

        return _server(start_background(port).state)


def _server(state: ServerState) -> LocalServer:
    """Its endpoint and, when recorded, its operator keys (which only this user can read)."""
    keys = Credentials(state.access_key_id, state.secret_access_key) if state.access_key_id else None
    return LocalServer(state.endpoint_url, keys)
