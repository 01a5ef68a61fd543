"""`mlpipe iam-policy`: the least-privilege IAM policy for the person (or CI user) running mlpipe.

One group of statements per command (operator_commands.py, operator_cicd.py), every resource an ARN
of this app and stage (names.py). `"*"` only for the actions AWS gives no resource-level permission
(`UNSCOPED_READS`: list/describe calls), and for lambda:CreateEventSourceMapping under a
`lambda:FunctionArn` condition, as in the CodeBuild role's policy. Deploy's statements ARE the
CodeBuild role's (build_role.py), for this one stage, plus creating the function's role (which the
pipeline leaves to bootstrap).

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
from mlpipe.policies.operator_cicd import bootstrap_statements
from mlpipe.policies.operator_commands import (
    deploy_statements,
    destroy_statements,
    redrive_statements,
    send_statements,
    status_statements,
    tail_statements,
    train_statements,
)
from mlpipe.policies.statements import Statement, document, statement

COMMANDS = ("train", "deploy", "send", "tail", "status", "redrive", "destroy", "bootstrap-pipeline")
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
    "status": ("lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "sts:GetCallerIdentity"),
    "redrive": ("sts:GetCallerIdentity",),
    "destroy": (
        "lambda:ListEventSourceMappings",
        "logs:DescribeLogGroups",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "sts:GetCallerIdentity",
    ),
    "bootstrap-pipeline": ("logs:DescribeLogGroups", "sts:GetCallerIdentity"),
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
}


@dataclass
class OperatorPolicy:
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


def operator_policy(config: Config, names: Names, commands: Sequence[str] = COMMANDS) -> OperatorPolicy:
    statements: list[Statement] = []
    for command in commands:
        statements += BUILDERS[command](config, names)
        statements.append(statement("ReadOnlyLookups", list(UNSCOPED_BY_COMMAND[command]), "*"))
    merged = document(_merged(statements))
    return OperatorPolicy(names.app, names.stage, names.account, names.region, tuple(commands), merged)


def _merged(statements: list[Statement]) -> list[Statement]:
    """One statement per (resources, condition): shorter, and Sids stay unique."""
    merged: dict[str, Statement] = {}
    for one in statements:
        if one["Resource"] == "*" and "Condition" not in one:
            one = {**one, "Sid": "ReadOnlyLookups"}  # one statement for every unscoped read
        key = json.dumps([one["Resource"], one.get("Condition")], sort_keys=True)
        if key in merged:
            into = merged[key]
            into["Action"] = sorted(set(into["Action"]) | set(one["Action"]))
            if one["Sid"] not in into["Sid"]:
                into["Sid"] = f"{into['Sid']}And{one['Sid']}"  # say every purpose it serves
        else:
            merged[key] = dict(one)
    return list(merged.values())


def split_commands(config: Config, names: Names, limit: int = MANAGED_POLICY_LIMIT) -> list[tuple[str, ...]]:
    """Groups of commands whose policies each fit in one managed policy (for --commands)."""
    groups: list[tuple[str, ...]] = []
    for command in COMMANDS:
        if groups and operator_policy(config, names, (*groups[-1], command)).size <= limit:
            groups[-1] = (*groups[-1], command)
        else:
            groups.append((command,))
    return groups
