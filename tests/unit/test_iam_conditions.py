"""IAM condition operators against the IAM User Guide's "Condition operators" and multivalued-key examples."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.local.iam.evaluator import evaluate

ROLE = "arn:aws:iam::123456789012:role/service-role/app-role"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def cond(operator: str, key: str, values: Any) -> list[dict[str, Any]]:
    return [policy(allow("*", "*", Condition={operator: {key: values}}))]


# (name, operator, key, policy values, context, expected)
CONDITION_CASES: list[tuple[str, str, str, Any, dict[str, Any], bool]] = [
    (
        "StringEquals hit",
        "StringEquals",
        "aws:PrincipalTag/job",
        "iamuser-admin",
        {"aws:PrincipalTag/job": "iamuser-admin"},
        True,
    ),
    (
        "StringEquals case-sensitive",
        "StringEquals",
        "aws:PrincipalTag/job",
        "IAMUSER-ADMIN",
        {"aws:PrincipalTag/job": "iamuser-admin"},
        False,
    ),
    (
        "StringEquals key case-insensitive",
        "StringEquals",
        "AWS:principaltag/job",
        "x",
        {"aws:PrincipalTag/job": "x"},
        True,
    ),
    (
        "StringEquals any of values",
        "StringEquals",
        "iam:PassedToService",
        ["lambda.amazonaws.com", "sagemaker.amazonaws.com"],
        {"iam:PassedToService": "sagemaker.amazonaws.com"},
        True,
    ),
    ("StringEquals missing key", "StringEquals", "iam:PassedToService", "lambda.amazonaws.com", {}, False),
    (
        "StringEqualsIfExists missing key",
        "StringEqualsIfExists",
        "iam:PassedToService",
        "lambda.amazonaws.com",
        {},
        True,
    ),
    (
        "StringEqualsIfExists other value",
        "StringEqualsIfExists",
        "iam:PassedToService",
        "lambda.amazonaws.com",
        {"iam:PassedToService": "ec2.amazonaws.com"},
        False,
    ),
    (
        "StringNotEquals other",
        "StringNotEquals",
        "aws:SourceAccount",
        "123456789012",
        {"aws:SourceAccount": "999999999999"},
        True,
    ),
    (
        "StringNotEquals same",
        "StringNotEquals",
        "aws:SourceAccount",
        "123456789012",
        {"aws:SourceAccount": "123456789012"},
        False,
    ),
    ("StringNotEquals missing key is true", "StringNotEquals", "aws:SourceAccount", "123456789012", {}, True),
    (
        "StringEqualsIgnoreCase",
        "StringEqualsIgnoreCase",
        "aws:PrincipalTag/team",
        "Blue",
        {"aws:PrincipalTag/team": "BLUE"},
        True,
    ),
    ("StringLike wildcard", "StringLike", "s3:prefix", ["home/*", "public/?"], {"s3:prefix": "home/alice"}, True),
    ("StringLike ? one char", "StringLike", "s3:prefix", "public/?", {"s3:prefix": "public/ab"}, False),
    ("StringNotLike", "StringNotLike", "s3:prefix", "home/*", {"s3:prefix": "tmp/x"}, True),
    (
        "ArnLike per part",
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:sqs:*:123456789012:app-*",
        {"aws:SourceArn": "arn:aws:sqs:us-east-1:123456789012:app-dlq"},
        True,
    ),
    (
        "ArnLike star stays in its part",
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:sqs:*:app-dlq",
        {"aws:SourceArn": "arn:aws:sqs:us-east-1:123456789012:app-dlq"},
        False,
    ),
    (
        "ArnEquals wildcard like ArnLike",
        "ArnEquals",
        "lambda:FunctionArn",
        "arn:aws:lambda:us-east-1:123456789012:function:app-*",
        {"lambda:FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:app-predict"},
        True,
    ),
    (
        "ArnNotLike",
        "ArnNotLike",
        "aws:PrincipalArn",
        "arn:aws:iam::*:role/admin",
        {"aws:PrincipalArn": "arn:aws:iam::1:role/dev"},
        True,
    ),
    ("ArnLike not an arn", "ArnLike", "aws:SourceArn", "arn:aws:sqs:*:*:*", {"aws:SourceArn": "nonsense"}, False),
    ("Bool true", "Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"}, True),
    ("Bool policy bool", "Bool", "aws:SecureTransport", False, {"aws:SecureTransport": "false"}, True),
    ("Bool missing key", "Bool", "aws:SecureTransport", "false", {}, False),
    ("Null true absent", "Null", "aws:TokenIssueTime", "true", {}, True),
    ("Null true present", "Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, False),
    ("Null false present", "Null", "aws:ResourceTag/mlpipe:app", "false", {"aws:ResourceTag/mlpipe:app": "a"}, True),
    ("NumericLessThanEquals", "NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericLessThan over", "NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "11"}, False),
    ("NumericGreaterThan", "NumericGreaterThan", "n", "1.5", {"n": "2"}, True),
    ("Numeric malformed", "NumericEquals", "n", "1", {"n": "one"}, False),
    (
        "DateGreaterThan",
        "DateGreaterThan",
        "aws:CurrentTime",
        "2026-01-01T00:00:00Z",
        {"aws:CurrentTime": "2026-06-01T12:00:00Z"},
        True,
    ),
    ("DateLessThan epoch", "DateLessThan", "aws:EpochTime", "1700000000", {"aws:EpochTime": "1600000000"}, True),
    ("IpAddress in range", "IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.9"}, True),
    ("NotIpAddress", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.1"}, True),
    # Multivalued keys: the IAM User Guide's aws:TagKeys examples.
    (
        "ForAllValues subset",
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        ["mlpipe:app", "mlpipe:stage"],
        {"aws:TagKeys": ["mlpipe:app"]},
        True,
    ),
    (
        "ForAllValues extra key",
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        ["mlpipe:app"],
        {"aws:TagKeys": ["mlpipe:app", "owner"]},
        False,
    ),
    ("ForAllValues missing key is true", "ForAllValues:StringEquals", "aws:TagKeys", ["mlpipe:app"], {}, True),
    (
        "ForAllValues empty list is true",
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        ["mlpipe:app"],
        {"aws:TagKeys": []},
        True,
    ),
    (
        "ForAnyValue one hit",
        "ForAnyValue:StringEquals",
        "aws:TagKeys",
        ["owner"],
        {"aws:TagKeys": ["mlpipe:app", "owner"]},
        True,
    ),
    ("ForAnyValue missing key is false", "ForAnyValue:StringEquals", "aws:TagKeys", ["owner"], {}, False),
    (
        "ForAnyValue StringLike",
        "ForAnyValue:StringLike",
        "aws:TagKeys",
        ["mlpipe:*"],
        {"aws:TagKeys": ["x", "mlpipe:stage"]},
        True,
    ),
    (
        "ForAllValues StringNotEquals",
        "ForAllValues:StringNotEquals",
        "aws:TagKeys",
        ["secret"],
        {"aws:TagKeys": ["a", "b"]},
        True,
    ),
    ("ForAnyValue StringNotEquals", "ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": ["a"]}, False),
    ("unknown operator never matches", "StringSortOf", "k", "v", {"k": "v"}, False),
    (
        "variable in condition value",
        "StringEquals",
        "aws:ResourceTag/owner",
        "${aws:username}",
        {"aws:ResourceTag/owner": "alice", "aws:username": "alice"},
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "operator", "key", "values", "context", "allowed"), CONDITION_CASES, ids=[c[0] for c in CONDITION_CASES]
)
def test_condition_operators(
    name: str, operator: str, key: str, values: Any, context: dict[str, Any], allowed: bool
) -> None:
    decision = evaluate(
        "s3:GetObject", "arn:aws:s3:::b/k", identity_policies=cond(operator, key, values), context=context
    )
    assert decision.allowed is allowed, decision


def test_conditions_are_anded_across_operators_and_keys() -> None:
    statement = allow(
        "iam:PassRole",
        ROLE,
        Condition={
            "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com", "aws:RequestedRegion": "us-east-1"},
            "Bool": {"aws:SecureTransport": "true"},
        },
    )
    full = {
        "iam:PassedToService": "lambda.amazonaws.com",
        "aws:RequestedRegion": "us-east-1",
        "aws:SecureTransport": "true",
    }
    assert evaluate("iam:PassRole", ROLE, identity_policies=[policy(statement)], context=full).allowed
    for key in full:
        partial = {k: v for k, v in full.items() if k != key}
        assert not evaluate("iam:PassRole", ROLE, identity_policies=[policy(statement)], context=partial).allowed, key
