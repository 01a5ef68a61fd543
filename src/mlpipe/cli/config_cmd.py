"""Placeholder: this command is being built (see the issue tracker)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    pass
