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


def test_folders_differences_blobs_and_deletes_read_the_git_objects(clients: Clients, endpoint_url: str) -> None:
    cc = clients.client("codecommit")
    meta = cc.create_repository(repositoryName="tree")["repositoryMetadata"]
    assert meta["cloneUrlHttp"] == f"{endpoint_url}/v1/repos/tree"  # reachable, like AWS's own URL
    first = cc.create_commit(
        repositoryName="tree",
        branchName="dev",
        authorName="me",
        email="me@example.com",
        putFiles=[
            {"filePath": "mlpipe.yaml", "fileContent": b"app: x\n"},
            {"filePath": "handler/handler.py", "fileContent": b"v1\n"},
            {"filePath": "handler/run.sh", "fileContent": b"#!/bin/sh\n", "fileMode": "EXECUTABLE"},
        ],
    )
    root = cc.get_folder(repositoryName="tree", folderPath="/")
    assert root["commitId"] == first["commitId"] and root["treeId"] == first["treeId"]
    assert [f["absolutePath"] for f in root["files"]] == ["mlpipe.yaml"]
    assert [(d["absolutePath"], d["relativePath"]) for d in root["subFolders"]] == [("handler", "handler")]
    handler = cc.get_folder(repositoryName="tree", commitSpecifier="dev", folderPath="handler")
    assert {f["relativePath"]: f["fileMode"] for f in handler["files"]} == {
        "handler.py": "NORMAL",
        "run.sh": "EXECUTABLE",
    }
    with pytest.raises(botocore.exceptions.ClientError) as no_folder:
        cc.get_folder(repositoryName="tree", folderPath="nope")
    assert _code(no_folder) == "FolderDoesNotExistException"

    second = cc.create_commit(
        repositoryName="tree",
        branchName="dev",
        parentCommitId=first["commitId"],
        putFiles=[
            {"filePath": "handler/handler.py", "fileContent": b"v2\n"},
            {"filePath": "new.txt", "fileContent": b"n"},
        ],
        deleteFiles=[{"filePath": "mlpipe.yaml"}],
    )
    diff = cc.get_differences(
        repositoryName="tree", beforeCommitSpecifier=first["commitId"], afterCommitSpecifier="dev"
    )["differences"]
    by_path = {(d.get("afterBlob") or d["beforeBlob"])["path"]: d for d in diff}
    assert {p: d["changeType"] for p, d in by_path.items()} == {
        "handler/handler.py": "M",
        "mlpipe.yaml": "D",
        "new.txt": "A",
    }
    changed = by_path["handler/handler.py"]
    assert cc.get_blob(repositoryName="tree", blobId=changed["afterBlob"]["blobId"])["content"] == b"v2\n"
    assert changed["beforeBlob"]["mode"] == "100644"
    only_handler = cc.get_differences(
        repositoryName="tree",
        beforeCommitSpecifier=first["commitId"],
        afterCommitSpecifier=second["commitId"],
        beforePath="handler",
        afterPath="handler",
    )["differences"]
    assert [d["afterBlob"]["path"] for d in only_handler] == ["handler/handler.py"]
    everything = cc.get_differences(repositoryName="tree", afterCommitSpecifier="dev")["differences"]
    assert {d["changeType"] for d in everything} == {"A"} and len(everything) == 3

    deleted = cc.delete_file(
        repositoryName="tree", branchName="dev", filePath="new.txt", parentCommitId=second["commitId"]
    )
    commit = cc.get_commit(repositoryName="tree", commitId=deleted["commitId"])["commit"]
    assert commit["parents"] == [second["commitId"]]
    assert cc.get_repository(repositoryName="tree")["repositoryMetadata"]["defaultBranch"] == "dev"
    with pytest.raises(botocore.exceptions.ClientError) as no_parent:
        cc.create_commit(
            repositoryName="tree",
            branchName="other",
            parentCommitId="0" * 40,
            putFiles=[{"filePath": "a", "fileContent": b"a"}],
        )
    assert _code(no_parent) == "ParentCommitDoesNotExistException"


def test_paths_outside_the_repository_are_refused_as_aws_does(clients: Clients) -> None:
    """`..`, `.`, `.git` and empty path elements are AWS's InvalidPathException in every call that
    takes a path, an empty path PathRequiredException; nothing is committed. A leading `/` is the root."""
    cc = clients.client("codecommit")
    cc.create_repository(repositoryName="paths")
    head = cc.create_commit(
        repositoryName="paths", branchName="main", putFiles=[{"filePath": "/a", "fileContent": b"a"}]
    )
    assert [f["absolutePath"] for f in head["filesAdded"]] == ["a"]
    parent = {"repositoryName": "paths", "branchName": "main", "parentCommitId": head["commitId"]}
    bad = ("../../../../tmp/escaped.txt", "dir/../../x", "./a", "a//b", ".git/config", "src/.Git/hooks/x", "/")
    calls = []
    for path in bad:
        calls += [
            lambda p=path: cc.create_commit(**parent, putFiles=[{"filePath": p, "fileContent": b"x"}]),
            lambda p=path: cc.create_commit(**parent, deleteFiles=[{"filePath": p}]),
            lambda p=path: cc.create_commit(**parent, setFileModes=[{"filePath": p, "fileMode": "EXECUTABLE"}]),
            lambda p=path: cc.put_file(**parent, filePath=p, fileContent=b"x"),
            lambda p=path: cc.delete_file(**parent, filePath=p),
            lambda p=path: cc.get_file(repositoryName="paths", filePath=p),
        ]
    calls += [lambda: cc.get_folder(repositoryName="paths", folderPath="../..")]
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert _code(refused) == "InvalidPathException", refused.value
    with pytest.raises(botocore.exceptions.ClientError) as empty:
        cc.put_file(**parent, filePath="", fileContent=b"x")
    assert _code(empty) == "PathRequiredException"
    assert cc.get_branch(repositoryName="paths", branchName="main")["branch"]["commitId"] == head["commitId"]
    assert cc.get_folder(repositoryName="paths", folderPath="/")["files"][0]["absolutePath"] == "a"


def test_set_file_modes_changes_the_mode(clients: Clients) -> None:
    cc = clients.client("codecommit")
    cc.create_repository(repositoryName="modes")
    head = cc.create_commit(
        repositoryName="modes", branchName="main", putFiles=[{"filePath": "run.sh", "fileContent": b"x"}]
    )
    parent = {"repositoryName": "modes", "branchName": "main", "parentCommitId": head["commitId"]}
    changed = cc.create_commit(**parent, setFileModes=[{"filePath": "run.sh", "fileMode": "EXECUTABLE"}])
    assert [(f["absolutePath"], f["fileMode"]) for f in changed["filesUpdated"]] == [("run.sh", "EXECUTABLE")]
    assert cc.get_file(repositoryName="modes", filePath="run.sh")["fileMode"] == "EXECUTABLE"
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        cc.create_commit(
            **{**parent, "parentCommitId": changed["commitId"]}, setFileModes=[{"filePath": "no", "fileMode": "NORMAL"}]
        )
    assert _code(missing) == "FileDoesNotExistException"
