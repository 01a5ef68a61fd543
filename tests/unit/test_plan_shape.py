"""Every planner in plan/ reads in `observe` and decides in a pure `diff`, and has a unit test file
of its diffs (tests/unit/test_plan_<module>.py): a new planner that mixes both fails here."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import mlpipe.plan

UNIT = Path(__file__).resolve().parent
NOT_PLANNERS = {"model", "common", "reads", "apply"}
# SageMaker's changes have their own observed()/*_change() split (tests/unit/test_plan_sagemaker.py);
# teardown.py's SageMaker deletions are planned there too.
OWN_SHAPE = {"sagemaker", "teardown"}
PLANNERS = sorted(m.name for m in pkgutil.iter_modules(mlpipe.plan.__path__) if m.name not in NOT_PLANNERS | OWN_SHAPE)


def test_the_planners_are_found() -> None:
    assert {"sqs", "lambda_fn", "iam", "s3", "codepipeline"} <= set(PLANNERS)


@pytest.mark.parametrize("name", PLANNERS)
def test_a_planner_observes_then_diffs_and_its_diffs_are_unit_tested(name: str) -> None:
    module = importlib.import_module(f"mlpipe.plan.{name}")
    assert callable(getattr(module, "observe", None)), f"plan/{name}.py has no observe()"
    assert callable(getattr(module, "diff", None)), f"plan/{name}.py has no diff()"
    assert (UNIT / f"test_plan_{name}.py").is_file(), f"no tests/unit/test_plan_{name}.py"
