"""The stage's permissions boundary as deploy and destroy plan it against the embedded AWS: created
before the role, put back when changed (making room under IAM's five versions), put back on a role
that lost it, never adopted when someone else's, deleted last and only once no role carries it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.ops.deploy import deploy
from mlpipe.ops.destroy import destroy
from mlpipe.policies.boundary import boundary_policy
from mlpipe.reporter import ListReporter

CONFIG = Config(app="fence")  # type: ignore[call-arg]
OTHER = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _default_document(clients: Clients, arn: str) -> Any:
    iam = clients.client("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return json.loads(document) if isinstance(document, str) else document


def test_a_changed_boundary_is_put_back_within_five_versions(clients: Clients) -> None:
    first = deploy(CONFIG, clients, ListReporter())
    names = first.names
    kinds = [c.kind for c in first.plan.changes]
    assert kinds.index("iam-boundary-policy") < kinds.index("iam-role")
    iam = clients.client("iam")
    for _ in range(4):  # someone widened it, four times: five versions, the maximum
        iam.create_policy_version(PolicyArn=names.boundary_arn, PolicyDocument=OTHER, SetAsDefault=True)
    again = deploy(CONFIG, clients, ListReporter())
    (change,) = [c for c in again.plan.pending if c.kind == "iam-boundary-policy"]
    assert change.action == "update" and [s.operation for s in change.calls] == [
        "delete_policy_version",
        "create_policy_version",
    ]
    assert _default_document(clients, names.boundary_arn) == boundary_policy(CONFIG, names)
    assert len(iam.list_policy_versions(PolicyArn=names.boundary_arn)["Versions"]) == 5
    assert deploy(CONFIG, clients, ListReporter()).plan.is_empty


def test_a_role_that_lost_its_boundary_gets_it_back_first(clients: Clients) -> None:
    names = deploy(CONFIG, clients, ListReporter()).names
    iam = clients.client("iam")
    iam.delete_role_permissions_boundary(RoleName=names.lambda_role)
    iam.put_role_policy(RoleName=names.lambda_role, PolicyName="mlpipe", PolicyDocument=OTHER)
    again = deploy(CONFIG, clients, ListReporter())
    (change,) = [c for c in again.plan.pending if c.kind == "iam-role"]
    assert [s.operation for s in change.calls] == ["put_role_permissions_boundary", "put_role_policy"]
    role = iam.get_role(RoleName=names.lambda_role)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == names.boundary_arn


def test_a_foreign_policy_of_the_same_name_is_never_adopted(clients: Clients) -> None:
    names = clients.names("fence", "dev")
    clients.client("iam").create_policy(PolicyName=names.boundary_policy, PolicyDocument=OTHER)
    with pytest.raises(ForeignResourceError, match=names.boundary_policy):
        deploy(CONFIG, clients, ListReporter())
    assert clients.client("sqs").list_queues().get("QueueUrls", []) == []  # planned first, nothing made


def test_destroy_deletes_the_boundary_last_unless_the_build_role_still_carries_it(clients: Clients) -> None:
    names = deploy(CONFIG, clients, ListReporter()).names
    iam = clients.client("iam")
    build_role = names.build_role(names.stage)  # as bootstrap-pipeline leaves it
    iam.create_role(RoleName=build_role, AssumeRolePolicyDocument="{}", PermissionsBoundary=names.boundary_arn)
    kept = destroy(CONFIG, clients, ListReporter())
    last = kept.plan.changes[-1]
    assert (last.kind, last.action) == ("iam-boundary-policy", "noop") and build_role in last.detail
    assert iam.get_policy(PolicyArn=names.boundary_arn)
    iam.delete_role(RoleName=build_role)
    gone = destroy(CONFIG, clients, ListReporter())
    assert [(c.kind, c.action) for c in gone.plan.pending] == [("iam-boundary-policy", "delete")]
    assert names.boundary_policy not in {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]}
