"""SageMaker's log groups expire: train creates the endpoint's group (tagged, with the configured
retention) before the endpoint, gives the account's shared training-jobs group a retention only when
it has none, and destroy removes the endpoint's group only when mlpipe created it."""

from __future__ import annotations

from typing import Any

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.ops.destroy import destroy
from mlpipe.ops.train import TrainRequest, train
from mlpipe.reporter import ListReporter

ENDPOINT_GROUP = "/aws/sagemaker/Endpoints/house-dev"
TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"


def _group(clients: Clients, name: str) -> dict[str, Any] | None:
    found = clients.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next((g for g in found if g["logGroupName"] == name), None)


def test_train_gives_the_endpoint_log_group_our_tags_and_retention_and_destroy_removes_it(clients: Clients) -> None:
    config = Config.model_validate({"app": "house", "function": {"log_retention_days": 14}})
    train(config, clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0", params=("num_round=5",)))
    group = _group(clients, ENDPOINT_GROUP)
    assert group is not None and group["retentionInDays"] == 14
    arn = f"arn:aws:logs:us-east-1:{clients.account_id}:log-group:{ENDPOINT_GROUP}"
    assert clients.client("logs").list_tags_for_resource(resourceArn=arn)["tags"] == {
        "mlpipe:app": "house",
        "mlpipe:stage": "dev",
    }
    destroy(config, clients, ListReporter())
    assert _group(clients, ENDPOINT_GROUP) is None


def test_a_group_sagemaker_created_gets_a_retention_and_is_left_by_destroy(clients: Clients) -> None:
    logs = clients.client("logs")
    logs.create_log_group(logGroupName=ENDPOINT_GROUP)  # as SageMaker does: untagged, never expires
    logs.create_log_group(logGroupName=TRAINING_GROUP)
    config = Config.model_validate({"app": "house"})
    request = TrainRequest(data=str(BOSTON_CSV), target="0", params=("num_round=5",), remote=True)
    train(config, clients, ListReporter(), request)
    assert _group(clients, ENDPOINT_GROUP)["retentionInDays"] == 30  # type: ignore[index]
    assert _group(clients, TRAINING_GROUP)["retentionInDays"] == 30  # type: ignore[index]

    logs.put_retention_policy(logGroupName=TRAINING_GROUP, retentionInDays=90)  # another app's choice
    train(config, clients, ListReporter(), request)
    assert _group(clients, TRAINING_GROUP)["retentionInDays"] == 90  # kept: the group is the account's
    result = destroy(config, clients, ListReporter())
    assert ("log-group", ENDPOINT_GROUP) in [(c.kind, c.name) for c in result.kept]
    assert _group(clients, ENDPOINT_GROUP) is not None
