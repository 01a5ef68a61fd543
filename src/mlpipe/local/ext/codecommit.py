"""CodeCommit contents for the embedded AWS: commits, branches, files and folders, which moto does
not keep.

moto knows repositories (create/get/delete) only. Each repository gets a real git repository
(`local.gitstore`, dulwich) in `ctx.state`, the one store of both the API below and `git push` /
`git clone` (`ext/codecommit_http.py`). A new commit on a branch, either way, notifies
`COMMIT_LISTENERS` (the local CodePipeline starts the pipelines that track that branch).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlpipe.local.gitstore import MODE_NAMES, MODES_BY_NAME, NORMAL, SUBMODULE, SYMLINK, Entry, GitError, GitRepository
from mlpipe.local.gitstore import person as _person
from mlpipe.local.registry import AwsApiError, Context, after, on_reset, override, persistent
from mlpipe.local.repo_paths import api_path, check_paths

# (ctx, region, repository, branch, commit id) -> None; called after every new commit or push.
CommitListener = Callable[[Context, str, str, str, str], None]
COMMIT_LISTENERS: list[CommitListener] = []
STATE_KEY = "codecommit"
GIT_PATH = "/v1/repos/"  # as CodeCommit's HTTPS clone URL


@dataclass
class Store:
    lock: threading.RLock = field(default_factory=threading.RLock)
    repositories: dict[tuple[str, str], GitRepository] = field(default_factory=dict)  # (region, name) -> repo


def store(ctx: Context) -> Store:
    found: Store = ctx.state.setdefault(STATE_KEY, Store())
    return found


persistent(STATE_KEY)


def clone_url(ctx: Context, name: str) -> str:
    return f"{ctx.endpoint_url}{GIT_PATH}{name}"


def repository(ctx: Context, name: str, region: str | None = None) -> GitRepository:
    """Our git repository for one moto knows; the error AWS gives when it does not exist."""
    from moto.codecommit.models import codecommit_backends

    region = region or ctx.region
    if name not in codecommit_backends[ctx.account_id][region].repositories:
        raise AwsApiError("RepositoryDoesNotExistException", f"{name} does not exist")
    s = store(ctx)
    with s.lock:
        found = s.repositories.get((region, name))
        if found is None:
            found = s.repositories[(region, name)] = GitRepository(name, region)
        return found


def find(ctx: Context, name: str) -> GitRepository | None:
    """The repository called `name` in any region (the git URL names no region): ctx's first."""
    s = store(ctx)
    with s.lock:
        matches = [repo for (region, n), repo in s.repositories.items() if n == name]
    matches.sort(key=lambda repo: repo.region != ctx.region)
    return matches[0] if matches else None


def notify(ctx: Context, region: str, name: str, branch: str, commit: str) -> None:
    for listener in COMMIT_LISTENERS:
        listener(ctx, region, name, branch, commit)


def head_files(ctx: Context, region: str, name: str, branch: str) -> tuple[str, dict[str, bytes]] | None:
    """(commit id, files) at the tip of a branch, for the local pipeline's source action."""
    s = store(ctx)
    with s.lock:
        repo = s.repositories.get((region, name))
    if repo is None:
        return None
    with repo.lock:
        head = repo.head(branch)
        return (head, repo.files(head)) if head else None


