"""apply_plan's two waits, through the embedded AWS on a fake clock: a Wait step polls until its
status comes (or times out naming the last status), a Call retries a `retry_on` error until the
deadline and then raises that error. The fake clock only advances by the sleeps asked for."""

from __future__ import annotations

import pytest
from virtual_time import VirtualTime

from mlpipe.aws.clients import Clients
from mlpipe.errors import AwsError, WaitTimeout
from mlpipe.plan.apply import apply_plan
from mlpipe.plan.model import Call, Change, Plan, Wait
from mlpipe.reporter import ListReporter


def _queue(clients: Clients) -> str:
    return str(clients.client("sqs").create_queue(QueueName="waits-q")["QueueUrl"])


def _delay_wait(url: str, until: str, timeout_s: float = 30.0) -> Wait:
    return Wait(
        "sqs",
        "get_queue_attributes",
        {"QueueUrl": url, "AttributeNames": ["DelaySeconds"]},
        path=("Attributes", "DelaySeconds"),
        until=(until,),
        timeout_s=timeout_s,
        description="queue waits-q's delay",
    )


def test_a_wait_whose_status_is_there_returns_without_sleeping(clients: Clients) -> None:
    t = VirtualTime()
    change = Change("update", "sqs-queue", "waits-q", steps=(_delay_wait(_queue(clients), until="0"),))
    apply_plan(Plan((change,)), clients, ListReporter(), sleep=t.sleep, clock=t.clock)
    assert t.sleeps == []


def test_a_wait_times_out_at_its_deadline_naming_the_last_status(clients: Clients) -> None:
    t = VirtualTime()
    change = Change("update", "sqs-queue", "waits-q", steps=(_delay_wait(_queue(clients), until="5"),))
    with pytest.raises(WaitTimeout) as caught:
        apply_plan(Plan((change,)), clients, ListReporter(), sleep=t.sleep, clock=t.clock)
    assert str(caught.value) == "timed out after 30s waiting for queue waits-q's delay (status 0)"
    assert caught.value.exit_code == 5 and "run the command again" in (caught.value.hint or "")
    assert sum(t.sleeps) == pytest.approx(30)  # the last look is at the deadline, none after it
    assert t.sleeps[:3] == pytest.approx([0.2, 0.3, 0.45]) and max(t.sleeps) <= 5.0


def test_a_retried_call_keeps_trying_until_the_deadline_then_raises_its_error(clients: Clients) -> None:
    t = VirtualTime()
    missing = Call("iam", "delete_role", {"RoleName": "waits-not-there"}, retry_on=("NoSuchEntity",))
    change = Change("delete", "iam-role", "waits-not-there", steps=(missing,))
    with pytest.raises(AwsError) as caught:
        apply_plan(Plan((change,)), clients, ListReporter(), sleep=t.sleep, clock=t.clock)
    assert caught.value.code == "NoSuchEntity" and not isinstance(caught.value, WaitTimeout)
    assert sum(t.sleeps) == pytest.approx(60)  # retry_timeout_s
    assert 1.0 <= t.sleeps[0] <= 1.5 and max(t.sleeps) <= 15.0  # doubling from 1 s, capped at 10 s (+ jitter)


def test_an_error_not_retried_fails_at_once(clients: Clients) -> None:
    t = VirtualTime()
    missing = Call("iam", "delete_role", {"RoleName": "waits-not-there"})
    with pytest.raises(AwsError, match="NoSuchEntity"):
        apply_plan(Plan((Change("delete", "iam-role", "r", steps=(missing,)),)), clients, ListReporter(), t.sleep)
    assert t.sleeps == []
