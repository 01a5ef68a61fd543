"""`git push` (the real git binary) to the embedded CodeCommit runs the pipeline, which deploys the
pushed code; a push with wrong credentials is refused and moves nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import botocore.exceptions
import pytest
from pipeline_support import cli, code_sha, executions, make_project, wait_for_run

from mlpipe.aws.clients import Clients
from mlpipe.local.server import EmbeddedServer

APP = {"app": "gitpush", "stage": "dev"}
PIPELINE = "gitpush-pipeline"
HANDLER = "handler/handler.py"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")


def git(
    cwd: Path, home: Path, secret: tuple[str, str], *args: str, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """git with no user or system configuration, and a credential helper that answers `secret`
    (as `mlpipe local git-credential` does), so no key appears in a URL or on the command line."""
    key, password = secret
    helper = f'!f() {{ test "$1" = get && echo username={key} && echo password={password}; }}; f'
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": "4",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": helper,
        "GIT_CONFIG_KEY_1": "user.name",
        "GIT_CONFIG_VALUE_1": "Dev Eloper",
        "GIT_CONFIG_KEY_2": "user.email",
        "GIT_CONFIG_VALUE_2": "dev@example.com",
        "GIT_CONFIG_KEY_3": "init.defaultBranch",
        "GIT_CONFIG_VALUE_3": "main",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=input_text, capture_output=True, text=True, timeout=120
    )


def test_git_push_runs_the_pipeline_and_deploys_the_pushed_handler(
    tmp_path: Path,
    clients: Clients,
    endpoint_url: str,
    operator_keys: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "--output", "json", "bootstrap-pipeline", "--push") == 0
    remote = json.loads(capsys.readouterr().out)["git_remote"]
    url = f"{endpoint_url}/v1/repos/gitpush"
    assert remote["url"] == url and remote["remote_add"] == f"git remote add local {url}"
    assert remote["credential_setup"] == [f"git config credential.{endpoint_url}.helper '!mlpipe local git-credential'"]
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0  # up to date; says where to push
    assert f"git remote add local {url}" in capsys.readouterr().out
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    deployed = code_sha(clients, "gitpush-dev-predict")

    home, keys = tmp_path / "home", operator_keys
    home.mkdir()
    cloned = git(tmp_path, home, keys, "clone", url, "work")
    assert cloned.returncode == 0, cloned.stderr
    work = tmp_path / "work"
    assert (work / "mlpipe.yaml").read_bytes() == config_path.read_bytes()  # what --push committed

    (work / HANDLER).write_text((work / HANDLER).read_text() + "\n# changed through git push\n")
    assert git(work, home, keys, "commit", "-qam", "handler: a comment").returncode == 0
    head = git(work, home, keys, "rev-parse", "HEAD").stdout.strip()
    pushed = git(work, home, keys, "push", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr

    cc = clients.client("codecommit")
    assert cc.get_branch(repositoryName="gitpush", branchName="main")["branch"]["commitId"] == head
    assert cc.get_commit(repositoryName="gitpush", commitId=head)["commit"]["author"]["name"] == "Dev Eloper"
    run = wait_for_run(clients, PIPELINE, 2)
    assert run["status"] == "Succeeded", run
    assert run["sourceRevisions"][0]["revisionId"] == head
    assert code_sha(clients, "gitpush-dev-predict") != deployed  # the build deployed the pushed handler

    # Wrong credentials: refused before anything moves.
    (work / HANDLER).write_text((work / HANDLER).read_text() + "# not allowed\n")
    assert git(work, home, keys, "commit", "-qam", "sneaky").returncode == 0
    refused = git(work, home, (keys[0], "not-the-secret"), "push", "origin", "main")
    assert refused.returncode != 0 and "Authentication failed" in refused.stderr, refused.stderr
    assert cc.get_branch(repositoryName="gitpush", branchName="main")["branch"]["commitId"] == head
    assert len(executions(clients, PIPELINE)) == 2


def test_git_pull_and_push_need_codecommit_permissions_as_on_aws(
    tmp_path: Path, clients: Clients, embedded_server: EmbeddedServer, endpoint_url: str
) -> None:
    """An IAM user allowed codecommit:GitPull only can clone but not push (403, AWS's message); the
    operator (full access) pushes. Git's HTTP Basic takes long-term keys: CodeCommit's Git
    credentials belong to IAM users (a role session's temporary key is refused there)."""
    cc, iam = clients.client("codecommit"), clients.client("iam")
    arn = cc.create_repository(repositoryName="perms")["repositoryMetadata"]["Arn"]
    cc.create_commit(repositoryName="perms", branchName="main", putFiles=[{"filePath": "a", "fileContent": b"a"}])
    iam.create_user(UserName="git-reader")
    reads = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": arn}],
    }
    iam.put_user_policy(UserName="git-reader", PolicyName="pull", PolicyDocument=json.dumps(reads))
    reader = embedded_server.credentials.issue("arn:aws:iam::123456789012:user/git-reader")
    keys = (reader.access_key_id, reader.secret_access_key)
    home = tmp_path / "home"
    home.mkdir()

    cloned = git(tmp_path, home, keys, "clone", f"{endpoint_url}/v1/repos/perms", "work")
    assert cloned.returncode == 0, cloned.stderr
    work = tmp_path / "work"
    (work / "b").write_text("b")
    assert git(work, home, keys, "add", "b").returncode == 0
    assert git(work, home, keys, "commit", "-qm", "b").returncode == 0
    refused = git(work, home, keys, "push", "origin", "main")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert "codecommit:GitPush" in _http_answer(endpoint_url, keys)
    operator = embedded_server.operator
    pushed = git(work, home, (operator.access_key_id, operator.secret_access_key), "push", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr


def _http_answer(endpoint_url: str, keys: tuple[str, str]) -> str:
    """What the server tells a push it refuses (git shows only the status code)."""
    import base64
    import urllib.error
    import urllib.request

    token = base64.b64encode(f"{keys[0]}:{keys[1]}".encode()).decode()
    request = urllib.request.Request(
        f"{endpoint_url}/v1/repos/perms/info/refs?service=git-receive-pack", headers={"Authorization": f"Basic {token}"}
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as refused:
        assert refused.code == 403
        return refused.read().decode()
    raise AssertionError("the push was not refused")


def _tracking_pipeline(clients: Clients, repository: str) -> str:
    """A pipeline building `repository`'s main branch (its build only echoes), started once."""
    iam, cb, cp = clients.client("iam"), clients.client("codebuild"), clients.client("codepipeline")
    allow = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["codecommit:*", "codebuild:*", "s3:*", "logs:*"], "Resource": "*"}
        ],
    }
    roles = {}
    for name, service in (("paths-build", "codebuild.amazonaws.com"), ("paths-pipeline", "codepipeline.amazonaws.com")):
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(allow))
    clients.client("s3").create_bucket(Bucket="paths-artifacts")
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo BUILD-RAN\n"
    cb.create_project(
        name="paths-build",
        source={"type": "CODEPIPELINE", "buildspec": spec},
        artifacts={"type": "CODEPIPELINE"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=roles["paths-build"],
    )
    source = {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"}
    build = {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}
    stages = [
        {
            "name": "Source",
            "actions": [
                {
                    "name": "Source",
                    "actionTypeId": source,
                    "outputArtifacts": [{"name": "src"}],
                    "configuration": {
                        "RepositoryName": repository,
                        "BranchName": "main",
                        "PollForSourceChanges": "true",
                    },
                }
            ],
        },
        {
            "name": "Build",
            "actions": [
                {
                    "name": "Build",
                    "actionTypeId": build,
                    "inputArtifacts": [{"name": "src"}],
                    "configuration": {"ProjectName": "paths-build"},
                }
            ],
        },
    ]
    pipeline = {
        "name": "paths-pipeline",
        "roleArn": roles["paths-pipeline"],
        "stages": stages,
        "artifactStore": {"type": "S3", "location": "paths-artifacts"},
    }
    cp.create_pipeline(pipeline=pipeline)
    cp.start_pipeline_execution(name="paths-pipeline")  # the branch's current head
    return "paths-pipeline"


def test_a_push_git_fsck_refuses_is_rejected_and_moves_nothing(
    tmp_path: Path, clients: Clients, endpoint_url: str, operator_keys: tuple[str, str]
) -> None:
    """Trees with `..` or `.git` entries (git's receive.fsckObjects: hasDotdot, hasDotgit) are rejected
    with git's message; the branch stays and no pipeline runs, so no checkout can leave its directory."""
    cc = clients.client("codecommit")
    cc.create_repository(repositoryName="paths")
    head = cc.create_commit(
        repositoryName="paths", branchName="main", putFiles=[{"filePath": "a", "fileContent": b"a"}]
    )
    pipeline = _tracking_pipeline(clients, "paths")
    assert wait_for_run(clients, pipeline, 1)["status"] == "Succeeded"
    home, keys = tmp_path / "home", operator_keys
    home.mkdir()
    assert git(tmp_path, home, keys, "clone", f"{endpoint_url}/v1/repos/paths", "work").returncode == 0
    work = tmp_path / "work"

    def out(*args: str, input_text: str | None = None) -> str:
        done = git(work, home, keys, *args, input_text=input_text)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    blob = out("hash-object", "-w", "--stdin", input_text="escaped\n")
    for name, verdict in (("..", "hasDotdot: contains '..'"), (".GIT", "hasDotgit: contains '.git'")):
        inner = out("mktree", input_text=f"100644 blob {blob}\tescaped.txt\n")
        tree = out("mktree", input_text=f"100644 blob {blob}\ta\n040000 tree {inner}\t{name}\n")
        commit = out("commit-tree", tree, "-p", "HEAD", "-m", f"a {name} entry")
        assert git(work, home, keys, "update-ref", "refs/heads/main", commit).returncode == 0
        pushed = git(work, home, keys, "push", "origin", "main")
        assert pushed.returncode != 0 and "[remote rejected]" in pushed.stderr and verdict in pushed.stderr, (
            pushed.stderr
        )
        assert cc.get_branch(repositoryName="paths", branchName="main")["branch"]["commitId"] == head["commitId"]
        assert git(work, home, keys, "reset", "-q", "--hard", head["commitId"]).returncode == 0
    assert len(executions(clients, pipeline)) == 1
    # The refused objects stay in the store (git would drop its quarantine): no API commit builds on them.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        cc.create_commit(
            repositoryName="paths",
            branchName="from-refused",
            parentCommitId=commit,
            putFiles=[{"filePath": "b", "fileContent": b"b"}],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidPathException", refused.value
    assert "from-refused" not in cc.list_branches(repositoryName="paths")["branches"]


def test_a_stored_path_outside_the_checkout_fails_the_build_in_download_source(
    tmp_path: Path, clients: Clients, embedded_server: EmbeddedServer, endpoint_url: str
) -> None:
    """A repository stored by an older version (a persistence snapshot) may hold `..` paths the doors
    now refuse: the local CodeBuild refuses to check them out, the build fails in DOWNLOAD_SOURCE, and
    nothing is written outside its checkout."""
    from mlpipe.local.ext import codecommit
    from mlpipe.local.gitstore import NORMAL

    cc = clients.client("codecommit")
    cc.create_repository(repositoryName="stored")
    head = cc.create_commit(
        repositoryName="stored", branchName="main", putFiles=[{"filePath": "a", "fileContent": b"a"}]
    )
    escape = "../" * 40 + str(tmp_path / "escaped.txt").lstrip("/")
    assert embedded_server.ctx is not None
    repo = codecommit.repository(embedded_server.ctx, "stored")
    files = {"a": repo.entries(head["commitId"])["a"], escape: (NORMAL, b"escaped")}
    repo.write_commit("main", head["commitId"], files, "as an older version stored it", "old", "old@example.com")

    run = wait_for_run(clients, _tracking_pipeline(clients, "stored"), 1)
    assert run["status"] == "Failed", run
    assert not (tmp_path / "escaped.txt").exists()
    cb = clients.client("codebuild")
    build = cb.batch_get_builds(ids=cb.list_builds_for_project(projectName="paths-build")["ids"][:1])["builds"][0]
    assert build["buildStatus"] == "FAILED"
    failed = [p for p in build["phases"] if p.get("phaseStatus") == "FAILED"]
    assert [p["phaseType"] for p in failed] == ["DOWNLOAD_SOURCE"] and failed[0]["contexts"][0][
        "statusCode"
    ] == "CLIENT_ERROR"
    assert "BUILD" not in [p["phaseType"] for p in build["phases"]]
    logs = clients.client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"], startFromHead=True
    )
    text = "\n".join(e["message"] for e in logs["events"])
    assert "is outside the source directory (hasDotdot: contains '..')" in text and "BUILD-RAN" not in text, text


def test_the_printed_git_lines_push_an_existing_repositorys_history(
    tmp_path: Path,
    clients: Clients,
    endpoint_url: str,
    operator_keys: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Review defect 7: in a git repository of its own, `bootstrap-pipeline --push` commits history
    unrelated to the user's; the lines it prints (after the credential setup, which the test's helper
    stands in for) must still push the user's history, as a fast-forward of the branch."""
    import shlex

    home, keys = tmp_path / "home", operator_keys
    home.mkdir()
    config_path = make_project(tmp_path / "project", {"app": "gitmine", "stage": "dev"})
    work = config_path.parent
    (work / "model.py").write_text("# the user's own code\n")
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "my project")):
        assert git(work, home, keys, *args).returncode == 0
    mine = git(work, home, keys, "rev-parse", "HEAD").stdout.strip()

    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    out = capsys.readouterr().out
    printed = [line.strip() for line in out.splitlines() if line.strip().startswith("git ")]
    assert printed[0] == f"git remote add local {endpoint_url}/v1/repos/gitmine"
    runnable = [line for line in printed if not line.startswith("git config credential.")]
    assert runnable[-1] == "git push local HEAD:main" and any("--allow-unrelated-histories" in x for x in runnable)
    for line in runnable:
        done = git(work, home, keys, *shlex.split(line)[1:])
        assert done.returncode == 0, f"{line}: {done.stderr}"

    head = git(work, home, keys, "rev-parse", "HEAD").stdout.strip()
    cc = clients.client("codecommit")
    assert cc.get_branch(repositoryName="gitmine", branchName="main")["branch"]["commitId"] == head
    assert git(work, home, keys, "merge-base", "--is-ancestor", mine, head).returncode == 0  # the user's history

    # Outside a git repository nothing more is printed than the remote and its credentials.
    elsewhere = make_project(tmp_path / "plain", {"app": "gitmine", "stage": "dev"})
    assert cli(elsewhere, endpoint_url, "bootstrap-pipeline") == 0
    assert "git push" not in capsys.readouterr().out
