"""Trust policies: which AWS service may assume each role mlpipe creates."""

from __future__ import annotations

from typing import Any

from mlpipe.policies.statements import Policy, document


def trust_policy(service: str, account: str) -> Policy:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if service != "lambda.amazonaws.com":
        # Confused-deputy protection: the service may assume the role only on behalf of this account.
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
    return document([statement])