def _git(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except GitError as exc:
        raise AwsApiError(exc.code, exc.message) from None


def _content(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return base64.b64decode(value or "")


def _path(value: str | None, *, folder: bool = False) -> str:
    """A path as the repository stores it; AWS's InvalidPathException/PathRequiredException for `..`,
    `.git` and the like (`local.repo_paths`), so no commit holds a path outside the repository."""
    return str(_git(lambda: api_path(value, folder=folder)))


def _new_commit(
    ctx: Context,
    params: dict[str, Any],
    puts: dict[str, tuple[int, bytes]],
    deletes: list[str],
    modes: dict[str, int] | None = None,
) -> tuple[GitRepository, str, dict[str, Entry], dict[str, Entry]]:
    """Apply puts and deletes on top of the branch head; AWS's rules on parents and empty commits.
    Returns (repository, new commit id, files before, files after)."""
    name, branch = params["repositoryName"], params.get("branchName")
    if not branch:
        raise AwsApiError("BranchNameRequiredException", "a branch name is required")
    repo = repository(ctx, name)
    with repo.lock:
        head = repo.head(branch)
        parent = params.get("parentCommitId")
        if head is not None and not parent:
            raise AwsApiError("ParentCommitIdRequiredException", f"branch {branch} exists: parentCommitId is required")
        if head is not None and parent != head:
            raise AwsApiError("ParentCommitIdOutdatedException", f"{parent} is not the tip of {branch} ({head})")
        if head is None and parent and not repo.has_commit(parent):
            raise AwsApiError("ParentCommitDoesNotExistException", f"parent commit {parent} does not exist")
        base_id = head or parent
        base = repo.entries(base_id) if base_id else {}
        tree: dict[str, Entry | tuple[int, bytes]] = dict(base)
        for path in deletes:
            if path not in tree:
                raise AwsApiError("FileDoesNotExistException", f"{path} does not exist")
            del tree[path]
        for path, mode in (modes or {}).items():
            if path not in tree:
                raise AwsApiError("FileDoesNotExistException", f"{path} does not exist")
            tree[path] = Entry(path, mode, base[path].sha)
        unchanged = all(base.get(p) == tree.get(p) for p in modes or {}) and all(
            path in base and repo.blob(base[path].sha) == c and base[path].mode == m for path, (m, c) in puts.items()
        )
        tree.update(puts)
        if head is not None and not deletes and unchanged:
            raise AwsApiError("NoChangeException", "the commit changes nothing")
        _git(lambda: check_paths(tree))
        author = params.get("authorName") or params.get("name") or "unknown"
        commit_id = _git(
            lambda: repo.write_commit(
                branch, base_id, tree, params.get("commitMessage") or "", author, params.get("email") or ""
            )
        )
        after_entries = repo.entries(commit_id)
    notify(ctx, ctx.region, name, branch, commit_id)
    return repo, commit_id, base, after_entries


def _put_files(params: dict[str, Any]) -> dict[str, tuple[int, bytes]]:
    puts = {}
    for item in params.get("putFiles") or []:
        mode = MODES_BY_NAME.get(item.get("fileMode") or "NORMAL", NORMAL)
        puts[_path(item["filePath"])] = (mode, _content(item.get("fileContent")))
    return puts


def _file_entries(paths: list[str], entries: dict[str, Entry]) -> list[dict[str, str]]:
    return [
        {"absolutePath": p, "blobId": entries[p].sha, "fileMode": MODE_NAMES.get(entries[p].mode, "NORMAL")}
        for p in sorted(paths)
    ]


@override("codecommit", "CreateCommit")
def create_commit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    puts = _put_files(params)
    deletes = [_path(f["filePath"]) for f in params.get("deleteFiles") or []]
    modes = {_path(f["filePath"]): MODES_BY_NAME.get(f["fileMode"], NORMAL) for f in params.get("setFileModes") or []}
    if not puts and not deletes and not modes:
        raise AwsApiError("NoChangeException", "the commit changes nothing")
    repo, commit_id, base, now = _new_commit(ctx, params, puts, deletes, modes)
    return {
        "commitId": commit_id,
        "treeId": repo.commit(commit_id).tree.decode(),
        "filesAdded": _file_entries([p for p in puts if p not in base], now),
        "filesUpdated": _file_entries(sorted({p for p in [*puts, *modes] if p in base}), now),
        "filesDeleted": _file_entries(deletes, base),
    }


@override("codecommit", "PutFile")
def put_file(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    path = _path(params["filePath"])
    mode = MODES_BY_NAME.get(params.get("fileMode") or "NORMAL", NORMAL)
    repo, commit_id, _, now = _new_commit(ctx, params, {path: (mode, _content(params.get("fileContent")))}, [])
    return {"commitId": commit_id, "blobId": now[path].sha, "treeId": repo.commit(commit_id).tree.decode()}


@override("codecommit", "DeleteFile")
def delete_file(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    path = _path(params["filePath"])
    repo, commit_id, base, _ = _new_commit(ctx, params, {}, [path])
    return {
        "commitId": commit_id,
        "blobId": base[path].sha,
        "treeId": repo.commit(commit_id).tree.decode(),
        "filePath": path,
    }


@after("codecommit", "CreateRepository")
def _created(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    repo = repository(ctx, params["repositoryName"])
    repo.tags = dict(params.get("tags") or {})
    _local_metadata(ctx, response["repositoryMetadata"])


def _local_metadata(ctx: Context, metadata: dict[str, Any]) -> None:
    """The clone URL that reaches this server (AWS's names its own HTTPS endpoint)."""
    name = metadata["repositoryName"]
    metadata["cloneUrlHttp"] = clone_url(ctx, name)
    branch = repository(ctx, name).default_branch
    if branch:
        metadata["defaultBranch"] = branch


@after("codecommit", "GetRepository")
def _get_repository(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    _local_metadata(ctx, response["repositoryMetadata"])


@after("codecommit", "DeleteRepository")
def _forget(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    s = store(ctx)
    with s.lock:
        s.repositories.pop((ctx.region, params["repositoryName"]), None)


def _by_arn(ctx: Context, arn: str) -> GitRepository:
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
    head = repo.head(branch)
    if head is None:
        raise AwsApiError("BranchDoesNotExistException", f"branch {branch} does not exist in {repo.name}")
    return {"branch": {"branchName": branch, "commitId": head}}


@override("codecommit", "ListBranches")
def list_branches(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"branches": sorted(repository(ctx, params["repositoryName"]).branches())}


@override("codecommit", "GetCommit")
def get_commit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    commit = _git(lambda: repository(ctx, params["repositoryName"]).commit(params["commitId"]))
    return {
        "commit": {
            "commitId": commit.id.decode(),
            "treeId": commit.tree.decode(),
            "parents": [p.decode() for p in commit.parents],
            "message": commit.message.decode(errors="replace"),
            "author": _person(commit.author, commit.author_time, commit.author_timezone),
            "committer": _person(commit.committer, commit.commit_time, commit.commit_timezone),
            "additionalData": "",
        }
    }


@override("codecommit", "GetFile")
def get_file(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    repo = repository(ctx, params["repositoryName"])
    commit_id = _git(lambda: repo.resolve(params.get("commitSpecifier")))
    path = _path(params["filePath"])
    entry = repo.entries(commit_id).get(path)
    if entry is None or entry.mode == SUBMODULE:
        raise AwsApiError("FileDoesNotExistException", f"{path} does not exist at {commit_id}")
    content = repo.blob(entry.sha)
    return {
        "commitId": commit_id,
        "blobId": entry.sha,
        "filePath": path,
        "fileMode": MODE_NAMES.get(entry.mode, "NORMAL"),
        "fileSize": len(content),
        "fileContent": content,
    }


@override("codecommit", "GetBlob")
def get_blob(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"content": _git(lambda: repository(ctx, params["repositoryName"]).blob(params["blobId"]))}


@override("codecommit", "GetFolder")
def get_folder(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    repo = repository(ctx, params["repositoryName"])
    commit_id = _git(lambda: repo.resolve(params.get("commitSpecifier")))
    folder = _path(params["folderPath"], folder=True)
    found = repo.tree_of(commit_id, folder)
    if found is None:
        raise AwsApiError("FolderDoesNotExistException", f"folder /{folder} does not exist at {commit_id}")
    tree_id, listing = found
    out: dict[str, Any] = {"commitId": commit_id, "folderPath": params["folderPath"], "treeId": tree_id}
    kinds: dict[str, list[dict[str, Any]]] = {"subFolders": [], "files": [], "symbolicLinks": [], "subModules": []}
    for name, mode, sha in listing:
        absolute = f"{folder}/{name}" if folder else name
        if mode == SUBMODULE:
            kinds["subModules"].append({"commitId": sha, "absolutePath": absolute, "relativePath": name})
        elif mode == SYMLINK:
            kinds["symbolicLinks"].append(
                {"blobId": sha, "absolutePath": absolute, "relativePath": name, "fileMode": "SYMLINK"}
            )
        elif mode in MODE_NAMES:
            kinds["files"].append(
                {"blobId": sha, "absolutePath": absolute, "relativePath": name, "fileMode": MODE_NAMES[mode]}
            )
        else:
            kinds["subFolders"].append({"treeId": sha, "absolutePath": absolute, "relativePath": name})
    return {**out, **kinds}


def _under(entries: dict[str, Entry], path: str | None) -> dict[str, Entry]:
    if not path:
        return entries
    folder = _path(path, folder=True)
    found = {p: e for p, e in entries.items() if p == folder or p.startswith(folder + "/")}
    if not found:
        raise AwsApiError("PathDoesNotExistException", f"{path} does not exist")
    return found


@override("codecommit", "GetDifferences")
def get_differences(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    repo = repository(ctx, params["repositoryName"])
    after_id = _git(lambda: repo.resolve(params["afterCommitSpecifier"]))
    before_spec = params.get("beforeCommitSpecifier")
    before = (
        _under(repo.entries(_git(lambda: repo.resolve(before_spec))), params.get("beforePath")) if before_spec else {}
    )
    after_entries = _under(repo.entries(after_id), params.get("afterPath"))
    changes = []
    for path in sorted(set(before) | set(after_entries)):
        old, new = before.get(path), after_entries.get(path)
        if old == new:
            continue
        change: dict[str, Any] = {"changeType": "A" if old is None else "D" if new is None else "M"}
        if old is not None:
            change["beforeBlob"] = {"blobId": old.sha, "path": path, "mode": f"{old.mode:o}"}
        if new is not None:
            change["afterBlob"] = {"blobId": new.sha, "path": path, "mode": f"{new.mode:o}"}
        changes.append(change)
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 100)
    page: dict[str, Any] = {"differences": changes[start : start + size]}
    if start + size < len(changes):
        page["NextToken"] = str(start + size)
    return page


@on_reset
def _reset(ctx: Context) -> None:
    ctx.state.pop(STATE_KEY, None)
