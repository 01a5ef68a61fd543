"""The paths a repository of the embedded CodeCommit may hold: AWS's API refusals, git fsck's tree
entry verdicts, and the local CodeBuild's checkout writer (which refuses anything outside it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dulwich.objects import Blob, Commit, Tree

from mlpipe.local.gitstore import DIRECTORY, NORMAL, GitError, GitRepository
from mlpipe.local.repo_paths import UnsafeCheckout, api_path, entry_problem, push_problem, write_checkout


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        (b"file.txt", None),
        (b"...", None),  # only '.' and '..' are git's hasDot/hasDotdot
        (b".gitignore", None),
        (b".github", None),
        (b"git", None),
        (b"caf\xe9", None),  # not UTF-8: git stores it
        (b"a\\b", None),  # a backslash is an ordinary character on POSIX
        (b"", "emptyName"),
        (b"a/b", "fullPathname"),
        (b"/", "fullPathname"),
        (b".", "hasDot"),
        (b"..", "hasDotdot"),
        (b".git", "hasDotgit"),
        (b".GIT", "hasDotgit"),
        (b".Git", "hasDotgit"),
        (b".git.", "hasDotgit"),  # NTFS drops trailing dots and spaces
        (b".git ", "hasDotgit"),
        (b"git~1", "hasDotgit"),  # NTFS short name
        (b".git::$INDEX_ALLOCATION", "hasDotgit"),
        (b"x\\.git", "hasDotgit"),
        (".g\u200cit".encode(), "hasDotgit"),  # HFS+ ignores zero-width characters
    ],
)
def test_entry_problem_is_git_fsck_verdict(name: bytes, verdict: str | None) -> None:
    problem = entry_problem(name)
    assert (problem.split(":")[0] if problem else None) == verdict


@pytest.mark.parametrize(
    ("value", "folder", "expected"),
    [
        ("a.txt", False, "a.txt"),
        ("/dir/a.txt", False, "dir/a.txt"),  # a leading slash is the repository root
        ("dir/sub/", False, "dir/sub"),
        ("", True, ""),
        ("/", True, ""),
        ("/examples", True, "examples"),
        ("..a/b..", False, "..a/b.."),
        ("", False, "PathRequiredException"),
        (None, False, "PathRequiredException"),
        (None, True, "PathRequiredException"),
        ("/", False, "InvalidPathException"),
        ("../../../../tmp/escaped.txt", False, "InvalidPathException"),
        ("dir/../../x", False, "InvalidPathException"),
        ("./a", False, "InvalidPathException"),
        ("a//b", False, "InvalidPathException"),
        (".git/config", False, "InvalidPathException"),
        ("src/.GIT/hooks/post-checkout", False, "InvalidPathException"),
        ("a\0b", False, "InvalidPathException"),
        ("..", True, "InvalidPathException"),
    ],
)
def test_api_path_normalises_or_refuses_as_codecommit(value: str | None, folder: bool, expected: str) -> None:
    try:
        got = api_path(value, folder=folder)
    except GitError as refused:
        got = refused.code
    assert got == expected


@pytest.mark.parametrize(
    "path",
    ["../escaped.txt", "a/../../escaped.txt", "/tmp/escaped.txt", ".git/hooks/x", "a//b", "./a"],
)
def test_write_checkout_refuses_paths_outside(tmp_path: Path, path: str) -> None:
    checkout = tmp_path / "src"
    checkout.mkdir()
    with pytest.raises(UnsafeCheckout, match="is outside the source directory"):
        write_checkout(checkout, {"ok.txt": b"ok", path: b"escaped"})
    assert not (tmp_path / "escaped.txt").exists()


def test_write_checkout_refuses_to_write_through_a_symlink(tmp_path: Path) -> None:
    checkout, outside = tmp_path / "src", tmp_path / "outside"
    checkout.mkdir()
    outside.mkdir()
    os.symlink(outside, checkout / "link")  # as if something had left one there
    with pytest.raises(UnsafeCheckout, match="outside the source directory \\(through a symlink\\)"):
        write_checkout(checkout, {"link/x.txt": b"escaped"})
    os.symlink(outside / "target.txt", checkout / "file")
    with pytest.raises(UnsafeCheckout, match="source entry 'file' cannot be written"):
        write_checkout(checkout, {"file": b"escaped"})
    assert list(outside.iterdir()) == []


def test_write_checkout_refuses_a_file_where_a_folder_goes(tmp_path: Path) -> None:
    """A hand-made source zip can hold both `a` and `a/b`: one clear refusal, not a crash."""
    with pytest.raises(UnsafeCheckout, match="source entry 'a/b' cannot be written"):
        write_checkout(tmp_path, {"a": b"file", "a/b": b"x"})


def test_write_checkout_writes_nested_files(tmp_path: Path) -> None:
    checkout = tmp_path / "src"
    checkout.mkdir()
    write_checkout(checkout, {"a.txt": b"A", "dir/sub/b.txt": b"B", "..a": b"C"})
    assert (checkout / "dir/sub/b.txt").read_bytes() == b"B" and (checkout / "..a").read_bytes() == b"C"


def _commit(repo: GitRepository, names: list[bytes], parent: bytes | None = None) -> bytes:
    """A commit whose folder `sub` holds `names`, each as one raw tree entry (as a push can)."""
    store = repo.objects
    blob = Blob.from_string(b"x")
    store.add_object(blob)
    inner = Tree()
    for name in names:
        inner.add(name, NORMAL, blob.id)
    store.add_object(inner)
    top = Tree()
    top.add(b"sub", DIRECTORY, inner.id)
    store.add_object(top)
    commit = Commit()
    commit.tree, commit.parents = top.id, [parent] if parent else []
    commit.author = commit.committer = b"a <a@b>"
    commit.author_time = commit.commit_time = 0
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"m"
    store.add_object(commit)
    return bytes(commit.id)


def test_push_problem_checks_the_trees_a_push_brings() -> None:
    repo = GitRepository("r", "us-east-1")
    good = _commit(repo, [b"a.txt"])
    assert push_problem(repo, good) is None
    bad = _commit(repo, [b"..", b"b.txt"], parent=good)
    problem = push_problem(repo, bad)
    assert problem is not None and "hasDotdot: contains '..'" in problem
    on_top = _commit(repo, [b"c.txt"], parent=bad)  # a good tip does not hide a bad ancestor
    assert "hasDotdot" in str(push_problem(repo, on_top))
    repo.refs[b"refs/heads/main"] = good
    assert push_problem(repo, _commit(repo, [b".GIT"], parent=good)) is not None
