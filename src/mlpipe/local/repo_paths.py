"""Which paths a repository of the embedded CodeCommit may hold, checked at every door.

A repository's contents come from three places and each refuses a path that could leave the
checkout it is written to: the CodeCommit API (`api_path`: AWS's InvalidPathException /
PathRequiredException), `git push` (`entry_problem`: the names git's receive.fsckObjects refuses,
with git's message ids hasDot, hasDotdot, hasDotgit, fullPathname, emptyName), and the local
CodeBuild's checkout (`write_checkout`), which refuses anything resolving outside it, so a
repository stored by an older version (a persistence snapshot) cannot escape either.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dulwich.index import validate_path_element_hfs, validate_path_element_ntfs
from dulwich.objects import Commit, Tag, Tree

from mlpipe.local.gitstore import DIRECTORY, GitError, GitRepository


class UnsafeCheckout(ValueError):
    """A source path the local CodeBuild refuses to write (the build fails in DOWNLOAD_SOURCE)."""


def _spells_dotgit(name: bytes) -> bool:
    """`.git` in any case, and as NTFS (`git~1`, trailing dots/spaces, `::$DATA`) or HFS+ (ignorable
    Unicode) would open it, as git's is_ntfs_dotgit/is_hfs_dotgit (dulwich's validators)."""
    if name.rstrip(b". ") == b"":  # only dots and spaces: git's hasDot/hasDotdot, or a plain name
        return False
    if not validate_path_element_ntfs(name):
        return True
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False  # git accepts non-UTF-8 names; only valid UTF-8 can spell .git for HFS+
    return not validate_path_element_hfs(name)


def entry_problem(name: bytes) -> str | None:
    """git fsck's verdict on one tree entry name (`msgId: message`), None when git accepts it."""
    if name == b"":
        return "emptyName: contains empty pathname"
    if b"/" in name:
        return "fullPathname: contains full pathnames"
    if name == b".":
        return "hasDot: contains '.'"
    if name == b"..":
        return "hasDotdot: contains '..'"
    if _spells_dotgit(name):
        return "hasDotgit: contains '.git'"
    return None


def path_problem(path: str) -> str | None:
    """The first refused element of a slash-separated repository path, None when all are fine."""
    if "\0" in path:
        return "contains a NUL character"
    for element in path.split("/"):
        problem = entry_problem(element.encode("utf-8", "surrogateescape"))
        if problem is not None:
            return problem
    return None


def check_paths(paths: Iterable[str]) -> None:
    """InvalidPathException for the first refused path of a commit's tree (a parent only a refused
    push left in the store can hold one: no API commit builds on it)."""
    for path in paths:
        problem = path_problem(path)
        if problem is not None:
            raise GitError("InvalidPathException", f"The specified path is not valid: {path!r} ({problem}).")


def api_path(value: str | None, *, folder: bool = False) -> str:
    """A CodeCommit API file/folder path as the repository stores it, or AWS's refusal.

    Like AWS, a leading `/` means the repository root (`/dir/file` is `dir/file`; GetFolder's `/`
    or `` is the root); a path with `.`, `..` or `.git` elements, empty elements (`a//b`) or NUL
    is InvalidPathException, a missing one PathRequiredException.
    """
    if value is None or (value == "" and not folder):
        raise GitError("PathRequiredException", "The filePath for a location cannot be null.")
    path = value.strip("/")
    if path == "" and folder:
        return ""
    problem = "names no file" if path == "" else path_problem(path)
    if problem is not None:
        raise GitError("InvalidPathException", f"The specified path is not valid: {value!r} ({problem}).")
    return path


def write_checkout(checkout: Path, files: Mapping[str, bytes]) -> None:
    """Write a source revision under `checkout`; refuse (UnsafeCheckout) any path that would land
    outside it, through `..`, an absolute path, `.git` or a symlinked directory."""
    root = checkout.resolve()
    for path, content in sorted(files.items()):
        problem = "an absolute path" if path.startswith("/") else path_problem(path)
        if problem is not None:
            raise UnsafeCheckout(f"source entry {path!r} is outside the source directory ({problem})")
        target = root.joinpath(*path.split("/"))
        if not target.parent.resolve().is_relative_to(root):
            raise UnsafeCheckout(f"source entry {path!r} is outside the source directory (through a symlink)")
        # O_NOFOLLOW: never write through a symlink that is already at the target.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)  # fails where a file holds the name (a zip can)
            descriptor = os.open(target, flags, 0o644)
        except OSError as exc:
            raise UnsafeCheckout(f"source entry {path!r} cannot be written: {exc.strerror}") from None
        with os.fdopen(descriptor, "wb") as out:
            out.write(content)


def _object(store: Any, sha: bytes) -> Any:
    try:
        return store[sha]
    except KeyError:  # a pack need not be complete: a missing object is no tree of this push
        return None


def _tree_problem(store: Any, tree_id: bytes, seen: set[bytes]) -> str | None:
    stack = [tree_id]
    while stack:
        sha = stack.pop()
        if sha in seen:
            continue
        seen.add(sha)
        tree = _object(store, sha)
        if not isinstance(tree, Tree):
            return f"object {sha.decode()}: badTree: not a tree"
        for item in tree.iteritems():
            problem = entry_problem(item.path)
            if problem is not None:
                return f"object {sha.decode()}: {problem}"
            if item.mode == DIRECTORY:
                stack.append(item.sha)
    return None


def push_problem(repo: GitRepository, new: bytes) -> str | None:
    """What git's receive.fsckObjects says of the trees a ref update to `new` brings in (commits not
    reachable from the current refs, which were checked when they came), None when git accepts it."""
    store = repo.objects
    target = _object(store, new)
    while isinstance(target, Tag):
        target = _object(store, target.object[1])
    if isinstance(target, Tree):
        return _tree_problem(store, target.id, set())
    if not isinstance(target, Commit):
        return None  # a blob: no path in it
    tips = [sha for sha in repo.refs.as_dict().values() if isinstance(_object(store, sha), Commit)]
    seen: set[bytes] = set()
    for entry in repo.repo.get_walker(include=[target.id], exclude=tips):
        problem = _tree_problem(store, entry.commit.tree, seen)
        if problem is not None:
            return problem
    return None
