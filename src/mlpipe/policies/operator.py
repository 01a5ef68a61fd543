"""`mlpipe iam-policy`: the least-privilege IAM policies for the people (or CI users) running mlpipe,
in two parts:

- ADMIN (`ADMIN_COMMANDS`), run once by an administrator: bootstrap-pipeline (the CI/CD, every
  stage's roles and the permissions boundaries they carry), destroy --pipeline, and a stage's
  boundary and trust policies (operator_cicd.py);
- OPERATOR (`OPERATOR_COMMANDS`), the day-to-day work: train, deploy, send, tail, status, redrive,
  destroy (operator_commands.py, operator_status.py). An operator creates and writes only this
  stage's roles, and only with its boundary (operator_iam.py), so it cannot give itself more than
  the boundary allows.

Every resource is an ARN of this app and stage (names.py, arns.py). `"*"` only for the actions AWS
gives no resource-level permission (`UNSCOPED_READS`: list/describe calls), and for
lambda:CreateEventSourceMapping under a `lambda:FunctionArn` condition, as in the build role's policy.

Tagging permissions come with every create: AWS checks xx:TagResource (or TagQueue, TagRole,
AddTags...) when a create call carries tags, and mlpipe tags everything it creates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlpipe.config import Config
from mlpipe.errors import UsageError
from mlpipe.names import Names
from mlpipe.policies.operator_cicd import (
    bootstrap_statements,
    boundary_statements,
    destroy_pipeline_statements,
    pipeline_roles_statements,
)
from mlpipe.policies.operator_commands import (
    deploy_statements,
    redrive_statements,
    send_statements,
    tail_statements,
    train_statements,
)
from mlpipe.policies.operator_status import destroy_statements, status_statements
from mlpipe.policies.statements import Statement, document, statement

OPERATOR_COMMANDS = ("train", "deploy", "send", "tail", "status", "redrive", "destroy")
ADMIN_COMMANDS = ("boundary", "pipeline-roles", "bootstrap-pipeline", "destroy-pipeline")
COMMANDS = (*OPERATOR_COMMANDS, *ADMIN_COMMANDS)
AUDIENCES = {"admin": ADMIN_COMMANDS, "operator": OPERATOR_COMMANDS}
PURPOSE = {
    "admin": "ADMIN part: run once by an administrator (bootstrap-pipeline: the CI/CD and, pipeline-roles, "
    "every stage's roles and their permissions boundaries; a stage's boundary and trust policies; "
    "destroy --pipeline)",
    "operator": "OPERATOR part: day-to-day work (train, deploy, send, tail, status, redrive, destroy); "
    "roles only with this stage's permissions boundary",
}
# What each command lists or describes where AWS has no resource-level permission (all reads).
# sts:GetCallerIdentity needs no permission; it is listed so the policy says what is called.
UNSCOPED_BY_COMMAND = {
    "train": (
        "logs:DescribeLogGroups",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "sts:GetCallerIdentity",
    ),
    "deploy": ("lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "sqs:ListQueues", "sts:GetCallerIdentity"),
    "send": ("sts:GetCallerIdentity",),
    "tail": ("sts:GetCallerIdentity",),
    "status": (
        "lambda:ListEventSourceMappings",
        "logs:DescribeLogGroups",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "sts:GetCallerIdentity",
    ),
    "redrive": ("sts:GetCallerIdentity",),
    "destroy": (
        "lambda:ListEventSourceMappings",
        "logs:DescribeLogGroups",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "sts:GetCallerIdentity",
    ),
    "bootstrap-pipeline": ("logs:DescribeLogGroups", "sts:GetCallerIdentity"),
    "destroy-pipeline": ("sts:GetCallerIdentity",),
    "boundary": ("sts:GetCallerIdentity",),
    "pipeline-roles": ("sts:GetCallerIdentity",),
}
UNSCOPED_READS = frozenset(action for actions in UNSCOPED_BY_COMMAND.values() for action in actions)
# AWS's limit for a customer managed policy (characters, whitespace excluded).
MANAGED_POLICY_LIMIT = 6_144

BUILDERS: dict[str, Callable[[Config, Names], list[Statement]]] = {
    "train": train_statements,
    "deploy": deploy_statements,
    "send": send_statements,
    "tail": tail_statements,
    "status": status_statements,
    "redrive": redrive_statements,
    "destroy": destroy_statements,
    "bootstrap-pipeline": bootstrap_statements,
    "destroy-pipeline": destroy_pipeline_statements,
    "boundary": boundary_statements,
    "pipeline-roles": pipeline_roles_statements,
}


@dataclass
class OperatorPolicy:
    audience: str  # "admin" or "operator"
    app: str
    stage: str
    account: str
    region: str
    commands: tuple[str, ...]
    document: dict[str, Any]

    @property
    def size(self) -> int:
        """Characters IAM counts against its size limit (whitespace excluded)."""
        return len(json.dumps(self.document, separators=(",", ":")))

    def to_dict(self) -> dict[str, Any]:
        return self.document


def parse_part(part: str, commands: str | None) -> tuple[str, ...]:
    """--for admin|operator|both and --commands -> the commands wanted (all of one part's by default)."""
    if part not in ("admin", "operator", "both"):
        raise UsageError(f"--for {part!r}: choose admin, operator or both", hint="e.g. --for operator")
    allowed = COMMANDS if part == "both" else AUDIENCES[part]
    wanted = parse_commands(commands)
    if commands is None or commands.strip() == "all":
        return allowed
    outside = [c for c in wanted if c not in allowed]
    if outside:
        raise UsageError(
            f"--commands {', '.join(outside)}: not in the {part} part",
            hint=f"the {part} part has {', '.join(allowed)}; or drop --for",
        )
    return wanted


def parse_commands(text: str | None) -> tuple[str, ...]:
    """'deploy,send' -> ('deploy', 'send'); None or 'all' -> every command."""
    if text is None or text.strip() == "all":
        return COMMANDS
    wanted = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [c for c in wanted if c not in BUILDERS]
    if unknown or not wanted:
        raise UsageError(
            f"--commands: {', '.join(unknown) or text!r} is not an mlpipe command with AWS permissions",
            hint=f"choose from {', '.join(COMMANDS)} (comma-separated), or all",
        )
    return wanted


def audience_of(command: str) -> str:
    return "admin" if command in ADMIN_COMMANDS else "operator"


def operator_policy(config: Config, names: Names, commands: Sequence[str] = OPERATOR_COMMANDS) -> OperatorPolicy:
    """The policy for `commands`, which must all belong to one part (admin or operator)."""
    audiences = {audience_of(c) for c in commands}
    if len(audiences) != 1:
        raise ValueError(f"commands of one part only, not {sorted(audiences)}: {list(commands)}")
    statements: list[Statement] = []
    for command in commands:
        statements += BUILDERS[command](config, names)
        statements.append(statement("ReadOnlyLookups", list(UNSCOPED_BY_COMMAND[command]), "*"))
    merged = document(_merged(statements))
    return OperatorPolicy(audiences.pop(), names.app, names.stage, names.account, names.region, tuple(commands), merged)


def policies_for(config: Config, names: Names, commands: Sequence[str] = COMMANDS) -> list[OperatorPolicy]:
    """One policy per part that `commands` touch, admin first."""
    return [
        operator_policy(config, names, wanted)
        for part in AUDIENCES.values()
        if (wanted := tuple(c for c in part if c in commands))
    ]


def _merged(statements: list[Statement]) -> list[Statement]:
    """One statement per (resources, condition): shorter, and Sids stay unique."""
    merged: dict[str, Statement] = {}
    for one in statements:
        if one["Resource"] == "*" and "Condition" not in one and one["Effect"] == "Allow":
            one = {**one, "Sid": "ReadOnlyLookups"}  # one statement for every unscoped read
        key = json.dumps([one["Effect"], one["Resource"], one.get("Condition")], sort_keys=True)
        if key in merged:
            into = merged[key]
            into["Action"] = sorted(set(into["Action"]) | set(one["Action"]))
            if one["Sid"] not in into["Sid"]:
                into["Sid"] = f"{into['Sid']}And{one['Sid']}"  # say every purpose it serves
        else:
            merged[key] = dict(one)
    return list(merged.values())


def split_commands(
    config: Config, names: Names, limit: int = MANAGED_POLICY_LIMIT, commands: Sequence[str] = OPERATOR_COMMANDS
) -> list[tuple[str, ...]]:
    """Groups of `commands` (of one part) whose policies each fit in one managed policy (for --commands)."""
    groups: list[tuple[str, ...]] = []
    for command in commands:
        if groups and operator_policy(config, names, (*groups[-1], command)).size <= limit:
            groups[-1] = (*groups[-1], command)
        else:
            groups.append((command,))
    return groups
