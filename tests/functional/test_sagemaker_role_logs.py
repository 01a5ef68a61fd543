"""SageMaker writes a training job's log lines as the job's execution role, as on AWS: with mlpipe's
SageMaker role they reach /aws/sagemaker/TrainingJobs; a role that may not write them trains all the
same (model written, job Completed, endpoint serving), and its lines are lost."""

from __future__ import annotations

import json

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


def test_a_training_job_logs_as_its_role_and_trains_without_log_permissions(clients: Clients) -> None:
    config = Config.model_validate({"app": "house"})
    names = clients.names("house", "dev")
    first = train(config, clients, ListReporter(), REMOTE)
    assert _job_lines(clients, str(first.training_job))  # mlpipe's role may write the job's streams

    # The same role without its LogStreams statement (CreateLogStream/PutLogEvents on the job streams).
    iam = clients.client("iam")
    (policy,) = iam.list_role_policies(RoleName=names.sagemaker_role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=names.sagemaker_role, PolicyName=policy)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    kept = [s for s in document["Statement"] if s.get("Sid") != "LogStreams"]
    assert len(kept) == len(document["Statement"]) - 1
    iam.put_role_policy(
        RoleName=names.sagemaker_role, PolicyName=policy, PolicyDocument=json.dumps({**document, "Statement": kept})
    )
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
