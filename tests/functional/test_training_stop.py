"""The embedded SageMaker's StopTrainingJob (moto has none), as AWS answers it: an InProgress job
becomes Stopping, then Stopped; a job that ended, or none, is refused. `train --remote` stops the job
it started when interrupted (tests/functional/test_interrupt_cli.py)."""

from __future__ import annotations

import pytest

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import Interrupted
from mlpipe.ops.train import TrainRequest, train
from mlpipe.ops.train_remote import stop_job
from mlpipe.reporter import ListReporter


def _train_remote(clients: Clients) -> str:
    config = Config.model_validate({"app": "house", "target": "local"})
    result = train(config, clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0", remote=True))
    return str(result.training_job)


def test_a_job_in_progress_stops_and_an_ended_one_is_refused(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    sm = clients.client("sagemaker")
    done = _train_remote(clients)  # Completed when CreateTrainingJob answers (the default)
    with pytest.raises(sm.exceptions.ClientError, match="training job is in status Completed") as refused:
        sm.stop_training_job(TrainingJobName=done)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(sm.exceptions.ClientError) as missing:
        sm.stop_training_job(TrainingJobName="house-dev-nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"

    monkeypatch.setenv("MLPIPE_LOCAL_TRAINING_SECONDS", "600")
    job = sm.describe_training_job(TrainingJobName=done)
    params = {k: job[k] for k in ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig")}
    params |= {k: job[k] for k in ("ResourceConfig", "StoppingCondition", "HyperParameters")}
    sm.create_training_job(TrainingJobName=f"{done}-2", **params)
    assert sm.describe_training_job(TrainingJobName=f"{done}-2")["TrainingJobStatus"] == "InProgress"

    error = stop_job(clients, f"{done}-2")
    assert (
        isinstance(error, Interrupted)
        and error.message == f"interrupted: training job {done}-2 stopped (StopTrainingJob)"
    )
    assert sm.describe_training_job(TrainingJobName=f"{done}-2")["TrainingJobStatus"] == "Stopped"
    assert (
        stop_job(clients, done).message
        == f"interrupted: training job {done} had already ended (Completed); nothing deployed"
    )
    assert "was created" in stop_job(clients, "house-dev-nope").message


def test_ctrl_c_while_train_waits_for_the_endpoint_records_the_version_as_no_wait_does(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlpipe.local.ext import sagemaker_endpoints
    from mlpipe.ops import model_store

    config = Config.model_validate({"app": "house", "target": "local"})
    request = TrainRequest(data=str(BOSTON_CSV), target="0")
    first = train(config, clients, ListReporter(), request)
    monkeypatch.setattr(sagemaker_endpoints, "UPDATE_SECONDS", 600.0)  # the update stays Updating

    def ctrl_c(seconds: float) -> None:  # the wait's first pause: where a Ctrl-C lands, in effect
        raise KeyboardInterrupt

    stopped: BaseException | None = None
    try:
        train(config, clients, ListReporter(), request, sleep=ctrl_c)
    except BaseException as exc:  # a bare KeyboardInterrupt must fail this test, not end the test run
        stopped = exc
    assert isinstance(stopped, Interrupted), repr(stopped)

    names = clients.names("house", "dev")
    current = model_store.read_current(clients, names)
    assert current is not None and current["version"] != first.version
    assert current["endpoint_status"] == "Updating" and current["previous_version"] == first.version
    assert stopped.message == (
        f"interrupted while waiting for endpoint {names.endpoint}: SageMaker goes on updating it to version "
        f"{current['version']} (recorded as current, as with --no-wait)"
    )
    assert stopped.exit_code == 130
