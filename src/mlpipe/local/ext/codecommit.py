"""CodeCommit contents for the embedded AWS: commits, branches and files, which moto does not keep.

moto knows repositories (create/get/delete) only. Here each repository gets a git-like store in
`ctx.state`: blobs by id, commits (full file trees, a parent, a message) and branch heads, plus the
repository's tags. CreateCommit / PutFile notify `COMMIT_LISTENERS` (the local CodePipeline starts
the pipelines that track that branch).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.registry import AwsApiError, Context, after, on_reset, override

# (ctx, region, repository, branch, commit id) -> None; called after every new commit.
CommitListener = Callable[[Context, str, str, str, str], None]
COMMIT_LISTENERS: list[CommitListener] = []
STATE_KEY = "codecommit"


@dataclass
class Commit:
    commit_id: str
    tree: dict[str, bytes]
    parents: list[str]
    message: str
    author: str
    email: str
    date: float

    @property
    def tree_id(self) -> str:
        return _sha1("tree", "".join(f"{p}\0{blob_id(c)}" for p, c in sorted(self.tree.items())).encode())

    def to_api(self) -> dict[str, Any]:
        person = {"name": self.author, "email": self.email, "date": f"{int(self.date)} +0000"}
        return {
            "commitId": self.commit_id,
            "treeId": self.tree_id,
            "parents": self.parents,
            "message": self.message,
            "author": person,
            "committer": person,
            "additionalData": "",
        }


@dataclass
class Repository:
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # branch -> head commit id
    default_branch: str | None = None


@dataclass
class Store:
    lock: threading.RLock = field(default_factory=threading.RLock)
    repositories: dict[tuple[str, str], Repository] = field(default_factory=dict)  # (region, name) -> repo


def store(ctx: Context) -> Store:
    found: Store = ctx.state.setdefault(STATE_KEY, Store())
    return found


def _sha1(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()


def blob_id(content: bytes) -> str:
    return _sha1("blob", content)


def _moto_repository(ctx: Context, name: str) -> Any:
    from moto.codecommit.models import codecommit_backends

    backend = codecommit_backends[ctx.account_id][ctx.region]
    if name not in backend.repositories:
        raise AwsApiError("RepositoryDoesNotExistException", f"{name} does not exist")
    return backend.repositories[name]


def repository(ctx: Context, name: str) -> Repository:
    """Our store for a repository moto knows; the error AWS gives when it does not exist."""
    _moto_repository(ctx, name)
    s = store(ctx)
    with s.lock:
        return s.repositories.setdefault((ctx.region, name), Repository(name))


def head_files(ctx: Context, region: str, name: str, branch: str) -> tuple[str, dict[str, bytes]] | None:
    """(commit id, files) at the tip of a branch, for the local pipeline's source action."""
    s = store(ctx)
    with s.lock:
        repo = s.repositories.get((region, name))
        if repo is None or branch not in repo.branches:
            return None
        commit = repo.commits[repo.branches[branch]]
        return commit.commit_id, dict(commit.tree)


