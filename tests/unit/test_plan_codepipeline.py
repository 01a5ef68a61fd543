"""plan/codepipeline.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlpipe.config import PipelineConfig
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.codepipeline import Pipeline, declaration, diff, diff_deletion
from mlpipe.plan.model import Change

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
ROLE = "arn:aws:iam::123456789012:role/house-pipeline"
TWO_STAGES = declaration(PipelineConfig.model_validate({"stages": ["dev", "prod"]}), NAMES, ROLE)


def reported(desired: dict[str, Any] = TWO_STAGES, tags: dict[str, str] = OURS) -> Pipeline:
    """The declaration as GetPipeline echoes it: with a version and AWS's own defaults added."""
    echoed = copy.deepcopy(desired)
    echoed["version"] = 3
    for stage in echoed["stages"]:
        for action in stage["actions"]:
            action.setdefault("region", "us-east-1")
    return Pipeline(echoed, tags)


def test_a_missing_pipeline_is_created_with_approval_between_the_stages() -> None:
    change = diff(TWO_STAGES, None, NAMES)
    assert (change.action, change.detail) == ("create", "Source -> Deploy-dev -> Approve-prod -> Deploy-prod")
    assert change.calls[0].params["tags"] == [
        {"key": "mlpipe:app", "value": "house"},
        {"key": "mlpipe:stage", "value": "dev"},
    ]


def test_a_matching_pipeline_is_a_noop() -> None:
    assert diff(TWO_STAGES, reported(), NAMES) == Change("noop", "codepipeline", NAMES.pipeline)


@pytest.mark.parametrize(
    ("config", "detail"),
    [
        ({"stages": ["dev", "prod"], "approval": False}, "stages changed"),
        ({"stages": ["dev", "prod"], "execution_mode": "SUPERSEDED"}, "executionMode changed"),
    ],
)
def test_a_changed_declaration_is_an_update(config: dict[str, Any], detail: str) -> None:
    desired = declaration(PipelineConfig.model_validate(config), NAMES, ROLE)
    change = diff(desired, reported(), NAMES)
    assert (change.action, change.detail, change.calls[0].params) == ("update", detail, {"pipeline": desired})


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "shop", "mlpipe:stage": "dev"}])
def test_an_unowned_pipeline_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="CodePipeline"):
        diff(TWO_STAGES, reported(tags=tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(reported(tags=tags), NAMES)


def test_deletion() -> None:
    assert diff_deletion(None, NAMES).detail == "absent"
    assert diff_deletion(reported(), NAMES).calls[0].params == {"name": NAMES.pipeline}
