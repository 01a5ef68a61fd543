"""SageMaker writes a training job's and an endpoint container's log lines as the job's / the model's
execution role, as on AWS: with mlpipe's SageMaker role they reach /aws/sagemaker/TrainingJobs and
/aws/sagemaker/Endpoints/<endpoint>; a role that may not write them trains and serves all the same
(model written, job Completed, predictions answered), and its lines are lost."""

from __future__ import annotations

import json

import pytest

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.ops.train import TrainRequest, train
from mlpipe.reporter import ListReporter

GROUP = "/aws/sagemaker/TrainingJobs"
REMOTE = TrainRequest(data=str(BOSTON_CSV), target="0", params=("num_round=5",), remote=True, seed=1)


def _job_lines(clients: Clients, job: str) -> list[str]:
    logs = clients.client("logs")
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{job}/")["logStreams"]
    return [
        e["message"]
        for s in streams
        for e in logs.get_log_events(logGroupName=GROUP, logStreamName=s["logStreamName"])["events"]
    ]


def _without_statement(clients: Clients, role: str, sid: str) -> None:
    iam = clients.client("iam")
    (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    kept = [s for s in document["Statement"] if s.get("Sid") != sid]
    assert len(kept) == len(document["Statement"]) - 1
    iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps({**document, "Statement": kept}))


def test_a_training_job_logs_as_its_role_and_trains_without_log_permissions(clients: Clients) -> None:
    config = Config.model_validate({"app": "house"})
    names = clients.names("house", "dev")
    first = train(config, clients, ListReporter(), REMOTE)
    assert _job_lines(clients, str(first.training_job))  # mlpipe's role may write the job's streams

    # The same role without its LogStreams statement (CreateLogStream/PutLogEvents on the job streams).
    _without_statement(clients, names.sagemaker_role, "LogStreams")
    # train's own plan puts mlpipe's policy back: the job must run between that and its logs, so the
    # second job is created directly, as train --remote creates it, with the first job's settings.
    sm = clients.client("sagemaker")
    job = sm.describe_training_job(TrainingJobName=str(first.training_job))
    second_name = f"{first.training_job}-2"
    sm.create_training_job(
        TrainingJobName=second_name,
        AlgorithmSpecification=job["AlgorithmSpecification"],
        RoleArn=job["RoleArn"],
        InputDataConfig=job["InputDataConfig"],
        OutputDataConfig=job["OutputDataConfig"],
        ResourceConfig=job["ResourceConfig"],
        StoppingCondition=job["StoppingCondition"],
        HyperParameters=job["HyperParameters"],
    )
    second = sm.describe_training_job(TrainingJobName=second_name)
    assert second["TrainingJobStatus"] == "Completed"  # the job stands
    bucket, key = second["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    assert clients.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0  # and trained
    assert _job_lines(clients, second_name) == []  # but its lines are lost


def _endpoint_lines(clients: Clients, endpoint: str) -> list[str]:
    logs, group = clients.client("logs"), f"/aws/sagemaker/Endpoints/{endpoint}"
    return [
        e["message"]
        for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
        for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
    ]


def test_an_endpoint_logs_as_its_model_role_and_serves_without_log_permissions(clients: Clients) -> None:
    config = Config.model_validate({"app": "house"})
    names = clients.names("house", "dev")
    train(config, clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0", params=("num_round=5",)))
    runtime = clients.client("sagemaker-runtime")
    row = b"0.02,0,7.07,0,0.47,6.4,78.9,4.97,2,242,17.8,396.9,9.14"

    def predict(body: bytes) -> float:
        answer = runtime.invoke_endpoint(EndpointName=names.endpoint, Body=body, ContentType="text/csv")
        return float(answer["Body"].read())

    def refused() -> None:
        with pytest.raises(runtime.exceptions.ModelError):
            predict(b"1,2")  # a wrong feature count: the container refuses it, and logs why

    assert predict(row) > 0
    refused()
    lines = _endpoint_lines(clients, names.endpoint)
    assert lines[0].startswith("xgboost model loaded from s3://") and lines[1].startswith("ERROR: 400: ")

    # The model's role without its LogStreams statement: the container's lines are lost, it serves on.
    _without_statement(clients, names.sagemaker_role, "LogStreams")
    refused()
    assert predict(row) > 0
    assert _endpoint_lines(clients, names.endpoint) == lines
