"""Progress off a terminal: plain lines (one when done), no carriage-return redraws, no colour."""

from __future__ import annotations

import io
import re

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


ROWS = [
    ("event-source-mapping", "house-prices-dev-trigger", "in sync", "to house-prices-dev-predict, batch 10, window 0s"),
    ("log-group", "/aws/lambda/house-prices-dev-predict", "drifted", "retention 30 -> 14 days"),
    ("pipeline run", "house-prices-pipeline", "Succeeded", "2026-12-02T17:04:33+00:00 on commit 351eec1e"),
]
COLUMNS = ["resource", "name", "state", "detail"]


def _render(monkeypatch: pytest.MonkeyPatch, terminal: bool, width: int = 80) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=width, highlight=False, soft_wrap=True)
    monkeypatch.setattr(render, "stdout", console)
    render.table("house-prices/dev", COLUMNS, ROWS)
    return buffer.getvalue()


def test_off_a_terminal_a_table_is_one_line_per_row_never_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _render(monkeypatch, terminal=False).splitlines()
    assert lines[0] == "house-prices/dev" and lines[1].split() == COLUMNS
    assert len(lines) == 2 + len(ROWS)
    for line, row in zip(lines[2:], ROWS, strict=True):
        assert all(cell in line for cell in row), line  # whole names, whole times
    assert "…" not in "\n".join(lines) and "│" not in "\n".join(lines)


def test_at_80_columns_a_wide_table_wraps_at_spaces_only(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _render(monkeypatch, terminal=True, width=80)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert all(len(line) <= 80 for line in plain.splitlines()), plain
    words = plain.split()
    for row in ROWS:
        for cell in row:
            for word in cell.split():
                assert word in words, (word, plain)  # never split inside a word or a name
    assert "…" not in plain


def test_a_table_that_fits_is_boxed(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _render(monkeypatch, terminal=True, width=200)
    assert "house-prices-dev-trigger" in text and "┃" in text
