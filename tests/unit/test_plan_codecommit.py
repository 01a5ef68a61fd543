"""plan/codecommit.py's decisions from hand-written snapshots, without a server."""

from __future__ import annotations

import pytest

from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.codecommit import Branch, Repository, diff, diff_commit, diff_deletion
from mlpipe.plan.model import Change

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
REPO = "house"
FILES = {"buildspec.yml": b"version: 0.2\n", "mlpipe.yaml": b"app: house\n"}


@pytest.mark.parametrize(
    ("observed", "action", "operations"),
    [
        (None, "create", ["create_repository"]),
        (Repository("old words", OURS), "update", ["update_repository_description"]),
        (Repository("mlpipe app house", OURS), "noop", []),
    ],
)
def test_repository(observed: Repository | None, action: str, operations: list[str]) -> None:
    change = diff(REPO, "mlpipe app house", observed, NAMES)
    assert (change.action, [c.operation for c in change.calls]) == (action, operations)
    for call in change.calls:
        assert call.params["repositoryDescription"] == "mlpipe app house"


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "shop", "mlpipe:stage": "dev"}])
def test_an_unowned_repository_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="CodeCommit repository 'house'"):
        diff(REPO, "mlpipe app house", Repository("mlpipe app house", tags), NAMES)
    with pytest.raises(ForeignResourceError):
        diff_deletion(REPO, Repository("", tags), NAMES)


def test_repository_deletion() -> None:
    assert diff_deletion(REPO, None, NAMES).detail == "absent"
    assert diff_deletion(REPO, Repository("", OURS), NAMES).calls[0].operation == "delete_repository"


def test_a_first_commit_has_every_file_and_no_parent() -> None:
    change = diff_commit(REPO, "main", FILES, Branch(None), "deploy")
    params = change.calls[0].params
    assert (change.action, change.name, "parentCommitId" in params) == ("create", "house@main", False)
    assert [f["filePath"] for f in params["putFiles"]] == ["buildspec.yml", "mlpipe.yaml"]


def test_a_commit_carries_only_the_changed_files_on_the_head() -> None:
    observed = Branch("c1", {"buildspec.yml": b"version: 0.2\n", "mlpipe.yaml": b"app: old\n"})
    change = diff_commit(REPO, "main", FILES, observed, "deploy")
    params = change.calls[0].params
    assert (change.action, change.detail, params["parentCommitId"]) == ("update", "mlpipe.yaml", "c1")
    assert params["putFiles"] == [{"filePath": "mlpipe.yaml", "fileContent": b"app: house\n", "fileMode": "NORMAL"}]


def test_files_up_to_date_is_a_noop() -> None:
    change = diff_commit(REPO, "main", FILES, Branch("c1", dict(FILES)), "deploy")
    assert change == Change("noop", "codecommit-commit", "house@main", "files up to date")
