"""The target is decided once, from options and the standard AWS environment."""

from __future__ import annotations

import pytest

from mlpipe.aws.clients import resolve_target
from mlpipe.errors import AwsTargetError


def test_aws_region_environment_variable_is_honoured_after_the_option() -> None:
    assert resolve_target(None, None, None, None, env={"AWS_REGION": "eu-west-1"}).region == "eu-west-1"
    assert resolve_target(None, "us-west-2", None, None, env={"AWS_REGION": "eu-west-1"}).region == "us-west-2"
    assert resolve_target(None, None, "dev", None, env={}).kind == "aws"


def test_an_endpoint_url_means_the_embedded_aws() -> None:
    target = resolve_target(None, None, None, None, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:4599/"})
    assert target.is_local and target.endpoint_url == "http://127.0.0.1:4599" and target.region == "us-east-1"


def test_local_without_a_running_server_says_how_to_start_it() -> None:
    with pytest.raises(AwsTargetError, match="not running") as info:
        resolve_target("local", None, None, None, env={})
    assert info.value.hint and "mlpipe local up" in info.value.hint


def test_local_autostart_starts_the_embedded_aws_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import free_port
    from mlpipe.local import control

    port = free_port()
    env = {"MLPIPE_LOCAL_AUTOSTART": "1", "MLPIPE_LOCAL_PORT": str(port)}
    try:
        target = resolve_target("local", None, None, None, env=env)
        assert target.endpoint_url == f"http://127.0.0.1:{port}"
        assert target.credentials is not None  # the recorded server's own keys
        keys = (target.credentials.access_key_id, target.credentials.secret_access_key)
        assert control.admin_request(target.endpoint_url, "GET", "/_mlpipe/status", credentials=keys)[0] == 200
        assert resolve_target("local", None, None, None, env=env) == target  # found, not started twice
    finally:
        control.stop()
