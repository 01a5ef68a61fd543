"""How library code tells the user what it is doing, without printing.

Use cases receive a Reporter. The CLI passes a rich one (``mlpipe.cli.render``); tests pass a
``ListReporter`` and assert on what was reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Reporter(Protocol):
    def step(self, message: str) -> None:
        """A unit of work starts (e.g. 'create queue app-dev-trigger')."""

    def done(self, message: str) -> None:
        """A unit of work finished successfully."""

    def warn(self, message: str) -> None:
        """Something the user should know, that does not stop the command."""

    def progress(self, label: str, completed: int, total: int | None) -> None:
        """Progress of a long operation (total None when unknown)."""


@dataclass
class ListReporter:
    """Records every event as (kind, message); for tests."""

    events: list[tuple[str, str]] = field(default_factory=list)

    def step(self, message: str) -> None:
        self.events.append(("step", message))

    def done(self, message: str) -> None:
        self.events.append(("done", message))

    def warn(self, message: str) -> None:
        self.events.append(("warn", message))

    def progress(self, label: str, completed: int, total: int | None) -> None:
        self.events.append(("progress", f"{label} {completed}/{total}"))

    def messages(self, kind: str) -> list[str]:
        return [m for k, m in self.events if k == kind]
