"""The pipeline's build runs as the build role bootstrap wrote: a commit that needs an IAM write the
role does not have fails the way it fails on AWS, and mlpipe says how to fix it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pipeline_support import cli, make_project, wait_for_run
from test_local_git import git

from mlpipe.aws.clients import Clients

APP = {"app": "shop", "stage": "dev"}
PIPELINE = "shop-pipeline"

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary"),
    pytest.mark.usefixtures("pypi"),  # bootstrap-pipeline builds the wheelhouse from PyPI
]


def _build_log(clients: Clients) -> str:
    logs = clients.client("logs")
    events = logs.filter_log_events(logGroupName="/aws/codebuild/shop-dev-deploy")["events"]
    return "\n".join(e["message"] for e in events)


def test_turning_the_results_queue_on_needs_bootstrap_not_the_build_role(
    tmp_path: Path, clients: Clients, endpoint_url: str, operator_keys: tuple[str, str]
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"

    # The user's loop: clone, change mlpipe.yaml, commit, `git push` (the real git binary).
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    assert git(tmp_path, home, operator_keys, "clone", f"{endpoint_url}/v1/repos/shop", "work").returncode == 0
    with_results = {**yaml.safe_load((work / "mlpipe.yaml").read_text()), "queue": {"results_queue": True}}
    (work / "mlpipe.yaml").write_text(yaml.safe_dump(with_results))
    assert git(work, home, operator_keys, "commit", "-qam", "send predictions to a results queue").returncode == 0
    pushed = git(work, home, operator_keys, "push", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr
    failed = wait_for_run(clients, PIPELINE, 2)
    assert failed["status"] == "Failed", failed
    log = _build_log(clients)
    assert "AccessDenied" in log or "access denied" in log
    assert "is not authorized to perform: iam:PutRolePolicy on resource: arn:aws:iam::123456789012:role/" in log
    assert "assumed-role/shop-dev-build-role/AWSCodeBuild-" in log  # the stage build's own role session
    assert "mlpipe bootstrap-pipeline" in log  # what to do about it

    # The fix the message names: bootstrap (as the operator) updates the Lambda role, then the pipeline passes.
    config_path.write_text((work / "mlpipe.yaml").read_text())
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0
    clients.client("codepipeline").start_pipeline_execution(name=PIPELINE)
    assert wait_for_run(clients, PIPELINE, 3)["status"] == "Succeeded"


def test_git_push_needs_codecommit_git_push(
    tmp_path: Path, clients: Clients, endpoint_url: str, operator_keys: tuple[str, str], embedded_server: Any
) -> None:
    from mlpipe.config import load_config
    from mlpipe.local.iam.authorizer import IamSettings
    from mlpipe.local.iam.operator_setting import iam_policy_document

    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    policy = iam_policy_document(load_config(config_path).config, "us-east-1", "both")
    state = embedded_server.ctx.state
    try:
        # Exactly `mlpipe iam-policy` (both parts): the user may clone and push to the app's repository.
        state["iam"] = IamSettings(operator_policy=policy)
        assert git(tmp_path, home, operator_keys, "clone", f"{endpoint_url}/v1/repos/shop", "work").returncode == 0
        (work / "NOTES.md").write_text("a note\n")
        assert git(work, home, operator_keys, "add", "NOTES.md").returncode == 0
        assert git(work, home, operator_keys, "commit", "-qm", "a note").returncode == 0
        assert git(work, home, operator_keys, "push", "origin", "main").returncode == 0

        # Without codecommit:GitPush the push is refused, naming the action, and moves nothing.
        without = [{**s, "Action": [a for a in s["Action"] if a != "codecommit:GitPush"]} for s in policy["Statement"]]
        state["iam"] = IamSettings(operator_policy={**policy, "Statement": without})
        head = clients.client("codecommit").get_branch(repositoryName="shop", branchName="main")["branch"]["commitId"]
        (work / "NOTES.md").write_text("another note\n")
        assert git(work, home, operator_keys, "commit", "-qam", "another").returncode == 0
        refused = git(work, home, operator_keys, "push", "origin", "main")
    finally:
        state["iam"] = IamSettings.from_environment()
    assert refused.returncode != 0
    assert "is not authorized to perform: codecommit:GitPush on resource: arn:aws:codecommit:" in refused.stderr
    assert (
        clients.client("codecommit").get_branch(repositoryName="shop", branchName="main")["branch"]["commitId"] == head
    )
