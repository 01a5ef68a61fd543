"""`train`'s waits for SageMaker on a fake clock: an endpoint or a training job that never settles
ends in a timeout error at the deadline, naming the status it stayed in, and no sleep passes it.
The embedded SageMaker settles within a second of real time, so botocore's Stubber plays a
SageMaker that does not (as for the Failed endpoint in test_train.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from virtual_time import VirtualTime

from mlpipe.aws.clients import Clients
from mlpipe.errors import ModelError, WaitTimeout
from mlpipe.ops.train_endpoint import wait_endpoint
from mlpipe.ops.train_remote import follow_job
from mlpipe.reporter import ListReporter

WHEN = "2026-11-26T00:00:00Z"


def _always(stub: Stubber, operation: str, response: dict[str, Any], params: dict[str, Any], times: int = 40) -> None:
    for _ in range(times):  # more than the wait can ask for: it must stop at its deadline
        stub.add_response(operation, response, params)


def test_an_endpoint_that_stays_creating_times_out_at_the_deadline(clients: Clients) -> None:
    sm, names, t, reporter = clients.client("sagemaker"), clients.names("house", "dev"), VirtualTime(), ListReporter()
    creating = {
        "EndpointName": names.endpoint,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{names.endpoint}",
        "EndpointStatus": "Creating",
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
    }
    with Stubber(sm) as stub:
        _always(stub, "describe_endpoint", creating, {"EndpointName": names.endpoint})
        with pytest.raises(WaitTimeout) as err:
            wait_endpoint(clients, names, reporter, sleep=t.sleep, clock=t.clock, timeout_s=5)
    assert str(err.value) == f"endpoint {names.endpoint} still Creating after 5s"
    assert err.value.exit_code == 5 and "continues in the background" in (err.value.hint or "")
    assert sum(t.sleeps) == pytest.approx(5) and t.sleeps[:2] == pytest.approx([0.1, 0.16])
    assert reporter.messages("step") == [f"endpoint {names.endpoint}: Creating (0s)"]  # said once, not per look


def test_a_training_job_that_stays_in_progress_times_out_at_the_deadline(clients: Clients) -> None:
    sm, t = clients.client("sagemaker"), VirtualTime()
    running = {
        "TrainingJobName": "house-dev-job",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/house-dev-job",
        "ModelArtifacts": {"S3ModelArtifacts": ""},
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "xgboost"},
        "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": WHEN,
    }
    with Stubber(sm) as stub:
        _always(stub, "describe_training_job", running, {"TrainingJobName": "house-dev-job"})
        with pytest.raises(ModelError, match="training job house-dev-job still InProgress / Training after 60s"):
            follow_job(clients, "house-dev-job", ListReporter(), sleep=t.sleep, clock=t.clock, timeout_s=60)
    assert sum(t.sleeps) == pytest.approx(60) and max(t.sleeps) <= 15
