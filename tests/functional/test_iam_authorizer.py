"""The IAM authorizer against the embedded AWS's real IAM, SQS and S3 state: a role's inline and
managed policies and boundary, queue and bucket policies, the operator's settings, AWS's error shape."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from local_helpers import client

from mlpipe.local.iam.authorizer import IamSettings, authorize
from mlpipe.local.protocols import ApiRequest
from mlpipe.local.registry import AwsApiError, Context

ACCT = "123456789012"
OPERATOR = f"arn:aws:iam::{ACCT}:user/mlpipe-operator"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/worker/fn"
TRUST = json.dumps(
    {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str, resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.fixture
def ctx(endpoint_url: str) -> Context:
    operator = SimpleNamespace(principal_arn=OPERATOR)
    return Context(
        endpoint_url=endpoint_url, state={"credentials": SimpleNamespace(operator=operator), "iam": IamSettings()}
    )


def call(ctx: Context, principal: str, service: str, operation: str, protocol: str = "json", **params: Any) -> None:
    authorize(
        ctx, SimpleNamespace(principal_arn=principal), ApiRequest(service, operation, protocol, params, "us-east-1")
    )


def denied(
    ctx: Context, principal: str, service: str, operation: str, protocol: str = "json", **params: Any
) -> AwsApiError:
    with pytest.raises(AwsApiError) as caught:
        call(ctx, principal, service, operation, protocol, **params)
    return caught.value


def queue(endpoint_url: str, name: str, policy: str | None = None) -> str:
    attributes = {"Policy": policy} if policy else {}
    return str(client(endpoint_url, "sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def test_role_policies_decide_and_a_change_applies_at_once(endpoint_url: str, ctx: Context) -> None:
    iam = client(endpoint_url, "iam")
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=TRUST)
    mine, other = queue(endpoint_url, "mine"), queue(endpoint_url, "other")
    iam.put_role_policy(
        RoleName="worker",
        PolicyName="p",
        PolicyDocument=doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCT}:mine")),
    )
    call(ctx, SESSION, "sqs", "SendMessageBatch", QueueUrl=mine, Entries=[])
    error = denied(ctx, SESSION, "sqs", "SendMessage", QueueUrl=other, MessageBody="x")
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == (
        f"User: {SESSION} is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:{ACCT}:other"
        " because no identity-based policy allows the sqs:SendMessage action"
    )
    iam.put_role_policy(
        RoleName="worker", PolicyName="p", PolicyDocument=doc({"Effect": "Deny", "Action": "sqs:*", "Resource": "*"})
    )
    assert "explicit deny" in denied(ctx, SESSION, "sqs", "SendMessage", QueueUrl=mine, MessageBody="x").message


def test_managed_policies_and_the_boundary(endpoint_url: str, ctx: Context) -> None:
    iam = client(endpoint_url, "iam")
    wide = iam.create_policy(PolicyName="wide", PolicyDocument=doc(allow("iam:*", "*"), allow("sqs:*", "*")))["Policy"][
        "Arn"
    ]
    boundary = iam.create_policy(PolicyName="cap", PolicyDocument=doc(allow("sqs:*", "*")))["Policy"]["Arn"]
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary)
    iam.attach_role_policy(RoleName="worker", PolicyArn=wide)
    call(ctx, SESSION, "sqs", "ListQueues")
    error = denied(ctx, SESSION, "iam", "CreateUser", "query", UserName="mallory")
    assert error.code == "AccessDenied"
    assert error.message.endswith(
        f"on resource: arn:aws:iam::{ACCT}:user/mallory"
        " because no permissions boundary allows the iam:CreateUser action"
    )


def test_queue_policy_grants_the_role_and_tls_deny_passes_on_loopback(endpoint_url: str, ctx: Context) -> None:
    client(endpoint_url, "iam").create_role(RoleName="worker", AssumeRolePolicyDocument=TRUST)
    arn = f"arn:aws:sqs:us-east-1:{ACCT}:shared"
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/worker"},
        "Action": "sqs:SendMessage",
        "Resource": arn,
    }
    tls = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    url = queue(endpoint_url, "shared", doc(grant, tls))
    call(ctx, SESSION, "sqs", "SendMessage", QueueUrl=url, MessageBody="x")
    assert denied(ctx, SESSION, "sqs", "ReceiveMessage", QueueUrl=url).code == "AccessDenied"


def test_bucket_policy_explicit_deny_wins_over_the_role(endpoint_url: str, ctx: Context) -> None:
    iam = client(endpoint_url, "iam")
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="worker", PolicyName="p", PolicyDocument=doc(allow("s3:*", "*")))
    s3 = client(endpoint_url, "s3")
    s3.create_bucket(Bucket="models")
    s3.put_bucket_policy(
        Bucket="models",
        Policy=doc(
            {
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/worker"},
                "Action": "s3:DeleteObject",
                "Resource": "arn:aws:s3:::models/*",
            }
        ),
    )
    call(ctx, SESSION, "s3", "GetObject", "rest-xml", Bucket="models", Key="m.tar.gz")
    error = denied(ctx, SESSION, "s3", "DeleteObject", "rest-xml", Bucket="models", Key="m.tar.gz")
    assert error.message.endswith("with an explicit deny in a resource-based policy")


def test_operator_full_or_policy_root_and_unmodelled_operations(endpoint_url: str, ctx: Context) -> None:
    call(ctx, OPERATOR, "iam", "CreateUser", "query", UserName="x")
    call(ctx, OPERATOR, "ec2", "RunInstances", "query")  # not modelled: full access only
    call(ctx, f"arn:aws:iam::{ACCT}:root", "iam", "CreateUser", "query", UserName="x")
    ctx.state["iam"] = IamSettings(operator_policy=json.loads(doc(allow("sqs:*", "*"))))
    call(ctx, OPERATOR, "sqs", "ListQueues")
    assert denied(ctx, OPERATOR, "iam", "CreateUser", "query", UserName="x").message.startswith(f"User: {OPERATOR} ")
    assert "does not model IAM" in denied(ctx, OPERATOR, "ec2", "RunInstances", "query").message
    call(ctx, OPERATOR, "sts", "GetCallerIdentity", "query")  # needs no permission at all
    ctx.state["iam"] = IamSettings(enabled=False, operator_policy=json.loads(doc()))
    call(ctx, OPERATOR, "iam", "CreateUser", "query", UserName="x")


def test_error_shapes_per_protocol(endpoint_url: str, ctx: Context) -> None:
    error = denied(ctx, SESSION, "lambda", "Invoke", "rest-json", FunctionName="f")  # the role does not exist
    assert (error.code, error.status) == ("AccessDeniedException", 403)
    assert (
        denied(ctx, SESSION, "logs", "PutLogEvents", logGroupName="g", logStreamName="s").code
        == "AccessDeniedException"
    )
    assert (
        denied(ctx, SESSION, "sns", "Publish", "query", TopicArn="arn:aws:sns:us-east-1:1:t").code
        == "AuthorizationError"
    )
    assert denied(ctx, SESSION, "s3", "ListBuckets", "rest-xml").code == "AccessDenied"


def test_query_tags_are_request_tags(endpoint_url: str, ctx: Context) -> None:
    iam = client(endpoint_url, "iam")
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=TRUST)
    only_tagged = {
        "Effect": "Allow",
        "Action": ["iam:CreateRole", "iam:TagRole"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "ml"}},
    }
    iam.put_role_policy(RoleName="worker", PolicyName="p", PolicyDocument=doc(only_tagged))
    call(
        ctx,
        SESSION,
        "iam",
        "CreateRole",
        "query",
        RoleName="r",
        **{"Tags.member.1.Key": "team", "Tags.member.1.Value": "ml"},
    )
    denied(
        ctx,
        SESSION,
        "iam",
        "CreateRole",
        "query",
        RoleName="r",
        **{"Tags.member.1.Key": "team", "Tags.member.1.Value": "ops"},
    )


def test_mapping_tagging_is_scoped_by_the_mapping_tags_and_the_request_tags(endpoint_url: str, ctx: Context) -> None:
    """mlpipe's build role may tag a mapping (ARN: a UUID only) only with its own app/stage's tags and
    only when the mapping is untagged or already its own: aws:RequestTag and aws:ResourceTag decide."""
    from local_helpers import create_function, handler_zip

    from mlpipe.names import Names
    from mlpipe.policies.arns import tagged_for

    names = Names(app="house", stage="dev", region="us-east-1", account=ACCT)
    create_function(endpoint_url, "fn", {}, 30, handler_zip())
    lam, sqs = client(endpoint_url, "lambda"), client(endpoint_url, "sqs")

    def mapping(tags: dict[str, str]) -> str:  # one queue each: AWS allows one mapping per queue and function
        url = queue(endpoint_url, f"q{len(lam.list_event_source_mappings()['EventSourceMappings'])}")
        source = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=source, Enabled=False, Tags=tags)
        return str(created["EventSourceMappingArn"])

    house = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
    own, foreign, untagged = mapping(house), mapping({"mlpipe:app": "shop", "mlpipe:stage": "dev"}), mapping({})
    client(endpoint_url, "iam").create_role(RoleName="worker", AssumeRolePolicyDocument=TRUST)
    statement = {
        "Effect": "Allow",
        "Action": "lambda:TagResource",
        "Resource": f"arn:aws:lambda:us-east-1:{ACCT}:event-source-mapping:*",
        "Condition": tagged_for(names),
    }
    client(endpoint_url, "iam").put_role_policy(RoleName="worker", PolicyName="p", PolicyDocument=doc(statement))
    call(ctx, SESSION, "lambda", "TagResource", Resource=own, Tags=house)
    call(ctx, SESSION, "lambda", "TagResource", Resource=untagged, Tags=house)
    error = denied(ctx, SESSION, "lambda", "TagResource", Resource=foreign, Tags=house)
    assert (error.code, error.status) == ("AccessDeniedException", 400)
    assert f"lambda:TagResource on resource: {foreign}" in error.message
    denied(ctx, SESSION, "lambda", "TagResource", Resource=own, Tags={"mlpipe:app": "shop", "mlpipe:stage": "dev"})
    denied(ctx, SESSION, "lambda", "TagResource", Resource=own, Tags={"team": "ml"})
