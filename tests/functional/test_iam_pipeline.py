"""The pipeline's build runs as the build role bootstrap wrote: a commit that needs an IAM write the
role does not have fails the way it fails on AWS, and mlpipe says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pipeline_support import cli, make_project, wait_for_run

from mlpipe.aws.clients import Clients

APP = {"app": "shop", "stage": "dev"}
PIPELINE = "shop-pipeline"


def _build_log(clients: Clients) -> str:
    logs = clients.client("logs")
    events = logs.filter_log_events(logGroupName="/aws/codebuild/shop-dev-deploy")["events"]
    return "\n".join(e["message"] for e in events)


def _commit_config(clients: Clients, config: dict[str, object], note: str) -> str:
    cc = clients.client("codecommit")
    head = cc.get_branch(repositoryName="shop", branchName="main")["branch"]["commitId"]
    return str(
        cc.put_file(
            repositoryName="shop",
            branchName="main",
            parentCommitId=head,
            filePath="mlpipe.yaml",
            fileContent=yaml.safe_dump(config).encode(),
            commitMessage=note,
        )["commitId"]
    )


@pytest.mark.slow
def test_turning_the_results_queue_on_needs_bootstrap_not_the_build_role(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"

    with_results = {**APP, "queue": {"results_queue": True}}
    _commit_config(clients, with_results, "send predictions to a results queue")
    failed = wait_for_run(clients, PIPELINE, 2)
    assert failed["status"] == "Failed", failed
    log = _build_log(clients)
    assert "AccessDenied" in log or "access denied" in log
    assert "is not authorized to perform: iam:PutRolePolicy on resource: arn:aws:iam::123456789012:role/" in log
    assert "shop-build-role/AWSCodeBuild-" in log  # the build's own role session was refused
    assert "mlpipe bootstrap-pipeline" in log  # what to do about it

    # The fix the message names: bootstrap (as the operator) updates the Lambda role, then the pipeline passes.
    config_path.write_text(yaml.safe_dump(with_results))
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0
    clients.client("codepipeline").start_pipeline_execution(name=PIPELINE)
    assert wait_for_run(clients, PIPELINE, 3)["status"] == "Succeeded"
