"""Ctrl-C held where stopping is unsafe (mlpipe.interrupts), with real SIGINTs to this process, and
what the CLI says about an interrupt."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from mlpipe import interrupts
from mlpipe.cli.app import _report_interrupted
from mlpipe.errors import Interrupted
from mlpipe.plan.apply import interrupted
from mlpipe.plan.model import Change


@pytest.fixture
def notices() -> Iterator[list[str]]:
    """`handling()` installed for the test; the notices it gave."""
    seen: list[str] = []
    with interrupts.handling(seen.append):
        yield seen


def test_without_the_cli_handler_ctrl_c_is_pythons_keyboard_interrupt_even_in_a_deferred_block() -> None:
    with pytest.raises(KeyboardInterrupt), interrupts.deferred("work"):
        signal.raise_signal(signal.SIGINT)
        pytest.fail("not interrupted at once")


def test_a_ctrl_c_in_a_deferred_block_is_held_until_its_end(notices: list[str]) -> None:
    finished = False
    with pytest.raises(KeyboardInterrupt), interrupts.deferred("create sqs-queue q"):
        signal.raise_signal(signal.SIGINT)
        assert interrupts.requested() and notices == ["create sqs-queue q"]
        finished = True
    assert finished and not interrupts.requested()


def test_a_second_ctrl_c_raises_at_once(notices: list[str]) -> None:
    with pytest.raises(KeyboardInterrupt), interrupts.deferred("work"):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        pytest.fail("the second Ctrl-C did not stop the block")
    assert notices == ["work"] and not interrupts.requested()


def test_outside_a_deferred_block_ctrl_c_raises_at_once(notices: list[str]) -> None:
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    assert notices == []


def test_nested_blocks_hold_until_the_outermost_ends_and_name_it(notices: list[str]) -> None:
    with pytest.raises(KeyboardInterrupt), interrupts.deferred("outer"):
        with interrupts.deferred("inner"):
            signal.raise_signal(signal.SIGINT)
        assert interrupts.requested()  # the inner end did not raise
    assert notices == ["outer"]


def test_an_error_in_the_block_is_not_replaced_by_the_held_interrupt_which_stays_pending(notices: list[str]) -> None:
    with pytest.raises(ValueError), interrupts.deferred("work"):
        signal.raise_signal(signal.SIGINT)
        raise ValueError("the call failed")
    assert interrupts.requested()  # whoever goes on after the error stops at its next safe point
    with pytest.raises(KeyboardInterrupt), interrupts.deferred("more work"):
        pass


def test_handling_restores_the_previous_handler_and_leaves_an_ignored_sigint_ignored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with interrupts.handling(lambda what: None):
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # e.g. a command started in the background
    try:
        with interrupts.handling(lambda what: None):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            with interrupts.deferred("work"):
                signal.raise_signal(signal.SIGINT)  # ignored, as before
    finally:
        signal.signal(signal.SIGINT, previous)


def test_what_an_interrupted_apply_says() -> None:
    assert interrupted(3, 11, None).message == "interrupted after 3 of 11 planned change(s)"
    cut = Change("create", "sqs-queue", "app-dev-trigger")
    error = interrupted(3, 11, cut)
    assert error.message == (
        "interrupted after 3 of 11 planned change(s); create sqs-queue app-dev-trigger was cut short "
        "(running again completes it)"
    )
    assert error.rerun and error.exit_code == 130


def test_the_cli_names_the_command_to_run_again_quoted_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    typed = ["--stage", "my stage", "deploy"]
    assert (
        _report_interrupted(Interrupted("interrupted after 1 of 2 planned change(s)", rerun=True), typed, True) == 130
    )
    assert capsys.readouterr().err.strip() == (
        '{"code": "Interrupted", "message": "interrupted after 1 of 2 planned change(s)", "hint": "run `mlpipe '
        "--stage 'my stage' deploy` again to finish: it is idempotent and continues where this run stopped\", "
        '"exit_code": 130}'
    )
    assert _report_interrupted(Interrupted("interrupted: 3 of 9 sent", hint="resend the rest"), typed, False) == 130
    assert capsys.readouterr().err == "Interrupted: 3 of 9 sent; resend the rest\n"


def test_what_an_interrupted_send_says() -> None:
    from mlpipe.ops.rows import Message
    from mlpipe.ops.sqs_batch import Delivery
    from mlpipe.ops.sqs_batch import interrupted as send_interrupted

    messages = [Message("1,2", f"run-{i}", (i + 2, i + 3)) for i in range(0, 8, 2)]  # 2 rows each, lines 2-9
    delivery = Delivery(message_ids={0: "a", 1: "b"}, failed={2: ("Interrupted", ""), 3: ("Interrupted", "")})
    error = send_interrupted(delivery, messages, "rows.csv")
    assert error.message == "interrupted: 2 of 4 message(s) sent (rows.csv line(s) 2-5); rows.csv line(s) 6-9 not sent"
    assert error.hint == "the sent lines are on the queue: resend only the lines not sent"
    everything = Delivery(message_ids={i: str(i) for i in range(4)})
    assert send_interrupted(everything, messages, "rows.csv").message == (
        "interrupted, but all 4 message(s) had been sent: nothing is missing"
    )
