"""Desired resources -> a plan of plain data -> plan.apply, which applies it (or prints it).

Planners (one small module per resource type) read what exists now and return `Change`s; they
never mutate. `execute` applies a plan; `--dry-run` renders it instead. `destroy` is a plan whose
desired state is empty.
"""

from mlpipe.plan.model import Call, Change, Plan, Ref, Wait

__all__ = ["Call", "Change", "Plan", "Ref", "Wait"]
