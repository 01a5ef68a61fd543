"""`mlpipe bootstrap-pipeline` and `mlpipe tail pipeline` against the embedded AWS, which runs the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_support import CallLog, cli, code_sha, inventory, make_project, wait_for_action, wait_for_run

from mlpipe.aws.clients import Clients
from mlpipe.config import load_config
from mlpipe.ops.bootstrap import bootstrap, pipeline_names, plan_pipeline_destroy
from mlpipe.plan.apply import apply_plan
from mlpipe.reporter import ListReporter

APP = {"app": "shop", "stage": "dev"}
PIPELINE = "shop-pipeline"
pytestmark = pytest.mark.usefixtures("pypi")  # bootstrap-pipeline builds the wheelhouse from PyPI
HANDLER = "handler/handler.py"


def _commit_handler_change(clients: Clients, note: str) -> str:
    cc = clients.client("codecommit")
    head = cc.get_branch(repositoryName="shop", branchName="main")["branch"]["commitId"]
    current = cc.get_file(repositoryName="shop", commitSpecifier=head, filePath=HANDLER)["fileContent"]
    return str(
        cc.put_file(
            repositoryName="shop",
            branchName="main",
            parentCommitId=head,
            filePath=HANDLER,
            fileContent=current + f"\n# {note}\n".encode(),
            commitMessage=note,
        )["commitId"]
    )


def test_push_runs_the_pipeline_which_deploys_and_tail_shows_it(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    capsys.readouterr()
    assert (
        cli(config_path, endpoint_url, "tail", "pipeline", "--follow", "--interval", "0.2", "--max-seconds", "120") == 0
    )
    followed = capsys.readouterr().out
    assert "Deploy-dev/Deploy: Succeeded" in followed and "Source/Source: Succeeded" in followed
    run = wait_for_run(clients, PIPELINE, 1)
    assert run["status"] == "Succeeded", run
    # The build ran `mlpipe deploy`: the stage's function exists.
    first_sha = code_sha(clients, "shop-dev-predict")

    commit = _commit_handler_change(clients, "a change to the handler")
    second = wait_for_run(clients, PIPELINE, 2)
    assert second["status"] == "Succeeded", second
    assert second["sourceRevisions"][0]["revisionId"] == commit
    assert code_sha(clients, "shop-dev-predict")  # still deployed after the second run

    capsys.readouterr()
    assert cli(config_path, endpoint_url, "tail", "pipeline") == 0
    out = capsys.readouterr().out
    assert "Succeeded" in out and commit[:8] in out
    assert first_sha


def test_a_handler_commit_changes_the_functions_code(tmp_path: Path, clients: Clients, endpoint_url: str) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    before = code_sha(clients, "shop-dev-predict")
    _commit_handler_change(clients, "v2")
    assert wait_for_run(clients, PIPELINE, 2)["status"] == "Succeeded"
    assert code_sha(clients, "shop-dev-predict") != before


def test_second_bootstrap_makes_no_mutating_call(tmp_path: Path, clients: Clients) -> None:
    config_path = make_project(tmp_path / "project", {**APP, "pipeline": {"stages": ["dev", "prod"]}})
    config = load_config(config_path).config
    first = bootstrap(config, clients, ListReporter(), push=True, config_path=config_path)
    # bucket, wheelhouse, 2 build log groups, 3 boundaries (dev, prod, CI/CD), 2 Lambda + 2 build
    # + 1 pipeline + 1 events role, repository, 2 projects, pipeline, events rule, commit
    assert first.plan.summary()["create"] == 19 and first.applied is not None
    wait_for_run(clients, PIPELINE, 1, until=("InProgress",))  # the push started a run

    calls = CallLog().attach(clients)
    again = bootstrap(config, clients, ListReporter(), push=True, config_path=config_path)
    assert again.plan.is_empty, again.plan.to_dict()
    assert calls.calls and calls.mutating == []
    dry = bootstrap(config, clients, ListReporter(), dry_run=True)
    assert dry.plan.is_empty and calls.mutating == []


def test_dry_run_creates_nothing(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    capsys.readouterr()
    assert cli(config_path, endpoint_url, "--output", "json", "bootstrap-pipeline", "--dry-run", "--push") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] is True and shown["api_calls"] == 0
    assert shown["plan"]["summary"] == {"create": 14, "update": 0, "delete": 0, "noop": 0}  # + 2 boundaries
    kinds = [c["kind"] for c in shown["plan"]["changes"]]
    assert kinds[-4:] == ["codepipeline", "iam-role", "events-rule", "codecommit-commit"]
    assert all(not found for found in inventory(clients).values())


def test_tail_before_bootstrap_says_what_to_do(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "tail", "pipeline") == 7
    err = capsys.readouterr().err
    assert "pipeline shop-pipeline does not exist" in err and "bootstrap-pipeline --push" in err


def test_a_config_change_updates_only_what_differs(tmp_path: Path, clients: Clients) -> None:
    config_path = make_project(tmp_path / "project", APP)
    bootstrap(load_config(config_path).config, clients, ListReporter())
    changed = load_config(
        config_path, overrides={"pipeline.execution_mode": "SUPERSEDED", "pipeline.python_version": "3.13"}
    )
    result = bootstrap(changed.config, clients, ListReporter())
    assert sorted(c.kind for c in result.plan.pending) == ["codebuild-project", "codepipeline", "wheelhouse"]
    pipeline = clients.client("codepipeline").get_pipeline(name=PIPELINE)["pipeline"]
    assert pipeline["executionMode"] == "SUPERSEDED" and pipeline["pipelineType"] == "V2"
    project = clients.client("codebuild").batch_get_projects(names=["shop-dev-deploy"])["projects"][0]
    assert 'python: "3.13"' in project["source"]["buildspec"]
    assert project["environment"]["privilegedMode"] is False
    again = bootstrap(changed.config, clients, ListReporter()).plan
    assert again.is_empty, [(c.kind, c.name, c.action, c.detail) for c in again.pending]  # what differed, if it flakes


def test_resources_are_tagged_private_and_least_privilege(tmp_path: Path, clients: Clients) -> None:
    config_path = make_project(tmp_path / "project", APP)
    config = load_config(config_path).config
    bootstrap(config, clients, ListReporter())
    names = pipeline_names(config, clients)
    s3 = clients.client("s3")
    bucket = names.artifact_bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Expiration"] == {"Days": 30}
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags == {"mlpipe:app": "shop", "mlpipe:stage": "pipeline"}
    repo_arn = clients.client("codecommit").get_repository(repositoryName="shop")["repositoryMetadata"]["Arn"]
    assert clients.client("codecommit").list_tags_for_resource(resourceArn=repo_arn)["tags"]["mlpipe:app"] == "shop"
    iam = clients.client("iam")
    for role, boundary in (
        ("shop-dev-build-role", "shop-dev-boundary"),
        ("shop-pipeline-role", "shop-pipeline-boundary"),
        ("shop-dev-predict-role", "shop-dev-boundary"),
    ):
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
        carried = iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
        assert carried == f"arn:aws:iam::{clients.account_id}:policy/{boundary}"
    group = clients.client("logs").describe_log_groups(logGroupNamePrefix="/aws/codebuild/shop-dev-deploy")
    assert group["logGroups"][0]["retentionInDays"] == 30


def test_manual_approval_gates_the_second_stage(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = make_project(tmp_path / "project", {**APP, "pipeline": {"stages": ["dev", "prod"]}})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    waiting = wait_for_action(clients, PIPELINE, "Approve-prod", "InProgress")
    cp = clients.client("codepipeline")
    assert "shop-prod-predict" not in [
        f["FunctionName"] for f in clients.client("lambda").list_functions()["Functions"]
    ]
    capsys.readouterr()
    assert cli(config_path, endpoint_url, "tail", "pipeline") == 0
    assert "InProgress" in capsys.readouterr().out
    cp.put_approval_result(
        pipelineName=PIPELINE,
        stageName="Approve-prod",
        actionName="Approve",
        result={"summary": "ship it", "status": "Approved"},
        token=waiting["token"],
    )
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    assert code_sha(clients, "shop-prod-predict")


def test_a_failing_build_shows_its_error_and_log(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0
    cc = clients.client("codecommit")
    cc.put_file(
        repositoryName="shop",
        branchName="main",
        filePath="mlpipe.yaml",
        fileContent=b"app: shop\nfunction:\n  timeout_s: 0\n",
        commitMessage="broken config",
    )
    run = wait_for_run(clients, PIPELINE, 1)
    assert run["status"] == "Failed" and "Deploy-dev" in run["statusSummary"]
    capsys.readouterr()
    assert cli(config_path, endpoint_url, "tail", "pipeline") == 0
    out = capsys.readouterr().out
    assert "Deploy-dev/Deploy failed: Build terminated with state: FAILED" in out
    assert "build log: /aws/codebuild/shop-dev-deploy" in out
    assert "function.timeout_s" in out  # the build log's last lines name the bad key


def test_destroy_keeps_data_unless_forced(tmp_path: Path, clients: Clients) -> None:
    config_path = make_project(tmp_path / "project", APP)
    config = load_config(config_path).config
    bootstrap(config, clients, ListReporter(), push=True, config_path=config_path)
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    names = clients.names("shop", "dev")
    kept = plan_pipeline_destroy(config, clients, names)
    by_kind = {c.kind: c for c in kept.changes}
    assert by_kind["s3-bucket"].action == "noop" and "--force" in by_kind["s3-bucket"].detail  # source artifacts
    assert by_kind["codecommit-repository"].action == "noop"
    apply_plan(kept, clients, ListReporter())
    left = inventory(clients)
    assert left["pipelines"] == [] and left["projects"] == []
    assert "shop-dev-build-role" not in left["roles"] and "shop-dev-predict-role" in left["roles"]
    forced = plan_pipeline_destroy(config, clients, names, force=True)
    apply_plan(forced, clients, ListReporter())
    assert [b for b in inventory(clients)["buckets"] if b.startswith("shop-pipeline-")] == []
    assert clients.client("codecommit").list_repositories().get("repositories", []) == []


def test_status_shows_the_pipeline_and_destroy_pipeline_removes_everything(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"  # the build deployed the stage
    capsys.readouterr()
    assert cli(config_path, endpoint_url, "--output", "json", "status") == 0
    report = json.loads(capsys.readouterr().out)
    kinds = {r["kind"]: r["state"] for r in report["pipeline_resources"]}
    assert kinds["codepipeline"] == "in sync" and kinds["codecommit-repository"] == "in sync"
    assert report["pipeline_run"].startswith("Succeeded")

    assert cli(config_path, endpoint_url, "destroy", "--force", "--yes") == 2  # --force needs --pipeline
    assert cli(config_path, endpoint_url, "destroy", "--pipeline", "--force", "--yes") == 0
    left = inventory(clients)
    assert left["pipelines"] == [] and left["projects"] == [] and left["roles"] == []
    assert [b for b in left["buckets"] if b.startswith("shop-")] == []
    assert clients.client("codecommit").list_repositories().get("repositories", []) == []
    assert clients.client("lambda").list_functions()["Functions"] == []
    capsys.readouterr()
    assert cli(config_path, endpoint_url, "--output", "json", "status") == 0
    assert json.loads(capsys.readouterr().out)["pipeline_resources"] == []


def test_each_resource_has_one_owner_and_destroy_says_what_it_kept(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"

    def status_report() -> dict:  # type: ignore[type-arg]
        capsys.readouterr()
        assert cli(config_path, endpoint_url, "--output", "json", "status") == 0
        return dict(json.loads(capsys.readouterr().out))

    report = status_report()
    listed = [r["name"] for r in report["resources"] + report["pipeline_resources"]]
    assert listed.count("shop-dev-predict-role") == 1, listed  # the stage's, not the CI/CD's too
    assert cli(config_path, endpoint_url, "destroy", "--yes") == 0  # the stage only
    report = status_report()
    assert [r for r in report["pipeline_resources"] if r["state"] != "in sync"] == []

    capsys.readouterr()
    assert cli(config_path, endpoint_url, "destroy", "--pipeline", "--yes") == 0
    out = capsys.readouterr().out
    assert "kept codecommit-repository shop: it holds commits; --force deletes it" in out
    assert "kept s3-bucket shop-pipeline-" in out and "object version(s); --force deletes them" in out
    for argv in (("destroy", "--pipeline", "--yes"), ("destroy", "--pipeline", "--dry-run")):
        assert cli(config_path, endpoint_url, *argv) == 0
        out = capsys.readouterr().out
        assert "nothing to destroy for shop/dev" in out and "kept codecommit-repository shop" in out
    kept = {r["kind"]: r for r in status_report()["pipeline_resources"]}
    assert kept["codecommit-repository"]["state"] == "kept" and kept["s3-bucket"]["state"] == "kept"
    assert "--force" in kept["s3-bucket"]["detail"]