def _content(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return base64.b64decode(value or "")


def _resolve(repo: Repository, specifier: str | None) -> Commit:
    if not specifier:
        specifier = repo.default_branch or ""
    commit_id = repo.branches.get(specifier, specifier)
    if commit_id not in repo.commits:
        raise AwsApiError("CommitDoesNotExistException", f"commit specifier {specifier} does not exist")
    return repo.commits[commit_id]


def _new_commit(ctx: Context, params: dict[str, Any], puts: dict[str, bytes], deletes: list[str]) -> dict[str, Any]:
    """Apply puts and deletes on top of the branch head; AWS's rules on parents and empty commits."""
    name, branch = params["repositoryName"], params.get("branchName")
    if not branch:
        raise AwsApiError("BranchNameRequiredException", "a branch name is required")
    repo = repository(ctx, name)
    with store(ctx).lock:
        head = repo.branches.get(branch)
        parent = params.get("parentCommitId")
        if head is not None and not parent:
            raise AwsApiError("ParentCommitIdRequiredException", f"branch {branch} exists: parentCommitId is required")
        if head is not None and parent != head:
            raise AwsApiError("ParentCommitIdOutdatedException", f"{parent} is not the tip of {branch} ({head})")
        if head is None and parent and parent not in repo.commits:
            raise AwsApiError("ParentCommitDoesNotExistException", f"parent commit {parent} does not exist")
        base_id = head or parent
        base = dict(repo.commits[base_id].tree) if base_id else {}
        tree = dict(base)
        for path in deletes:
            if path not in tree:
                raise AwsApiError("FileDoesNotExistException", f"{path} does not exist")
            del tree[path]
        tree.update(puts)
        if tree == base and head is not None:
            raise AwsApiError("NoChangeException", "the commit changes nothing")
        message = params.get("commitMessage") or ""
        seed = f"{head}{message}{time.time_ns()}".encode() + repr(sorted(tree.items())).encode()
        commit = Commit(
            commit_id=_sha1("commit", seed),
            tree=tree,
            parents=[p for p in (head or parent,) if p],
            message=message,
            author=params.get("authorName") or params.get("name") or "unknown",
            email=params.get("email") or "",
            date=time.time(),
        )
        repo.commits[commit.commit_id] = commit
        repo.branches[branch] = commit.commit_id
        repo.default_branch = repo.default_branch or branch
    for listener in COMMIT_LISTENERS:
        listener(ctx, ctx.region, name, branch, commit.commit_id)

    def entries(paths: list[str]) -> list[dict[str, str]]:
        return [
            {"absolutePath": p, "blobId": blob_id(tree.get(p, base.get(p, b""))), "fileMode": "NORMAL"} for p in paths
        ]

    return {
        "commit": commit,
        "filesAdded": entries(sorted(p for p in puts if p not in base)),
        "filesUpdated": entries(sorted(p for p in puts if p in base)),
        "filesDeleted": entries(sorted(deletes)),
    }


@after("codecommit", "CreateRepository")
def _keep_tags(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    repo = repository(ctx, params["repositoryName"])
    repo.tags = dict(params.get("tags") or {})


@after("codecommit", "GetRepository")
def _default_branch(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    branch = repository(ctx, params["repositoryName"]).default_branch
    if branch:
        response["repositoryMetadata"]["defaultBranch"] = branch


@after("codecommit", "DeleteRepository")
def _forget(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    s = store(ctx)
    with s.lock:
        s.repositories.pop((ctx.region, params["repositoryName"]), None)


def _by_arn(ctx: Context, arn: str) -> Repository:
    try:
        return repository(ctx, arn.split(":", 5)[5])
    except (IndexError, AwsApiError):
        raise AwsApiError("RepositoryDoesNotExistException", f"{arn} does not exist") from None


@override("codecommit", "ListTagsForResource")
def list_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"tags": dict(_by_arn(ctx, params["resourceArn"]).tags)}


@override("codecommit", "TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _by_arn(ctx, params["resourceArn"]).tags.update(params.get("tags") or {})
    return {}


@override("codecommit", "UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tags = _by_arn(ctx, params["resourceArn"]).tags
    for key in params.get("tagKeys") or []:
        tags.pop(key, None)
    return {}


@override("codecommit", "CreateCommit")
def create_commit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    puts = {f["filePath"].lstrip("/"): _content(f.get("fileContent")) for f in params.get("putFiles") or []}
    deletes = [f["filePath"].lstrip("/") for f in params.get("deleteFiles") or []]
    if not puts and not deletes:
        raise AwsApiError("NoChangeException", "the commit changes nothing")
    done = _new_commit(ctx, params, puts, deletes)
    commit: Commit = done.pop("commit")
    return {"commitId": commit.commit_id, "treeId": commit.tree_id, **done}


@override("codecommit", "PutFile")
def put_file(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    content = _content(params.get("fileContent"))
    commit: Commit = _new_commit(ctx, params, {params["filePath"].lstrip("/"): content}, [])["commit"]
    return {"commitId": commit.commit_id, "blobId": blob_id(content), "treeId": commit.tree_id}


@override("codecommit", "ListRepositories")
def list_repositories(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from moto.codecommit.models import codecommit_backends

    found = codecommit_backends[ctx.account_id][ctx.region].repositories
    listed = [
        {"repositoryName": name, "repositoryId": repo.repository_metadata["repositoryId"]}
        for name, repo in sorted(found.items(), reverse=params.get("order") == "descending")
    ]
    return {"repositories": listed}


@override("codecommit", "GetBranch")
def get_branch(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    repo = repository(ctx, params["repositoryName"])
    branch = params.get("branchName") or ""
    if branch not in repo.branches:
        raise AwsApiError("BranchDoesNotExistException", f"branch {branch} does not exist in {repo.name}")
    return {"branch": {"branchName": branch, "commitId": repo.branches[branch]}}


@override("codecommit", "ListBranches")
def list_branches(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"branches": sorted(repository(ctx, params["repositoryName"]).branches)}


@override("codecommit", "GetCommit")
def get_commit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    repo = repository(ctx, params["repositoryName"])
    if params["commitId"] not in repo.commits:
        raise AwsApiError("CommitIdDoesNotExistException", f"commit {params['commitId']} does not exist")
    return {"commit": repo.commits[params["commitId"]].to_api()}


@override("codecommit", "GetFile")
def get_file(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    commit = _resolve(repository(ctx, params["repositoryName"]), params.get("commitSpecifier"))
    path = params["filePath"].lstrip("/")
    if path not in commit.tree:
        raise AwsApiError("FileDoesNotExistException", f"{path} does not exist at {commit.commit_id}")
    content = commit.tree[path]
    return {
        "commitId": commit.commit_id,
        "blobId": blob_id(content),
        "filePath": path,
        "fileMode": "NORMAL",
        "fileSize": len(content),
        "fileContent": content,
    }


@on_reset
def _reset(ctx: Context) -> None:
    ctx.state.pop(STATE_KEY, None)
