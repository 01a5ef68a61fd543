"""A CodeCommit repository of the embedded AWS: a real git repository (dulwich, in memory).

One store for both doors: the CodeCommit API (CreateCommit, PutFile, GetFile, GetFolder,
GetDifferences...) writes and reads git objects here, and `git push` / `git clone` over smart
HTTP (`ext/codecommit_http.py`) work on the very same objects and refs. So commit, tree and blob
ids are git's own SHA-1s, and a commit made either way is visible the other way.

Pickled into the server's snapshots as plain data (every object's raw bytes, and the refs).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import MemoryRepo

NORMAL, EXECUTABLE, SYMLINK, SUBMODULE, DIRECTORY = 0o100644, 0o100755, 0o120000, 0o160000, 0o040000
MODE_NAMES = {NORMAL: "NORMAL", EXECUTABLE: "EXECUTABLE", SYMLINK: "SYMLINK"}
MODES_BY_NAME = {name: mode for mode, name in MODE_NAMES.items()}
HEADS = b"refs/heads/"


class GitError(Exception):
    """A CodeCommit-style refusal: `code` is the AWS exception name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Entry:
    path: str
    mode: int
    sha: str


class GitRepository:
    def __init__(self, name: str, region: str) -> None:
        self.name = name
        self.region = region
        self.tags: dict[str, str] = {}
        self.lock = threading.RLock()  # API commits and pushes move refs one at a time
        self.repo = MemoryRepo.init_bare([], {})
        # Untyped views: dulwich's NewType ids (ObjectID, Ref) add nothing to bytes here.
        self.objects: Any = self.repo.object_store
        self.refs: Any = self.repo.refs

    # -- snapshots: plain data, not dulwich's objects --------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        store = self.objects
        with self.lock:
            objects = [(store[sha].type_num, store[sha].as_raw_string()) for sha in list(store)]
            refs = {k: v for k, v in self.refs.as_dict().items()}
            head = self.refs.get_symrefs().get(b"HEAD")
        return {
            "name": self.name,
            "region": self.region,
            "tags": self.tags,
            "objects": objects,
            "refs": refs,
            "head": head,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        from dulwich.objects import ShaFile

        self.__init__(state["name"], state["region"])  # type: ignore[misc]
        self.tags = state["tags"]
        for type_num, raw in state["objects"]:
            self.objects.add_object(ShaFile.from_raw_string(type_num, raw))
        for ref, sha in state["refs"].items():
            self.refs[ref] = sha
        if state["head"]:
            self.refs.set_symbolic_ref(b"HEAD", state["head"])

    # -- branches --------------------------------------------------------------------------------
    def branches(self) -> dict[str, str]:
        return {
            ref[len(HEADS) :].decode(): sha.decode()
            for ref, sha in self.refs.as_dict().items()
            if ref.startswith(HEADS)
        }

    def head(self, branch: str) -> str | None:
        return self.branches().get(branch)

    @property
    def default_branch(self) -> str | None:
        """CodeCommit's: the first branch created (HEAD points at it), while it exists."""
        target = self.refs.get_symrefs().get(b"HEAD")
        if target and target.startswith(HEADS) and target in self.refs.as_dict():
            return target[len(HEADS) :].decode()
        return None

    def adopt_default(self, branch: str) -> None:
        if self.default_branch is None:
            self.refs.set_symbolic_ref(b"HEAD", HEADS + branch.encode())

    # -- reading ---------------------------------------------------------------------------------
    def resolve(self, specifier: str | None) -> str:
        """A branch name or commit id (CodeCommit's commit specifier) -> commit id."""
        specifier = specifier or self.default_branch or ""
        found = self.head(specifier)
        if found is not None:
            return found
        if len(specifier) == 40 and self._kind(specifier) == Commit.type_num:
            return specifier
        raise GitError("CommitDoesNotExistException", f"commit specifier {specifier} does not exist")

    def _kind(self, sha: str) -> int | None:
        try:
            return int(self.objects[sha.encode()].type_num)
        except (KeyError, ValueError):
            return None

    def has_commit(self, commit_id: str) -> bool:
        return self._kind(commit_id) == Commit.type_num

    def commit(self, commit_id: str) -> Commit:
        if self._kind(commit_id) != Commit.type_num:
            raise GitError("CommitIdDoesNotExistException", f"commit {commit_id} does not exist")
        found: Commit = self.objects[commit_id.encode()]
        return found

    def entries(self, commit_id: str) -> dict[str, Entry]:
        """Every file (blob, link, submodule) of a commit, by path."""
        out: dict[str, Entry] = {}
        self._walk(self.commit(commit_id).tree.decode(), "", out)
        return out

    def _walk(self, tree_id: str, prefix: str, out: dict[str, Entry]) -> None:
        tree: Tree = self.objects[tree_id.encode()]
        for item in tree.iteritems():
            path = prefix + item.path.decode()
            if item.mode == DIRECTORY:
                self._walk(item.sha.decode(), path + "/", out)
            else:
                out[path] = Entry(path, item.mode, item.sha.decode())

    def blob(self, sha: str) -> bytes:
        if self._kind(sha) != Blob.type_num:
            raise GitError("BlobIdDoesNotExistException", f"blob {sha} does not exist")
        return bytes(self.objects[sha.encode()].data)

    def files(self, commit_id: str) -> dict[str, bytes]:
        return {p: self.blob(e.sha) for p, e in self.entries(commit_id).items() if e.mode != SUBMODULE}

    def tree_of(self, commit_id: str, folder: str) -> tuple[str, list[tuple[str, int, str]]] | None:
        """(tree id, [(name, mode, sha)]) of a folder of a commit; None when it is no folder."""
        tree_id = self.commit(commit_id).tree
        for part in [p for p in folder.strip("/").split("/") if p]:
            tree: Tree = self.objects[tree_id]
            match = next((i for i in tree.iteritems() if i.path.decode() == part and i.mode == DIRECTORY), None)
            if match is None:
                return None
            tree_id = match.sha
        listing = [(i.path.decode(), i.mode, i.sha.decode()) for i in self.objects[tree_id].iteritems()]
        return tree_id.decode(), listing

    # -- writing (the API's commits) ---------------------------------------------------------------
    def write_commit(
        self,
        branch: str,
        parent: str | None,
        files: dict[str, Entry | tuple[int, bytes]],
        message: str,
        author: str,
        email: str,
    ) -> str:
        """A commit whose tree is `files` (Entry: unchanged; (mode, content): new), on top of
        `parent`; moves `branch` to it only if the branch is still where the caller saw it."""
        store = self.objects
        flat: dict[str, tuple[int, bytes]] = {}
        for path, value in files.items():
            if isinstance(value, Entry):
                flat[path] = (value.mode, value.sha.encode())
            else:
                blob = Blob.from_string(value[1])
                store.add_object(blob)
                flat[path] = (value[0], blob.id)
        commit: Any = Commit()
        commit.tree = self._write_tree(flat)
        commit.parents = [parent.encode()] if parent else []
        person = f"{author} <{email}>".encode()
        commit.author = commit.committer = person
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode()
        store.add_object(commit)
        ref, current = HEADS + branch.encode(), self.head(branch)
        if current is None:
            moved = self.refs.add_if_new(ref, commit.id)
        else:
            moved = current == parent and self.refs.set_if_equals(ref, current.encode(), commit.id)
        if not moved:
            raise GitError("ParentCommitIdOutdatedException", f"{branch} moved while committing; retry")
        self.adopt_default(branch)
        return commit.id.decode()

    def _write_tree(self, flat: dict[str, tuple[int, bytes]]) -> bytes:
        here: dict[str, tuple[int, bytes]] = {}
        below: dict[str, dict[str, tuple[int, bytes]]] = {}
        for path, value in flat.items():
            first, slash, rest = path.partition("/")
            if slash:
                below.setdefault(first, {})[rest] = value
            else:
                here[first] = value
        tree: Any = Tree()
        for name, (mode, sha) in here.items():
            tree.add(name.encode(), mode, sha)
        for name, sub in below.items():
            tree.add(name.encode(), DIRECTORY, self._write_tree(sub))
        self.objects.add_object(tree)
        return bytes(tree.id)


def person(raw: bytes, when: int, offset: int) -> dict[str, str]:
    """CodeCommit's UserInfo from a git identity line `Name <email>`."""
    text = raw.decode(errors="replace")
    name, _, email = text.partition(" <")
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return {"name": name, "email": email.rstrip(">"), "date": f"{when} {sign}{hours:02d}{minutes:02d}"}
