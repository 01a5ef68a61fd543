"""Progress off a terminal: plain lines (one when done), no carriage-return redraws, no colour."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from mlpipe.cli import render


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_is_plain_off_a_terminal(terminal: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(render, "stderr", Console(file=buffer, force_terminal=terminal, width=80))
    reporter = render.RichReporter()
    for done in range(0, 11):
        reporter.progress("send", done, 10)
    reporter.progress("wait", 3, None)
    reporter.warn("careful")
    text = buffer.getvalue()
    if terminal:
        assert "\r" in text  # redrawn in place
    else:
        assert "\r" not in text and "\x1b[" not in text
        assert text.splitlines() == ["send: 10/10", "Warning: careful"]


def test_quiet_reporter_prints_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(render, "stderr", Console(file=buffer, force_terminal=False))
    render.RichReporter(quiet=True).progress("send", 10, 10)
    assert buffer.getvalue() == ""
