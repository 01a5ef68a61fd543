"""The IAM evaluator against the examples of AWS's IAM User Guide (policy evaluation logic, condition
operators, NotAction/NotResource, permissions boundaries, resource-based policies), table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipe.local.iam.evaluator import Decision, evaluate

ACCT = "123456789012"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/app-role/fn"
ROLE = f"arn:aws:iam::{ACCT}:role/service-role/app-role"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# The "Carlos" example of "Policy evaluation for requests within a single account".
CARLOS = policy(
    {"Sid": "AllowS3ListRead", **allow(["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"], "arn:aws:s3:::*")},
    {"Sid": "AllowS3Self", **allow("s3:*", "arn:aws:s3:::carlossalazar/*")},
    {"Sid": "DenyS3Logs", **deny("s3:*", "arn:aws:s3:::*log*")},
)

# (name, action, resource, identity policies, context, expected allowed, expected reason fragment)
IDENTITY_CASES: list[tuple[str, str, str, list[dict[str, Any]], dict[str, Any], bool, str]] = [
    ("carlos reads any bucket", "s3:GetObject", "arn:aws:s3:::other/x", [CARLOS], {}, True, "identity"),
    ("carlos writes his bucket", "s3:PutObject", "arn:aws:s3:::carlossalazar/a", [CARLOS], {}, True, "identity"),
    (
        "carlos denied on logs",
        "s3:PutObject",
        "arn:aws:s3:::carlossalazar-logs/a",
        [CARLOS],
        {},
        False,
        "explicit deny",
    ),
    ("deny beats allow on read", "s3:GetObject", "arn:aws:s3:::app-logs/a", [CARLOS], {}, False, "explicit deny"),
    ("implicit deny", "s3:DeleteBucket", "arn:aws:s3:::other", [CARLOS], {}, False, "no identity-based policy"),
    ("no policies at all", "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", [], {}, False, "no identity-based"),
    ("action case-insensitive", "s3:GetObject", "arn:aws:s3:::b/k", [policy(allow("S3:getobject"))], {}, True, ""),
    ("action wildcard", "sqs:GetQueueUrl", "q", [policy(allow("sqs:Get*"))], {}, True, ""),
    ("action ? wildcard", "sqs:GetQueueUrl", "q", [policy(allow("sqs:GetQueue???"))], {}, True, ""),
    ("action other service", "sns:Publish", "t", [policy(allow("sqs:*"))], {}, False, "no identity"),
    (
        "resource case-sensitive",
        "s3:GetObject",
        "arn:aws:s3:::B/k",
        [policy(allow("s3:*", "arn:aws:s3:::b/*"))],
        {},
        False,
        "",
    ),
    ("resource list", "sqs:SendMessage", "arn:q2", [policy(allow("sqs:*", ["arn:q1", "arn:q2"]))], {}, True, ""),
    # NotAction: "Allow everything except IAM" (IAM User Guide, NotAction with Allow).
    (
        "notaction allows others",
        "s3:ListBucket",
        "arn:aws:s3:::b",
        [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
        {},
        True,
        "",
    ),
    (
        "notaction excludes iam",
        "iam:CreateUser",
        "arn:aws:iam::1:user/x",
        [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
        {},
        False,
        "no identity",
    ),
    # NotResource: "Allow s3:* except the payroll folder".
    (
        "notresource allows others",
        "s3:GetObject",
        "arn:aws:s3:::HRBucket/Other",
        [policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::HRBucket/Payroll*"})],
        {},
        True,
        "",
    ),
    (
        "notresource excludes payroll",
        "s3:GetObject",
        "arn:aws:s3:::HRBucket/Payroll/x",
        [policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::HRBucket/Payroll*"})],
        {},
        False,
        "",
    ),
    # Deny with NotAction + BoolIfExists: "deny everything but IAM self-service without MFA".
    (
        "mfa deny applies without key",
        "ec2:RunInstances",
        "*",
        [
            policy(
                allow("*"),
                {
                    "Effect": "Deny",
                    "NotAction": "iam:*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                },
            )
        ],
        {},
        False,
        "explicit deny",
    ),
    (
        "mfa deny lifted with mfa",
        "ec2:RunInstances",
        "*",
        [
            policy(
                allow("*"),
                {
                    "Effect": "Deny",
                    "NotAction": "iam:*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                },
            )
        ],
        {"aws:MultiFactorAuthPresent": "true"},
        True,
        "",
    ),
    (
        "mfa deny skips iam",
        "iam:ChangePassword",
        "*",
        [
            policy(
                allow("*"),
                {
                    "Effect": "Deny",
                    "NotAction": "iam:*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                },
            )
        ],
        {},
        True,
        "",
    ),
    # Policy variables: "each user their own home folder".
    (
        "variable own folder",
        "s3:PutObject",
        "arn:aws:s3:::home/alice/f",
        [policy(allow("s3:PutObject", "arn:aws:s3:::home/${aws:username}/*"))],
        {"aws:username": "alice"},
        True,
        "",
    ),
    (
        "variable other folder",
        "s3:PutObject",
        "arn:aws:s3:::home/bob/f",
        [policy(allow("s3:PutObject", "arn:aws:s3:::home/${aws:username}/*"))],
        {"aws:username": "alice"},
        False,
        "",
    ),
    (
        "variable missing",
        "s3:PutObject",
        "arn:aws:s3:::home//f",
        [policy(allow("s3:PutObject", "arn:aws:s3:::home/${aws:username}/*"))],
        {},
        False,
        "",
    ),
    (
        "variable literal star",
        "s3:PutObject",
        "arn:aws:s3:::b/a*",
        [policy(allow("s3:PutObject", "arn:aws:s3:::b/a${*}"))],
        {},
        True,
        "",
    ),
    (
        "variable literal star no wildcard",
        "s3:PutObject",
        "arn:aws:s3:::b/ab",
        [policy(allow("s3:PutObject", "arn:aws:s3:::b/a${*}"))],
        {},
        False,
        "",
    ),
    ("statement as a single object", "sqs:SendMessage", "q", [{"Statement": allow("sqs:SendMessage")}], {}, True, ""),
]


@pytest.mark.parametrize(
    ("name", "action", "resource", "policies", "context", "allowed", "reason"),
    IDENTITY_CASES,
    ids=[c[0] for c in IDENTITY_CASES],
)
def test_identity_policies(
    name: str,
    action: str,
    resource: str,
    policies: list[dict[str, Any]],
    context: dict[str, Any],
    allowed: bool,
    reason: str,
) -> None:
    decision = evaluate(action, resource, identity_policies=policies, principal_arn=SESSION, context=context)
    assert decision.allowed is allowed, decision
    assert reason in decision.reason


def test_permissions_boundary_intersects() -> None:
    # IAM User Guide, "Permissions boundaries": identity allows iam:CreateUser, the boundary only s3/cloudwatch/ec2.
    identity = [policy(allow("iam:CreateUser"), allow("s3:*"))]
    boundary = policy(allow(["s3:*", "cloudwatch:*", "ec2:*"]))
    denied = evaluate("iam:CreateUser", f"arn:aws:iam::{ACCT}:user/x", identity_policies=identity, boundary=boundary)
    assert denied == Decision(False, "because no permissions boundary allows the iam:CreateUser action")
    assert evaluate("s3:GetObject", "arn:aws:s3:::b/k", identity_policies=identity, boundary=boundary).allowed
    # The boundary grants nothing by itself.
    assert not evaluate("ec2:RunInstances", "*", identity_policies=identity, boundary=boundary).allowed


def test_explicit_deny_in_boundary_and_sid() -> None:
    boundary = policy(allow("*"), {"Sid": "NoUsers", **deny("iam:CreateUser")})
    decision = evaluate("iam:CreateUser", "u", identity_policies=[policy(allow("*"))], boundary=boundary)
    assert decision == Decision(False, "with an explicit deny in a permissions boundary", "NoUsers")


QUEUE = f"arn:aws:sqs:us-east-1:{ACCT}:app-dlq"


@pytest.mark.parametrize(
    ("name", "principal", "identity", "boundary", "allowed"),
    [
        ("role arn grants without identity allow", {"AWS": ROLE}, [], None, True),
        ("session arn grants", {"AWS": SESSION}, [], None, True),
        ("star grants", "*", [], None, True),
        ("account root delegates to iam", {"AWS": f"arn:aws:iam::{ACCT}:root"}, [], None, False),
        ("account id delegates to iam", {"AWS": ACCT}, [], None, False),
        ("account root plus identity allow", {"AWS": ACCT}, [policy(allow("sqs:SendMessage", QUEUE))], None, True),
        ("other role does not grant", {"AWS": f"arn:aws:iam::{ACCT}:role/other"}, [], None, False),
        ("role arn grant limited by boundary", {"AWS": ROLE}, [], policy(allow("s3:*")), False),
        ("session arn grant not limited by boundary", {"AWS": SESSION}, [], policy(allow("s3:*")), True),
        ("service principal is not this caller", {"Service": "sns.amazonaws.com"}, [], None, False),
    ],
)
def test_resource_policy_same_account(
    name: str, principal: Any, identity: list[dict[str, Any]], boundary: dict[str, Any] | None, allowed: bool
) -> None:
    queue_policy = policy({"Effect": "Allow", "Principal": principal, "Action": "sqs:SendMessage", "Resource": QUEUE})
    decision = evaluate(
        "sqs:SendMessage",
        QUEUE,
        identity_policies=identity,
        boundary=boundary,
        resource_policy=queue_policy,
        principal_arn=SESSION,
    )
    assert decision.allowed is allowed, decision


def test_resource_policy_tls_deny_wins() -> None:
    # mlpipe's TLS-only bucket policy: Deny s3:* to "*" when aws:SecureTransport is false.
    bucket_policy = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    identity = [policy(allow("s3:GetObject", "arn:aws:s3:::b/*"))]
    insecure = evaluate(
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        identity_policies=identity,
        resource_policy=bucket_policy,
        principal_arn=SESSION,
        context={"aws:SecureTransport": "false"},
    )
    assert insecure == Decision(False, "with an explicit deny in a resource-based policy")
    secure = evaluate(
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        identity_policies=identity,
        resource_policy=bucket_policy,
        principal_arn=SESSION,
        context={"aws:SecureTransport": "true"},
    )
    assert secure.allowed


def test_not_principal_deny() -> None:
    deny_others = policy({"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "sqs:*", "Resource": QUEUE})
    identity = [policy(allow("sqs:*"))]
    other = f"arn:aws:sts::{ACCT}:assumed-role/other/s"
    assert not evaluate(
        "sqs:SendMessage", QUEUE, identity_policies=identity, resource_policy=deny_others, principal_arn=other
    ).allowed
    assert evaluate(
        "sqs:SendMessage", QUEUE, identity_policies=identity, resource_policy=deny_others, principal_arn=SESSION
    ).allowed


def test_principal_arn_is_a_context_key_and_message_has_aws_shape() -> None:
    statement = deny(
        "*", "*", Condition={"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:sts::{ACCT}:assumed-role/app-role/*"}}
    )
    decision = evaluate(
        "iam:CreateUser",
        "arn:aws:iam::1:user/x",
        identity_policies=[policy(allow("*"), statement)],
        principal_arn=f"arn:aws:sts::{ACCT}:assumed-role/x/y",
    )
    assert not decision.allowed
    assert (
        decision.message("P", "iam:CreateUser", "R")
        == "User: P is not authorized to perform: iam:CreateUser on resource: R"
        " with an explicit deny in an identity-based policy"
    )
    assert evaluate(
        "iam:CreateUser", "u", identity_policies=[policy(allow("*"), statement)], principal_arn=SESSION
    ).allowed


def test_statement_without_action_or_resource_matches_nothing() -> None:
    assert not evaluate("s3:GetObject", "r", identity_policies=[policy({"Effect": "Allow", "Resource": "*"})]).allowed
    assert not evaluate("s3:GetObject", "r", identity_policies=[policy({"Effect": "Allow", "Action": "*"})]).allowed
