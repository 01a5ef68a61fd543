"""plan/codebuild.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.codebuild import Project, ProjectSpec, _project_fields, diff, diff_deletion
from mlpipe.plan.model import Change

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
SPEC = ProjectSpec(
    "house-dev-deploy", "mlpipe deploy", "aws/codebuild/standard:7.0", "version: 0.2\n",
    "arn:aws:iam::123456789012:role/build", "/aws/codebuild/house-dev", (("STAGE", "dev"),),
)  # fmt: skip


def reported(tags: dict[str, str] = OURS, **over: Any) -> Project:
    """The project as CodeBuild reports it: mlpipe's fields, plus defaults of its own, with `over`."""
    fields = copy.deepcopy(_project_fields(SPEC))
    fields["environment"]["certificate"] = ""  # a default AWS adds: not a difference
    return Project({"name": SPEC.name, "arn": "arn:x", "queuedTimeoutInMinutes": 480, **fields, **over}, tags)


def test_a_missing_project_is_created_with_tags_and_retried_until_the_role_is_ready() -> None:
    change = diff(SPEC, None, NAMES)
    (create,) = change.calls
    assert (change.action, create.operation, create.retry_on) == (
        "create",
        "create_project",
        ("InvalidInputException:not authorized",),
    )
    assert create.params["tags"] == [{"key": "mlpipe:app", "value": "house"}, {"key": "mlpipe:stage", "value": "dev"}]
    assert create.params["environment"]["privilegedMode"] is False


def test_a_matching_project_is_a_noop_whatever_defaults_aws_adds() -> None:
    assert diff(SPEC, reported(), NAMES) == Change("noop", "codebuild-project", SPEC.name)


@pytest.mark.parametrize(
    ("over", "detail"),
    [
        ({"timeoutInMinutes": 60}, "timeoutInMinutes changed"),
        ({"source": {"type": "CODEPIPELINE", "buildspec": "tampered"}}, "source changed"),
        (
            {"serviceRole": "arn:aws:iam::123456789012:role/admin", "description": ""},
            "description, serviceRole changed",
        ),
    ],
)
def test_a_drifted_project_is_updated_whole(over: dict[str, Any], detail: str) -> None:
    change = diff(SPEC, reported(**over), NAMES)
    assert (change.action, change.detail, change.calls[0].operation) == ("update", detail, "update_project")
    assert change.calls[0].params == {"name": SPEC.name, **_project_fields(SPEC)}


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "house", "mlpipe:stage": "prod"}])
def test_an_unowned_project_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="CodeBuild project"):
        diff(SPEC, reported(tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(SPEC.name, reported(tags), NAMES)


def test_deletion() -> None:
    assert diff_deletion(SPEC.name, None, NAMES).detail == "absent"
    assert diff_deletion(SPEC.name, reported(), NAMES).calls[0].operation == "delete_project"
