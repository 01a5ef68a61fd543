"""CodeBuild creates its log stream and downloads the pipeline's source artifact as the project's
service role, as on AWS: a build role without logs:CreateLogStream fails the build in QUEUED
(ACCESS_DENIED), one without s3:GetObject on the artifact fails it in DOWNLOAD_SOURCE (CLIENT_ERROR),
each with CodeBuild's message in the build's phase and the pipeline action's error; one without
logs:PutLogEvents runs, but its lines are lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import cli, make_project, wait_for_run

from mlpipe.aws.clients import Clients

APP = {"app": "shop", "stage": "dev"}
PIPELINE, PROJECT, ROLE = "shop-pipeline", "shop-dev-deploy", "shop-dev-build-role"
GROUP = f"/aws/codebuild/{PROJECT}"

pytestmark = pytest.mark.usefixtures("pypi")  # bootstrap-pipeline builds the wheelhouse from PyPI


def _bootstrapped_without(tmp_path: Path, clients: Clients, endpoint_url: str, *sids: str) -> None:
    """bootstrap-pipeline (no push), then the build role's statements `sids` taken out of its policy."""
    assert cli(make_project(tmp_path / "project", APP), endpoint_url, "bootstrap-pipeline") == 0
    iam = clients.client("iam")
    (name,) = iam.list_role_policies(RoleName=ROLE)["PolicyNames"]
    document = iam.get_role_policy(RoleName=ROLE, PolicyName=name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    kept = [s for s in document["Statement"] if s.get("Sid") not in sids]
    assert len(kept) == len(document["Statement"]) - len(sids)  # each statement was there
    iam.put_role_policy(RoleName=ROLE, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": kept}))


def _commit(clients: Clients) -> None:
    """A commit on the tracked branch: the pipeline runs (its source artifact goes to the artifact store)."""
    clients.client("codecommit").put_file(
        repositoryName="shop", branchName="main", filePath="NOTES.md", fileContent=b"a note\n"
    )


def _failed_build(clients: Clients) -> tuple[dict[str, Any], str]:
    """(the run's build, the Deploy action's error) of the pipeline's first run, which failed."""
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Failed"
    state = clients.client("codepipeline").get_pipeline_state(name=PIPELINE)["stageStates"]
    latest = next(s for s in state if s["stageName"].startswith("Deploy"))["actionStates"][0]["latestExecution"]
    (build,) = clients.client("codebuild").batch_get_builds(ids=[latest["externalExecutionId"]])["builds"]
    return build, latest["errorDetails"]["message"]


def _stream_arn(clients: Clients, stream: str) -> str:
    return f"arn:aws:logs:us-east-1:{clients.account_id}:log-group:{GROUP}:log-stream:{stream}"


def test_a_build_role_that_may_not_create_its_log_stream_fails_in_queued(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    _bootstrapped_without(tmp_path, clients, endpoint_url, "BuildLogs")
    _commit(clients)
    build, error = _failed_build(clients)
    uuid = build["id"].split(":", 1)[1]
    message = (
        f"Service role arn:aws:iam::{clients.account_id}:role/{ROLE} does not allow AWS CodeBuild to create "
        f"Amazon CloudWatch Logs log streams for build {build['arn']}. Error message: User: "
        f"arn:aws:sts::{clients.account_id}:assumed-role/{ROLE}/AWSCodeBuild-{uuid} is not authorized to "
        f"perform: logs:CreateLogStream on resource: {_stream_arn(clients, uuid)} because no identity-based "
        "policy allows the logs:CreateLogStream action"
    )
    assert build["buildStatus"] == "FAILED" and build["currentPhase"] == "COMPLETED"
    assert [(p["phaseType"], p["phaseStatus"]) for p in build["phases"]] == [
        ("SUBMITTED", "SUCCEEDED"),
        ("QUEUED", "FAILED"),
    ]
    assert build["phases"][1]["contexts"] == [{"statusCode": "ACCESS_DENIED", "message": message}]
    assert error == f"Build terminated with state: FAILED. Phase: QUEUED, Code: ACCESS_DENIED, Message: {message}"
    assert clients.client("logs").describe_log_streams(logGroupName=GROUP)["logStreams"] == []


def test_a_build_role_that_may_not_read_the_source_artifact_fails_in_download_source(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    _bootstrapped_without(tmp_path, clients, endpoint_url, "PipelineArtifactsRead")
    _commit(clients)
    build, error = _failed_build(clients)
    uuid = build["id"].split(":", 1)[1]
    phases = {p["phaseType"]: p for p in build["phases"]}
    assert list(phases) == ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE"]  # no buildspec phase ran
    (context,) = phases["DOWNLOAD_SOURCE"]["contexts"]
    assert phases["DOWNLOAD_SOURCE"]["phaseStatus"] == "FAILED" and context["statusCode"] == "CLIENT_ERROR"
    bucket = clients.client("codepipeline").get_pipeline(name=PIPELINE)["pipeline"]["artifactStore"]["location"]
    (key,) = [o["Key"] for o in clients.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{PIPELINE}/")["Contents"]]
    assert context["message"].startswith(
        f"error while downloading key {key}, error: AccessDenied: User: arn:aws:sts::{clients.account_id}:"
        f"assumed-role/{ROLE}/AWSCodeBuild-{uuid} is not authorized to perform: s3:GetObject on resource: "
        f"arn:aws:s3:::{bucket}/{key} because no identity-based policy allows the s3:GetObject action status code: 403"
    )
    assert context["message"].endswith(f" for primary source and source version arn:aws:s3:::{bucket}/{key}")
    assert error.startswith("Build terminated with state: FAILED. Phase: DOWNLOAD_SOURCE, Code: CLIENT_ERROR, ")
    events = clients.client("logs").get_log_events(logGroupName=GROUP, logStreamName=uuid)["events"]
    assert f"[Container] Phase context status code: CLIENT_ERROR Message: {context['message']}" in [
        e["message"] for e in events
    ]


def test_a_build_role_that_may_not_put_log_events_builds_but_its_lines_are_lost(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    _bootstrapped_without(tmp_path, clients, endpoint_url, "BuildLogs")
    stream_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:CreateLogStream", "Resource": _stream_arn(clients, "*")}],
    }
    clients.client("iam").put_role_policy(RoleName=ROLE, PolicyName="stream", PolicyDocument=json.dumps(stream_only))
    # A buildspec of one command: what matters is that the build runs, not what it deploys.
    clients.client("codebuild").update_project(
        name=PROJECT,
        source={
            "type": "CODEPIPELINE",
            "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\n",
        },
    )
    _commit(clients)
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    (stream,) = clients.client("logs").describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert (
        clients.client("logs").get_log_events(logGroupName=GROUP, logStreamName=stream["logStreamName"])["events"] == []
    )
