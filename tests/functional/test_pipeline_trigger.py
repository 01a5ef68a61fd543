"""A CodeCommit pipeline starts from an EventBridge rule, not from polling: the rule matches pushes to
the branch, its only target is the pipeline, through a role that may only start that pipeline. The
embedded AWS delivers the push event to the rule and invokes the target with that role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from local_helpers import wait_for
from pipeline_support import CallLog, cli, executions, make_project, wait_for_run

from mlpipe.aws.clients import Clients
from mlpipe.config import load_config
from mlpipe.local.control import admin_request
from mlpipe.ops.bootstrap import bootstrap, pipeline_names, plan_pipeline_destroy
from mlpipe.plan.apply import apply_plan
from mlpipe.reporter import ListReporter

APP = {"app": "shop", "stage": "dev"}
PIPELINE = "shop-pipeline"
pytestmark = pytest.mark.usefixtures("pypi")


def _commit(clients: Clients, note: str) -> str:
    cc = clients.client("codecommit")
    head = cc.get_branch(repositoryName="shop", branchName="main")["branch"]["commitId"]
    done = cc.put_file(
        repositoryName="shop",
        branchName="main",
        parentCommitId=head,
        filePath="NOTES.md",
        fileContent=note.encode(),
        commitMessage=note,
    )
    return str(done["commitId"])


def _failed_invocations(endpoint_url: str, count: int, timeout_s: float = 60) -> list[dict[str, Any]]:
    def failed() -> list[dict[str, Any]] | None:
        code, body = admin_request(endpoint_url, "GET", "/_mlpipe/status")
        assert code == 200, body
        found = list(body["events"]["failed_invocations"])
        return found if len(found) >= count else None

    found: list[dict[str, Any]] = wait_for(failed, timeout_s, f"{count} failed rule invocation(s)", interval=0.2)
    return found


def test_pushes_start_the_pipeline_through_the_rule_and_its_role_only(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    first = wait_for_run(clients, PIPELINE, 1)
    assert first["trigger"]["triggerType"] == "CloudWatchEvent" and first["status"] == "Succeeded"

    pipeline = clients.client("codepipeline").get_pipeline(name=PIPELINE)["pipeline"]
    assert pipeline["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"] == "false"
    events = clients.client("events")
    rule = events.describe_rule(Name="shop-pipeline-trigger")
    assert rule["State"] == "ENABLED"
    assert json.loads(rule["EventPattern"])["detail"]["referenceName"] == ["main"]
    (target,) = events.list_targets_by_rule(Rule="shop-pipeline-trigger")["Targets"]
    names = pipeline_names(load_config(config_path).config, clients)
    assert (target["Arn"], target["RoleArn"]) == (names.pipeline_arn(), names.role_arn("shop-events-role"))
    iam = clients.client("iam")
    role_policy = iam.get_role_policy(RoleName="shop-events-role", PolicyName="mlpipe")["PolicyDocument"]
    assert role_policy["Statement"] == [
        {
            "Sid": "StartPipeline",
            "Effect": "Allow",
            "Action": ["codepipeline:StartPipelineExecution"],
            "Resource": [names.pipeline_arn()],
        }
    ]
    trust = iam.get_role(RoleName="shop-events-role")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}

    # Without its permission, the role cannot start the pipeline: the push starts nothing.
    iam.put_role_policy(
        RoleName="shop-events-role",
        PolicyName="mlpipe",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
        ),
    )
    _commit(clients, "while the role may not")
    failed = _failed_invocations(endpoint_url, 1)
    assert len(failed) == 1 and "AccessDenied" in failed[0]["reason"], failed
    assert len(executions(clients, PIPELINE)) == 1

    # bootstrap-pipeline puts the role's policy back; the next push runs again, through the rule.
    config = load_config(config_path).config
    repaired = bootstrap(config, clients, ListReporter())
    assert [(c.kind, c.name) for c in repaired.plan.pending] == [("iam-role", "shop-events-role")]
    commit = _commit(clients, "after the repair")
    second = wait_for_run(clients, PIPELINE, 2)
    assert second["sourceRevisions"][0]["revisionId"] == commit
    assert second["trigger"]["triggerType"] == "CloudWatchEvent"


def test_rule_drift_is_repaired_and_destroy_removes_rule_and_role(tmp_path: Path, clients: Clients) -> None:
    config_path = make_project(tmp_path / "project", APP)
    config = load_config(config_path).config
    bootstrap(config, clients, ListReporter())
    events = clients.client("events")
    events.put_targets(
        Rule="shop-pipeline-trigger",
        Targets=[{"Id": "extra", "Arn": "arn:aws:sqs:us-east-1:123456789012:somewhere-else"}],
    )
    events.disable_rule(Name="shop-pipeline-trigger")
    again = bootstrap(config, clients, ListReporter())
    (change,) = [c for c in again.plan.pending if c.kind == "events-rule"]
    assert change.detail == "State, 1 other target(s) changed"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="shop-pipeline-trigger")["Targets"]] == ["codepipeline"]
    calls = CallLog().attach(clients)
    assert bootstrap(config, clients, ListReporter()).plan.is_empty and calls.mutating == []

    names = pipeline_names(config, clients)
    apply_plan(plan_pipeline_destroy(config, clients, names, force=True), clients, ListReporter())
    assert events.list_rules(NamePrefix="shop-")["Rules"] == []
    assert "shop-events-role" not in [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]]
