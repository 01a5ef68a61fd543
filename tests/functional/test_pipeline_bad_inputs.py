"""Bad inputs to `mlpipe bootstrap-pipeline`: one clear line, a non-zero exit, nothing created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pipeline_support import cli, inventory, make_project

from mlpipe.aws.clients import Clients

CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"
BAD_CONFIGS: dict[str, tuple[dict[str, Any], int, str]] = {
    "unknown source type": ({"source": "github"}, 3, "pipeline.source: 'github' is not allowed"),
    "malformed connection ARN": (
        {"source": "connection", "connection_arn": "arn:aws:codestar:us-east-1:1:conn", "repository_id": "me/shop"},
        3,
        "pipeline.connection_arn: 'arn:aws:codestar:us-east-1:1:conn' does not match",
    ),
    "missing connection ARN": (
        {"source": "connection", "repository_id": "me/shop"},
        3,
        "pipeline.source 'connection' needs pipeline.connection_arn and pipeline.repository_id",
    ),
    "missing repository id": (
        {"source": "connection", "connection_arn": CONNECTION},
        3,
        "pipeline.source 'connection' needs pipeline.connection_arn and pipeline.repository_id",
    ),
    "missing branch": ({"branch": ""}, 3, "pipeline.branch: '' does not match"),
    "branch with spaces": ({"branch": "my branch"}, 3, "pipeline.branch: 'my branch' does not match"),
    "invalid stage name": ({"stages": ["Prod"]}, 3, "stage 'Prod' is not allowed"),
    "a stage twice": ({"stages": ["dev", "dev"]}, 3, "lists a stage twice"),
    "three stages": ({"stages": ["dev", "qa", "prod"]}, 3, "pipeline.stages"),
    "no stage": ({"stages": []}, 3, "pipeline.stages"),
}


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_is_one_clear_error_and_creates_nothing(
    case: str, tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline, exit_code, message = BAD_CONFIGS[case]
    config_path = make_project(tmp_path / "project", {"app": "shop", "pipeline": pipeline})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == exit_code
    line = _one_error_line(capsys.readouterr().err)
    assert message in line and str(config_path) in line
    assert all(not found for found in inventory(clients).values())


def test_repository_of_another_app_is_refused_before_anything_is_created(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clients.client("codecommit").create_repository(
        repositoryName="shop", tags={"mlpipe:app": "other", "mlpipe:stage": "pipeline"}
    )
    config_path = make_project(tmp_path / "project", {"app": "shop"})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 6
    line = _one_error_line(capsys.readouterr().err)
    assert "CodeCommit repository 'shop' already exists and it belongs to mlpipe app 'other'" in line
    assert all(not found for found in inventory(clients).values())


def test_untagged_repository_is_refused(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clients.client("codecommit").create_repository(repositoryName="shop")
    config_path = make_project(tmp_path / "project", {"app": "shop"})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 6
    assert "has no mlpipe tags" in _one_error_line(capsys.readouterr().err)
    assert all(not found for found in inventory(clients).values())


def test_tracked_branch_missing_from_the_repository_is_refused(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cc = clients.client("codecommit")
    cc.create_repository(repositoryName="shop", tags={"mlpipe:app": "shop", "mlpipe:stage": "pipeline"})
    cc.put_file(repositoryName="shop", branchName="master", filePath="README", fileContent=b"hi")
    config_path = make_project(tmp_path / "project", {"app": "shop"})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "pipeline.branch 'main' does not exist in CodeCommit repository 'shop' (its branches: master)" in line
    assert all(not found for found in inventory(clients).values())
    assert cc.list_branches(repositoryName="shop")["branches"] == ["master"]


def test_push_with_a_connection_source_is_a_usage_error(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = {"source": "connection", "connection_arn": CONNECTION, "repository_id": "me/shop"}
    config_path = make_project(tmp_path / "project", {"app": "shop", "pipeline": pipeline})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 2
    assert "--push commits to the CodeCommit repository" in _one_error_line(capsys.readouterr().err)
    assert all(not found for found in inventory(clients).values())


def test_connection_source_builds_a_triggered_v2_pipeline(tmp_path: Path, clients: Clients, endpoint_url: str) -> None:
    pipeline = {"source": "connection", "connection_arn": CONNECTION, "repository_id": "me/shop", "branch": "release"}
    config_path = make_project(tmp_path / "project", {"app": "shop", "pipeline": pipeline})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0
    declared = clients.client("codepipeline").get_pipeline(name="shop-pipeline")["pipeline"]
    source = declared["stages"][0]["actions"][0]
    assert source["actionTypeId"]["provider"] == "CodeStarSourceConnection"
    assert source["configuration"]["ConnectionArn"] == CONNECTION
    assert declared["triggers"][0]["gitConfiguration"]["push"][0]["branches"]["includes"] == ["release"]
    assert clients.client("codecommit").list_repositories()["repositories"] == []
