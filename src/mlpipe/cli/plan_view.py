"""Rendering a plan (deploy, bootstrap-pipeline, destroy) as a table."""

from __future__ import annotations

from mlpipe.cli import render
from mlpipe.plan.model import Plan

SYMBOLS = {"create": "+ create", "update": "~ update", "delete": "- delete", "noop": "  ok"}


def plan_table(title: str, plan: Plan, show_noop: bool = True) -> None:
    rows = []
    for change in plan.changes:
        absent = change.action == "noop" and change.detail == "absent"  # nothing there, nothing wanted
        if (show_noop and not absent) or change.action != "noop":
            rows.append((SYMBOLS[change.action], change.kind, change.name, change.detail))
    render.table(title, ["action", "resource", "name", "detail"], rows)


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    return ", ".join(f"{counts[a]} to {a}" for a in ("create", "update", "delete") if counts[a]) or "nothing to change"


def show_plan_outcome(subject: str, plan: Plan, dry_run: bool, verb: str, next_step: str) -> None:
    """What deploy and bootstrap-pipeline print: the plan (dry run), 'up to date', or what changed."""
    if dry_run:
        plan_table(f"Plan for {subject} (dry run: nothing changed)", plan)
        render.stdout.print(summary_line(plan))
    elif plan.is_empty:
        render.stdout.print(f"{subject} is up to date: nothing to change")
    else:
        plan_table(f"{verb} {subject}", plan, show_noop=False)
        render.stdout.print(f"{summary_line(plan).replace(' to ', ' ')}; {next_step}")
