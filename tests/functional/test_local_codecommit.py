"""The embedded AWS's CodeCommit contents follow AWS's rules on commits, parents, files and tags."""

from __future__ import annotations

import botocore.exceptions
import pytest

from mlpipe.aws.clients import Clients


def _code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_commits_branches_and_files(clients: Clients) -> None:
    cc = clients.client("codecommit")
    arn = cc.create_repository(repositoryName="repo", tags={"team": "ml"})["repositoryMetadata"]["Arn"]
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "ml"}
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        cc.get_branch(repositoryName="repo", branchName="main")
    assert _code(missing) == "BranchDoesNotExistException"

    first = cc.create_commit(
        repositoryName="repo",
        branchName="main",
        commitMessage="first",
        authorName="me",
        putFiles=[{"filePath": "a.txt", "fileContent": b"A"}, {"filePath": "dir/b.txt", "fileContent": b"B"}],
    )
    assert sorted(f["absolutePath"] for f in first["filesAdded"]) == ["a.txt", "dir/b.txt"]
    assert cc.get_branch(repositoryName="repo", branchName="main")["branch"]["commitId"] == first["commitId"]
    assert cc.get_repository(repositoryName="repo")["repositoryMetadata"]["defaultBranch"] == "main"

    with pytest.raises(botocore.exceptions.ClientError) as no_parent:
        cc.put_file(repositoryName="repo", branchName="main", filePath="a.txt", fileContent=b"A2")
    assert _code(no_parent) == "ParentCommitIdRequiredException"
    second = cc.put_file(
        repositoryName="repo", branchName="main", filePath="a.txt", fileContent=b"A2", parentCommitId=first["commitId"]
    )
    with pytest.raises(botocore.exceptions.ClientError) as outdated:
        cc.put_file(
            repositoryName="repo", branchName="main", filePath="c", fileContent=b"C", parentCommitId=first["commitId"]
        )
    assert _code(outdated) == "ParentCommitIdOutdatedException"
    with pytest.raises(botocore.exceptions.ClientError) as no_change:
        cc.put_file(
            repositoryName="repo",
            branchName="main",
            filePath="a.txt",
            fileContent=b"A2",
            parentCommitId=second["commitId"],
        )
    assert _code(no_change) == "NoChangeException"

    at_first = cc.get_file(repositoryName="repo", commitSpecifier=first["commitId"], filePath="a.txt")
    at_main = cc.get_file(repositoryName="repo", commitSpecifier="main", filePath="/a.txt")
    assert (at_first["fileContent"], at_main["fileContent"]) == (b"A", b"A2")
    assert at_main["commitId"] == second["commitId"] and at_main["blobId"] != at_first["blobId"]
    commit = cc.get_commit(repositoryName="repo", commitId=second["commitId"])["commit"]
    assert commit["parents"] == [first["commitId"]] and commit["treeId"] != first["treeId"]
    with pytest.raises(botocore.exceptions.ClientError) as no_file:
        cc.get_file(repositoryName="repo", commitSpecifier="main", filePath="nope")
    assert _code(no_file) == "FileDoesNotExistException"
    assert cc.list_branches(repositoryName="repo")["branches"] == ["main"]


def test_unknown_repository_errors_like_aws(clients: Clients) -> None:
    cc = clients.client("codecommit")
    for call in (
        lambda: cc.get_branch(repositoryName="ghost", branchName="main"),
        lambda: cc.put_file(repositoryName="ghost", branchName="main", filePath="a", fileContent=b"a"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as missing:
            call()
        assert _code(missing) == "RepositoryDoesNotExistException"
