"""Starting the embedded AWS: on demand when MLPIPE_LOCAL_AUTOSTART asks, and without flask-cors
(moto's server imports it only for its CORS grant)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import free_port
from mlpipe.aws.clients import resolve_target
from mlpipe.cli.embedded import RecordedEmbeddedAws


def test_local_autostart_starts_the_embedded_aws_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlpipe.local import control

    port = free_port()
    env = {"MLPIPE_LOCAL_AUTOSTART": "1", "MLPIPE_LOCAL_PORT": str(port)}
    try:
        target = resolve_target("local", None, None, None, env=env, embedded=RecordedEmbeddedAws())
        assert target.endpoint_url == f"http://127.0.0.1:{port}"
        assert target.credentials is not None  # the recorded server's own keys
        keys = (target.credentials.access_key_id, target.credentials.secret_access_key)
        assert control.admin_request(target.endpoint_url, "GET", "/_mlpipe/status", credentials=keys)[0] == 200
        again = resolve_target("local", None, None, None, env=env, embedded=RecordedEmbeddedAws())
        assert again == target  # found, not started twice
    finally:
        control.stop()


def test_the_server_runs_without_flask_cors_installed() -> None:
    """mlpipe does not depend on flask-cors (moto's server imports it only for its CORS grant)."""
    script = (
        "import sys; sys.modules['flask_cors'] = None\n"  # as if not installed: `import flask_cors` fails
        "from mlpipe.local.server import EmbeddedServer\n"
        "s = EmbeddedServer(port=0); s.start()\n"
        "from mlpipe.local.control import admin_request\n"
        "keys = (s.operator.access_key_id, s.operator.secret_access_key)\n"
        "print(admin_request(s.endpoint_url, 'GET', '/_mlpipe/status', credentials=keys)[0]); s.stop()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "200"
