"""The target is decided once, from options and the standard AWS environment."""

from __future__ import annotations

import pytest

from mlpipe.aws.clients import Credentials, LocalServer, resolve_target
from mlpipe.errors import AwsTargetError

RECORDED = LocalServer("http://127.0.0.1:4599", Credentials("AKIDLOCAL", "secret"))


class _Recorded:
    """An embedded AWS `mlpipe local up` recorded at RECORDED (or none), which nothing may start."""

    def __init__(self, server: LocalServer | None = RECORDED) -> None:
        self.server = server
        self.asked: list[str | None] = []

    def recorded(self, endpoint_url: str | None = None) -> LocalServer | None:
        self.asked.append(endpoint_url)
        if self.server is None or endpoint_url not in (None, self.server.endpoint_url):
            return None
        return self.server

    def start(self, port: int | None) -> LocalServer:
        raise AssertionError("started without MLPIPE_LOCAL_AUTOSTART")


def test_aws_region_environment_variable_is_honoured_after_the_option() -> None:
    assert resolve_target(None, None, None, None, env={"AWS_REGION": "eu-west-1"}).region == "eu-west-1"
    assert resolve_target(None, "us-west-2", None, None, env={"AWS_REGION": "eu-west-1"}).region == "us-west-2"
    assert resolve_target(None, None, "dev", None, env={}).kind == "aws"


def test_an_endpoint_url_means_the_embedded_aws() -> None:
    target = resolve_target(None, None, None, None, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:4599/"})
    assert target.is_local and target.endpoint_url == "http://127.0.0.1:4599" and target.region == "us-east-1"


def test_an_endpoint_url_overrides_target_aws_and_never_asks_for_a_recorded_server_on_aws() -> None:
    embedded = _Recorded()
    target = resolve_target("aws", None, None, "http://127.0.0.1:4599", env={}, embedded=embedded)
    assert target.is_local and target.credentials == RECORDED.credentials  # the recorded server's keys
    assert resolve_target("aws", None, "dev", None, env={}, embedded=embedded).kind == "aws"
    assert embedded.asked == ["http://127.0.0.1:4599"]


def test_an_endpoint_url_of_another_server_uses_the_usual_credential_chain() -> None:
    target = resolve_target(None, None, None, "http://127.0.0.1:5000/", env={}, embedded=_Recorded())
    assert (target.endpoint_url, target.credentials) == ("http://127.0.0.1:5000", None)


def test_local_without_an_endpoint_url_is_the_recorded_server() -> None:
    target = resolve_target("local", None, None, None, env={"MLPIPE_LOCAL_AUTOSTART": "0"}, embedded=_Recorded())
    assert (target.endpoint_url, target.credentials) == (RECORDED.endpoint_url, RECORDED.credentials)


@pytest.mark.parametrize("embedded", [None, _Recorded(None)], ids=["no-embedded-aws-known", "none-recorded"])
def test_local_without_a_running_server_says_how_to_start_it(embedded: _Recorded | None) -> None:
    with pytest.raises(AwsTargetError, match="not running") as info:
        resolve_target("local", None, None, None, env={}, embedded=embedded)
    assert info.value.hint and "mlpipe local up" in info.value.hint


def test_a_local_port_that_is_no_number_is_named() -> None:
    env = {"MLPIPE_LOCAL_AUTOSTART": "1", "MLPIPE_LOCAL_PORT": "forty"}
    with pytest.raises(AwsTargetError, match="MLPIPE_LOCAL_PORT=forty"):
        resolve_target("local", None, None, None, env=env, embedded=_Recorded(None))
