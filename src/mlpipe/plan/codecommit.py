"""Planners for the CodeCommit repository and for committing the project's files to it (`--push`)."""

from __future__ import annotations

from collections.abc import Mapping
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


def plan_repository(name: str, description: str, clients: Clients, names: Names) -> Change:
    current = repository(clients, name)
    if current is None:
        return Change(
            "create",
            "codecommit-repository",
            name,
            steps=(
                Call(
                    "codecommit",
                    "create_repository",
                    {"repositoryName": name, "repositoryDescription": description, "tags": names.tags},
                ),
            ),
        )
    tags = clients.client("codecommit").list_tags_for_resource(resourceArn=current["Arn"]).get("tags")
    require_owned(names, "CodeCommit repository", name, tag_dict(tags))
    if (current.get("repositoryDescription") or "") != description:
        call = Call(
            "codecommit",
            "update_repository_description",
            {"repositoryName": name, "repositoryDescription": description},
        )
        return Change("update", "codecommit-repository", name, "description changed", (call,))
    return Change("noop", "codecommit-repository", name)


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


def plan_commit(name: str, branch: str, files: Mapping[str, bytes], clients: Clients, message: str) -> Change:
    """One commit that makes `files` (path -> content) current on `branch`, or a no-op when they are."""
    head = branch_head(clients, name, branch) if repository(clients, name) else None
    changed = sorted(
        path for path, content in files.items() if head is None or _committed(clients, name, head, path) != content
    )
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


def plan_repository_deletion(name: str, clients: Clients, names: Names) -> Change:
    current = repository(clients, name)
    if current is None:
        return Change("noop", "codecommit-repository", name, "absent")
    tags = clients.client("codecommit").list_tags_for_resource(resourceArn=current["Arn"]).get("tags")
    require_owned(names, "CodeCommit repository", name, tag_dict(tags))
    call = Call("codecommit", "delete_repository", {"repositoryName": name})
    return Change("delete", "codecommit-repository", name, "and its commits", (call,))
