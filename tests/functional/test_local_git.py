"""`git push` (the real git binary) to the embedded CodeCommit runs the pipeline, which deploys the
pushed code; a push with wrong credentials is refused and moves nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pipeline_support import cli, code_sha, executions, make_project, wait_for_run

from mlpipe.aws.clients import Clients
from mlpipe.local.server import EmbeddedServer

APP = {"app": "gitpush", "stage": "dev"}
PIPELINE = "gitpush-pipeline"
HANDLER = "handler/handler.py"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")


def git(cwd: Path, home: Path, secret: tuple[str, str], *args: str) -> subprocess.CompletedProcess[str]:
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
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


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
