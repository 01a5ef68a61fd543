"""Planners for the CodeCommit repository and for committing the project's files to it (`--push`).

`observe` / `observe_branch` do every read and return plain snapshots; the `diff*` functions decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipe.aws.calls import read
from mlpipe.aws.clients import Clients
from mlpipe.errors import UsageError
from mlpipe.names import Names
from mlpipe.plan.common import require_owned, tag_dict
from mlpipe.plan.model import Call, Change

NO_REPOSITORY = ("RepositoryDoesNotExistException",)
NO_BRANCH = ("BranchDoesNotExistException",)
NO_FILE = ("FileDoesNotExistException",)
COMMIT_AUTHOR = "mlpipe"


def _get(clients: Clients, operation: str, absent: tuple[str, ...], **params: Any) -> dict[str, Any] | None:
    found: dict[str, Any] | None = read(
        clients, getattr(clients.client("codecommit"), operation), missing=absent, **params
    )
    return found


def repository(clients: Clients, name: str) -> dict[str, Any] | None:
    found = _get(clients, "get_repository", NO_REPOSITORY, repositoryName=name)
    return found["repositoryMetadata"] if found else None


@dataclass(frozen=True)
class Repository:
    """What CodeCommit reports about a repository: its description and tags."""

    description: str
    tags: Mapping[str, str]


def observe(clients: Clients, name: str) -> Repository | None:
    current = repository(clients, name)
    if current is None:
        return None
    cc = clients.client("codecommit")
    tags = (read(clients, cc.list_tags_for_resource, resourceArn=current["Arn"]) or {}).get("tags")
    return Repository(current.get("repositoryDescription") or "", tag_dict(tags))


def diff(name: str, description: str, observed: Repository | None, names: Names) -> Change:
    if observed is None:
        create = Call(
            "codecommit",
            "create_repository",
            {"repositoryName": name, "repositoryDescription": description, "tags": names.tags},
        )
        return Change("create", "codecommit-repository", name, steps=(create,))
    require_owned(names, "CodeCommit repository", name, observed.tags)
    if observed.description != description:
        call = Call(
            "codecommit",
            "update_repository_description",
            {"repositoryName": name, "repositoryDescription": description},
        )
        return Change("update", "codecommit-repository", name, "description changed", (call,))
    return Change("noop", "codecommit-repository", name)


def plan_repository(name: str, description: str, clients: Clients, names: Names) -> Change:
    return diff(name, description, observe(clients, name), names)


def branch_head(clients: Clients, name: str, branch: str) -> str | None:
    """The commit id at the tip of `branch`, or None when the repository or branch does not exist."""
    found = _get(clients, "get_branch", NO_REPOSITORY + NO_BRANCH, repositoryName=name, branchName=branch)
    return found["branch"]["commitId"] if found else None


def require_branch(clients: Clients, name: str, branch: str) -> None:
    """A repository with commits must have the tracked branch: else the pipeline could never start."""
    if repository(clients, name) is None:
        return
    found = _get(clients, "list_branches", NO_REPOSITORY, repositoryName=name) or {}
    branches = sorted(found.get("branches") or [])
    if branches and branch not in branches:
        raise UsageError(
            f"pipeline.branch '{branch}' does not exist in CodeCommit repository '{name}' "
            f"(its branches: {', '.join(branches)})",
            hint="set pipeline.branch in mlpipe.yaml to the branch you push to",
        )


def _committed(clients: Clients, name: str, commit: str, path: str) -> bytes | None:
    found = _get(clients, "get_file", NO_FILE, repositoryName=name, commitSpecifier=commit, filePath=path)
    return bytes(found["fileContent"]) if found else None


@dataclass(frozen=True)
class Branch:
    """The tip of a branch (None: no repository, or no such branch yet) and, at that commit, the
    content of each file mlpipe commits (None: not in the commit)."""

    head: str | None
    committed: Mapping[str, bytes | None] = field(default_factory=dict)


def observe_branch(clients: Clients, name: str, branch: str, paths: Iterable[str]) -> Branch:
    head = branch_head(clients, name, branch) if repository(clients, name) else None
    if head is None:
        return Branch(None)
    return Branch(head, {path: _committed(clients, name, head, path) for path in paths})


def diff_commit(name: str, branch: str, files: Mapping[str, bytes], observed: Branch, message: str) -> Change:
    """One commit that makes `files` (path -> content) current on `branch`, or a no-op when they are."""
    head = observed.head
    changed = sorted(path for path, content in files.items() if head is None or observed.committed.get(path) != content)
    target = f"{name}@{branch}"
    if not changed:
        return Change("noop", "codecommit-commit", target, "files up to date")
    params: dict[str, Any] = {
        "repositoryName": name,
        "branchName": branch,
        "authorName": COMMIT_AUTHOR,
        "commitMessage": message,
        "putFiles": [{"filePath": path, "fileContent": files[path], "fileMode": "NORMAL"} for path in changed],
    }
    if head is not None:
        params["parentCommitId"] = head
    call = Call("codecommit", "create_commit", params)
    if head is None:
        return Change("create", "codecommit-commit", target, ", ".join(changed), (call,))
    return Change("update", "codecommit-commit", target, ", ".join(changed), (call,))


def plan_commit(name: str, branch: str, files: Mapping[str, bytes], clients: Clients, message: str) -> Change:
    return diff_commit(name, branch, files, observe_branch(clients, name, branch, files), message)


def diff_deletion(name: str, observed: Repository | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "codecommit-repository", name, "absent")
    require_owned(names, "CodeCommit repository", name, observed.tags)
    call = Call("codecommit", "delete_repository", {"repositoryName": name})
    return Change("delete", "codecommit-repository", name, "and its commits", (call,))


def plan_repository_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(name, observe(clients, name), names)
