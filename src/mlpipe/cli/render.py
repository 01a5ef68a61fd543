"""Rendering: rich on a terminal, plain lines elsewhere, JSON with --output json. Only the CLI prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Human output (progress, tables, errors) goes to stderr when stdout is for JSON; NO_COLOR is
# honoured by rich itself.
stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class RichReporter:
    """Reporter for the CLI: one line per event on stderr; progress only on a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def step(self, message: str) -> None:
        if not self.quiet:
            stderr.print(f"[dim]…[/] {escape(message)}")

    def done(self, message: str) -> None:
        if not self.quiet:
            stderr.print(f"[green]✓[/] {escape(message)}")

    def warn(self, message: str) -> None:
        if self.quiet:  # --output json: stderr holds JSON objects only (an error's envelope, warnings)
            sys.stderr.write(json.dumps({"warning": message}) + "\n")
            return
        stderr.print(f"[yellow]Warning:[/] {escape(message)}")

    def progress(self, label: str, completed: int, total: int | None) -> None:
        if self.quiet:
            return
        if not stderr.is_terminal:  # logs and pipes: one plain line when it is done, no \r redraws
            if total and completed >= total:
                stderr.print(f"{escape(label)}: {completed}/{total}")
            return
        end = "\n" if total is not None and completed >= total else "\r"
        stderr.print(f"{label}: {completed}" + (f"/{total}" if total else ""), end=end)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table that never cuts a name or a time: boxed on a terminal when it fits; one row per row
    block, wrapped at spaces only, when it does not; off a terminal (CI logs, pipes), one plain line
    per row, aligned, however long."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if not stdout.is_terminal:
        stdout.print(escape("\n".join(plain_table(title, columns, cells))), highlight=False, soft_wrap=True)
        return
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    if sum(widths) + 3 * len(columns) + 1 <= stdout.width:
        t = Table(title=title, show_lines=False, header_style="bold")
        for col in columns:
            t.add_column(col, no_wrap=True)
        for row in cells:
            t.add_row(*row)
        stdout.print(t)
        return
    stdout.print(escape("\n".join(stacked_table(title, columns, cells, stdout.width))), highlight=False)


def plain_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Header and one line per row, columns aligned with two spaces, nothing shortened."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = [title] if title else []
    for row in [list(columns), *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return lines


def stacked_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Too wide for the terminal: each row as a block, `column: value`, wrapped at spaces only (a
    name like house-prices-dev-trigger is never split)."""
    import textwrap

    label = max(len(c) for c in columns)
    lines = [title] if title else []
    for row in rows:
        for i, (column, cell) in enumerate(zip(columns, row, strict=True)):
            if not cell:
                continue
            prefix = ("- " if i == 0 else "  ") + f"{column}:".ljust(label + 1) + " "
            wrapped = textwrap.wrap(
                cell, max(20, width - len(prefix)), break_long_words=False, break_on_hyphens=False
            ) or [""]
            lines.append(prefix + wrapped[0])
            lines += [" " * len(prefix) + more for more in wrapped[1:]]
    return lines


def error(message: str, hint: str | None) -> None:
    stderr.print(f"[bold red]Error:[/] {escape(message)}")
    if hint:
        stderr.print(f"[dim]Hint:[/] {escape(hint)}")


def interrupted(message: str, hint: str | None) -> None:
    """Ctrl-C: one line, what happened and what to run next (not an error of the user's)."""
    text = message[:1].upper() + message[1:] + (f"; {hint}" if hint else "")
    stderr.print(f"[bold yellow]{escape(text)}[/]")


def error_json(code: str, message: str, hint: str | None, exit_code: int) -> None:
    """With `--output json`, an error is one JSON object on stderr, the same envelope for every
    command (docs/CONTRACTS.md): stdout stays empty or valid JSON for the caller to parse."""
    envelope = {"code": code, "message": message, "hint": hint, "exit_code": exit_code}
    sys.stderr.write(json.dumps(envelope, sort_keys=False) + "\n")
    sys.stderr.flush()
