"""`mlpipe local git-credential`: git's credential-helper protocol for the embedded CodeCommit.

git runs the helper as `... git-credential get` with `protocol=`, `host=` (and maybe `path=`)
lines on stdin and reads `username=` / `password=` lines back. The answer is the recorded
server's operator keys (HTTP Basic: access key id, secret), and only for that server's own
origin: a helper configured too broadly never hands the keys to another host. `store` and
`erase` change nothing (the keys live in the server's state file, 0600).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mlpipe.local.state import ServerState

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def answer(action: str, request: str, state: ServerState | None) -> str:
    """What the helper prints for git's `action` and request lines ("" = nothing to offer)."""
    if action != "get" or state is None or not state.access_key_id or not state.secret_access_key:
        return ""
    fields = dict(line.split("=", 1) for line in request.splitlines() if "=" in line)
    server = urlsplit(state.endpoint_url)
    asked_host, _, asked_port = fields.get("host", "").rpartition(":")
    same_port = asked_port == str(server.port)
    same_host = asked_host == server.hostname or (asked_host in LOOPBACK_NAMES and server.hostname in LOOPBACK_NAMES)
    if fields.get("protocol") != server.scheme or not (same_port and same_host):
        return ""
    return f"username={state.access_key_id}\npassword={state.secret_access_key}\n"
