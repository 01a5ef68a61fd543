"""`mlpipe status` (exists / in sync / drifted, depths) and `mlpipe destroy` (tag-checked, idempotent)."""

from __future__ import annotations

import pytest
from deploy_support import CallLog, tagged_inventory

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.ops.deploy import deploy
from mlpipe.ops.destroy import destroy
from mlpipe.ops.status import status
from mlpipe.plan.common import tag_list
from mlpipe.reporter import ListReporter

CONFIG = Config(app="shop")


@pytest.fixture(autouse=True)
def _short_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded AWS keeps a new function Pending for a while; deploy waits either way, so keep it short here."""
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.1")


def _states(clients: Clients) -> dict[str, str]:
    return {f"{r.kind} {r.name}": r.state for r in status(CONFIG, clients).resources}


def test_status_before_and_after_deploy_and_after_drift(clients: Clients) -> None:
    before = status(CONFIG, clients)
    assert not before.deployed and set(_states(clients).values()) == {"missing"}
    assert before.queues == {"trigger": None, "in_flight": None, "dlq": None}

    names = deploy(CONFIG, clients, ListReporter()).names
    after = status(CONFIG, clients)
    assert after.deployed and after.in_sync, after.resources
    assert len(after.resources) == 10  # + the alarm topic and 3 alarms
    assert set(after.alarms) == set(names.alarms)
    assert after.function_state == "Active/Successful"
    assert after.endpoint_status is None  # no model trained yet

    sqs = clients.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName=names.dlq)["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=f"poison {i}")
    trigger_url = sqs.get_queue_url(QueueName=names.trigger_queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=trigger_url, Attributes={"VisibilityTimeout": "45"})  # drift, by hand
    drifted = status(CONFIG, clients)
    assert drifted.queues["dlq"] == 3
    (queue,) = [r for r in drifted.resources if r.kind == "sqs-queue" and r.name == names.trigger_queue]
    assert queue.state == "drifted" and "VisibilityTimeout 45 -> 180" in queue.detail
    assert [r for r in drifted.resources if r.state != "in sync"] == [queue]
    assert drifted.to_dict()["in_sync"] is False


def test_status_reports_a_foreign_resource_instead_of_failing(clients: Clients) -> None:
    names = clients.names("shop", "dev")
    clients.client("iam").create_role(RoleName=names.lambda_role, AssumeRolePolicyDocument="{}")
    states = _states(clients)
    assert states[f"iam-role {names.lambda_role}"] == "foreign"


def _train_leftovers(clients: Clients, names: Names) -> None:
    """What `mlpipe train` leaves behind: bucket with objects, model, endpoint config, endpoint."""
    s3, sm = clients.client("s3"), clients.client("sagemaker")
    s3.create_bucket(Bucket=names.model_bucket)
    s3.put_bucket_tagging(Bucket=names.model_bucket, Tagging={"TagSet": tag_list(names.tags)})
    for key in ("models/v1/model.tar.gz", "models/v1/metadata.json", "models/current.json"):
        s3.put_object(Bucket=names.model_bucket, Key=key, Body=b"{}")
    model = names.model_name("v1")
    role = names.role_arn(names.sagemaker_role)
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    sm.create_model(
        ModelName=model, ExecutionRoleArn=role, PrimaryContainer={"Image": image}, Tags=tag_list(names.tags)
    )
    variant = {
        "VariantName": "main",
        "ModelName": model,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 2},
    }
    sm.create_endpoint_config(EndpointConfigName=model, ProductionVariants=[variant], Tags=tag_list(names.tags))
    sm.create_endpoint(EndpointName=names.endpoint, EndpointConfigName=model, Tags=tag_list(names.tags))


def test_destroy_removes_everything_and_is_idempotent(clients: Clients) -> None:
    names = deploy(CONFIG, clients, ListReporter()).names
    _train_leftovers(clients, names)
    other = clients.names("shop", "prod")  # another stage of the same app stays
    clients.client("sqs").create_queue(QueueName=other.trigger_queue, tags=other.tags)

    sqs = clients.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=names.dlq)["QueueUrl"], MessageBody="a dead letter")
    log = CallLog().attach(clients)
    preview = destroy(CONFIG, clients, ListReporter(), dry_run=True)
    assert log.mutating == []
    details = {c.name: c.detail for c in preview.plan.pending if c.kind == "sqs-queue"}
    assert details[names.dlq].startswith("and its 1 dead letter(s)") and details[names.trigger_queue] == "empty"
    kinds = [c.kind for c in preview.plan.pending]
    assert {"sagemaker-endpoint", "sagemaker-endpoint-config", "sagemaker-model", "s3-bucket"} <= set(kinds)
    assert kinds.index("event-source-mapping") < kinds.index("lambda-function") < kinds.index("sqs-queue")
    assert len(tagged_inventory(clients, names)) == 15  # with the alarm topic, 3 alarms and the boundary

    result = destroy(CONFIG, clients, ListReporter())
    assert len(result.deleted) == 15
    assert tagged_inventory(clients, names) == []
    assert clients.client("sqs").get_queue_url(QueueName=other.trigger_queue)["QueueUrl"]

    log.calls.clear()
    again = destroy(CONFIG, clients, ListReporter())
    assert again.plan.is_empty and log.mutating == []


def test_destroy_refuses_a_foreign_same_named_resource_and_deletes_nothing(clients: Clients) -> None:
    names = deploy(CONFIG, clients, ListReporter()).names
    s3 = clients.client("s3")
    s3.create_bucket(Bucket=names.model_bucket)  # same name, no tags: not ours
    log = CallLog().attach(clients)
    with pytest.raises(ForeignResourceError, match=names.model_bucket):
        destroy(CONFIG, clients, ListReporter())
    assert log.mutating == []
    assert len(tagged_inventory(clients, names)) == 12  # 11 deployed + the foreign bucket, listed by name


def test_status_lists_what_train_creates(clients: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    """Its help says "every resource of the stage": train's resources too (review), which shows
    what a failed first train left, not only `destroy --dry-run`."""
    from mlpipe.ops.train import train

    names = clients.names(CONFIG.app, CONFIG.stage)
    before = {(r.kind, r.name): r.state for r in status(CONFIG, clients).model_resources}
    assert set(before.values()) == {"missing"}
    assert ("iam-boundary-policy", names.boundary_policy) in before and ("s3-bucket", names.model_bucket) in before

    first = train(CONFIG, clients, ListReporter())
    second = train(CONFIG, clients, ListReporter())
    report = status(CONFIG, clients)
    rows = {(r.kind, r.name): r for r in report.model_resources}
    assert {r.state for r in rows.values()} == {"in sync"}, report.model_resources
    assert not report.deployed  # deploy's resources decide that: nothing of them exists
    kinds = [kind for kind, _ in rows]
    assert kinds.count("sagemaker-model") == 2 and kinds.count("sagemaker-endpoint-config") == 2
    assert ("iam-role", names.sagemaker_role) in rows and ("sagemaker-endpoint", names.endpoint) in rows
    assert rows[("sagemaker-model", second.model_name)].detail == "current version"
    assert rows[("sagemaker-endpoint-config", first.model_name)].detail == "previous version"
