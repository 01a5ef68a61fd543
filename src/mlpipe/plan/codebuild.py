"""Planner for a stage's CodeBuild project: source from CodePipeline, inline buildspec, no privileged mode.

`observe` does every read and returns a plain snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.calls import call
from mlpipe.aws.clients import Clients
from mlpipe.names import Names
from mlpipe.plan.common import normalized, require_owned, tag_dict
from mlpipe.plan.model import Call, Change

# A role just created is not assumable by CodeBuild for a few seconds.
ROLE_NOT_READY = ("InvalidInputException:not authorized",)  # see Call.retry_on
COMPUTE_TYPE = "BUILD_GENERAL1_SMALL"
TIMEOUT_MINUTES = 20


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    description: str
    image: str
    buildspec: str
    service_role_arn: str
    log_group: str
    environment: tuple[tuple[str, str], ...]  # (name, value) plaintext variables


def _project_fields(spec: ProjectSpec) -> dict[str, Any]:
    """The fields CreateProject and UpdateProject share, as mlpipe wants them."""
    return {
        "description": spec.description,
        "source": {"type": "CODEPIPELINE", "buildspec": spec.buildspec},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": spec.image,
            "computeType": COMPUTE_TYPE,
            "privilegedMode": False,  # no Docker-in-Docker: the deploy path needs no container builds
            "imagePullCredentialsType": "CODEBUILD",
            "environmentVariables": [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in spec.environment],
        },
        "serviceRole": spec.service_role_arn,
        "timeoutInMinutes": TIMEOUT_MINUTES,
        "logsConfig": {
            "cloudWatchLogs": {"status": "ENABLED", "groupName": spec.log_group},
            "s3Logs": {"status": "DISABLED"},
        },
    }


def _subset_differs(current: Any, desired: Any) -> bool:
    """True when a key mlpipe sets has another value (AWS adds defaults of its own: ignore those)."""
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            return True
        return any(_subset_differs(current.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(current, list) or len(current) != len(desired):
            return True
        return any(_subset_differs(c, d) for c, d in zip(current, desired, strict=True))
    return normalized(current) != normalized(desired)


def project(clients: Clients, name: str) -> dict[str, Any] | None:
    found = call(clients, clients.client("codebuild").batch_get_projects, names=[name]).get("projects", [])
    return found[0] if found else None


@dataclass(frozen=True)
class Project:
    """What CodeBuild reports about a project (BatchGetProjects) and its tags."""

    fields: Mapping[str, Any]
    tags: Mapping[str, str]


def observe(clients: Clients, name: str) -> Project | None:
    current = project(clients, name)
    return None if current is None else Project(current, tag_dict(current.get("tags")))


def diff(spec: ProjectSpec, observed: Project | None, names: Names) -> Change:
    fields = _project_fields(spec)
    if observed is None:
        call = Call(
            "codebuild",
            "create_project",
            {"name": spec.name, **fields, "tags": [{"key": k, "value": v} for k, v in sorted(names.tags.items())]},
            retry_on=ROLE_NOT_READY,
        )
        return Change("create", "codebuild-project", spec.name, spec.image, (call,))
    require_owned(names, "CodeBuild project", spec.name, observed.tags)
    differ = [key for key, value in fields.items() if _subset_differs(observed.fields.get(key), value)]
    if not differ:
        return Change("noop", "codebuild-project", spec.name)
    call = Call("codebuild", "update_project", {"name": spec.name, **fields})
    return Change("update", "codebuild-project", spec.name, ", ".join(differ) + " changed", (call,))


def plan_project(spec: ProjectSpec, clients: Clients, names: Names) -> Change:
    return diff(spec, observe(clients, spec.name), names)


def diff_deletion(name: str, observed: Project | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "codebuild-project", name, "absent")
    require_owned(names, "CodeBuild project", name, observed.tags)
    return Change("delete", "codebuild-project", name, steps=(Call("codebuild", "delete_project", {"name": name}),))


def plan_project_deletion(name: str, clients: Clients, names: Names) -> Change:
    return diff_deletion(name, observe(clients, name), names)
