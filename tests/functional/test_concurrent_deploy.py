"""Two deploys at once: both plan "create", one creates first; the other's create then fails. It
must say that another run is changing the same resources and that a rerun converges, not print
`CreateRole failed: EntityAlreadyExists`."""

from __future__ import annotations

import pytest

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import AwsError
from mlpipe.lambda_package import build_package
from mlpipe.ops.deploy import deploy, plan_deploy
from mlpipe.plan.apply import apply_plan
from mlpipe.reporter import ListReporter

CONFIG = Config(app="shop")


@pytest.fixture(autouse=True)
def _short_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.1")


def test_the_losing_deploy_says_another_run_is_going_and_a_rerun_converges(clients: Clients) -> None:
    names = clients.names(CONFIG.app, CONFIG.stage)
    package = build_package()
    loser = plan_deploy(CONFIG, clients, names, package, 0)  # read before the winner created anything
    deploy(CONFIG, clients, ListReporter(), package=package)  # the winner

    with pytest.raises(AwsError) as raised:
        apply_plan(loser, clients, ListReporter())
    message = raised.value.message
    assert "another mlpipe run" in message and "changed since this run read it" in message
    assert raised.value.hint is not None and "run the command again: it converges" in raised.value.hint
    assert deploy(CONFIG, clients, ListReporter()).plan.is_empty  # and indeed, a rerun has nothing to do
