"""A deploy killed after its k-th mutating call is finished by the next run; destroy then leaves
nothing tagged with the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from deploy_support import CallLog, tagged_inventory

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.ops.deploy import deploy
from mlpipe.ops.destroy import destroy
from mlpipe.reporter import ListReporter

# A fresh deploy of this config makes 13 mutating calls (2 queues, the stage's permissions boundary,
# role + policy, log group + retention, function, mapping, alarm topic, 3 alarms); the test checks
# that count so a new call is not missed. They leave 11 tagged resources (the policy and the
# retention are parts of others).
FRESH_MUTATING_CALLS = 13
TAGGED_RESOURCES = 11


@pytest.fixture(autouse=True)
def _short_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded AWS keeps a new function Pending for a while; deploy waits either way, so keep it short here."""
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.1")


@pytest.fixture
def clients(module_clients: Clients, endpoint_url: str) -> Clients:
    return module_clients  # `endpoint_url` reset the server's state


@pytest.fixture
def watch(clients: Clients) -> Iterator[Callable[..., CallLog]]:
    """Attach call logs for one test; they are detached from the shared clients afterwards."""
    logs: list[CallLog] = []

    def attach(**kwargs: Any) -> CallLog:
        logs.append(CallLog(**kwargs).attach(clients))
        return logs[-1]

    yield attach
    for log in logs:
        log.detach(clients)


class Killed(Exception):
    """Stands for the process dying between two API calls."""


def config() -> Config:
    return Config(app="crash", alarm={"dlq_threshold": 2})  # type: ignore[arg-type]


@pytest.mark.parametrize("k", range(1, FRESH_MUTATING_CALLS + 1))
def test_interrupted_deploy_converges_and_destroy_removes_everything(
    clients: Clients, watch: Callable[..., CallLog], k: int
) -> None:
    def kill_at_k(operation: str, index: int) -> None:
        if index == k:
            raise Killed(f"killed before call {k} ({operation})")

    interrupted = watch(on_mutating=kill_at_k)
    with pytest.raises(Killed):
        deploy(config(), clients, ListReporter())
    assert len(interrupted.mutating) == k
    interrupted.on_mutating = None

    resumed = deploy(config(), clients, ListReporter())
    assert not resumed.plan.is_empty
    check = watch()
    assert deploy(config(), clients, ListReporter()).plan.is_empty
    assert check.mutating == []
    names = resumed.names
    assert len(tagged_inventory(clients, names)) == TAGGED_RESOURCES

    destroy(config(), clients, ListReporter())
    assert tagged_inventory(clients, names) == []


def test_fresh_deploy_makes_the_expected_number_of_mutating_calls(
    clients: Clients, watch: Callable[..., CallLog]
) -> None:
    log = watch()
    deploy(config(), clients, ListReporter())
    assert len(log.mutating) == FRESH_MUTATING_CALLS, log.mutating
