"""The model framework seam: a second framework, registered from here and changing nothing else in
mlpipe, trains (locally and as a SageMaker training job), is packaged, and the embedded SageMaker
serves its predictions. The "mean" model predicts the mean of the training target for every row."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import ModelError, UsageError
from mlpipe.model import framework
from mlpipe.model.artifact import package, root_files
from mlpipe.model.data import load
from mlpipe.model.framework import Container, JobOutput, ServingError, Trained
from mlpipe.model.training import TrainSettings
from mlpipe.ops import model_store
from mlpipe.ops.train import TrainRequest, train
from mlpipe.reporter import ListReporter

MODEL_FILE = "mean-model"
REPOSITORY = "mlpipe-test-mean"


class Mean:
    """A framework whose model is one number."""

    name = "mean"
    title = "Mean"

    def installed_version(self) -> str:
        return "1.0.0"

    def settings(
        self,
        objective: str,
        config_params: Mapping[str, Any],
        overrides: Mapping[str, str],
        num_round: int,
        early_stopping_rounds: int,
        test_size: float,
        seed: int,
    ) -> TrainSettings:
        unknown = sorted(k for k in overrides if k != "shift")  # its own hyperparameter, not XGBoost's
        if unknown:
            raise UsageError(f"--param {unknown[0]}: the mean model has no such parameter", hint="known: shift")
        params = {"shift": float(overrides.get("shift", 0))}
        return TrainSettings(objective, params, num_round, early_stopping_rounds, test_size, seed)

    def container(self, region: str, library_version: str | None = None) -> Container:
        version = library_version or self.installed_version()
        if not version.startswith("1."):
            raise ModelError(f"mean {version}: no container serves it", hint="use mean 1.x")
        return Container(version, "1", f"123456789012.dkr.ecr.{region}.amazonaws.com/{REPOSITORY}:1")

    def serves(self, image_uri: str) -> bool:
        return f"/{REPOSITORY}:" in image_uri

    def train(self, dataset: Any, settings: Any) -> Trained:
        mean = float(dataset.target.mean()) + settings.params["shift"]
        return Trained(mean, {"mean": mean}, f"mean {mean:.4g}", train_rows=dataset.rows, valid_rows=0)

    def serialize(self, trained: Trained) -> bytes:
        return package(json.dumps({"mean": trained.model}).encode(), MODEL_FILE)

    def load(self, archive: bytes) -> Any:
        files = root_files(archive)
        if list(files) != [MODEL_FILE]:
            raise ServingError(500, f"expected only {MODEL_FILE}, found {sorted(files)}")
        return float(json.loads(files[MODEL_FILE])["mean"])

    def predict(self, loaded: Any, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        if (content_type or "text/csv") != "text/csv":
            raise ServingError(415, f"Content type {content_type} is not supported")
        rows = [line for line in body.decode().splitlines() if line.strip()]
        return "".join(f"{loaded}\n" for _ in rows).encode(), "text/csv"

    def train_job(self, channels: Mapping[str, Any], hyperparameters: Mapping[str, str]) -> JobOutput:
        mean = float(channels["train"][:, 0].mean())
        return JobOutput(self.serialize(Trained(mean, {}, "", 0, 0)), {"train:mean": mean}, [f"mean {mean}"])


@pytest.fixture
def mean() -> Iterator[Mean]:
    registered = Mean()
    framework.register(registered)
    try:
        yield registered
    finally:
        framework.unregister(registered.name)


def config() -> Config:
    return Config.model_validate({"app": "house"})


def boston_target_mean() -> float:
    return float(load(BOSTON_CSV, "0").target.mean())


def invoke(clients: Clients, body: str) -> list[float]:
    answer = clients.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="house-dev", Body=body.encode(), ContentType="text/csv"
    )
    return [float(v) for v in answer["Body"].read().decode().split()]


def test_a_registered_framework_trains_packages_and_is_served(clients: Clients, mean: Mean) -> None:
    cfg = Config.model_validate({"app": "house", "model": {"framework": "mean"}})  # chosen in mlpipe.yaml
    result = train(cfg, clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0"))

    assert result.action == "created" and result.endpoint_status == "InService"
    assert result.image_uri.endswith(f"/{REPOSITORY}:1")
    model = clients.client("sagemaker").describe_model(ModelName=result.model_name)
    assert model["PrimaryContainer"]["Image"] == result.image_uri
    names = clients.names("house", "dev")
    archive = clients.client("s3").get_object(Bucket=names.model_bucket, Key=model_store.artifact_key(result.version))
    with tarfile.open(fileobj=io.BytesIO(archive["Body"].read())) as tar:
        assert tar.getnames() == [MODEL_FILE]  # only the model file, at the root

    current = model_store.read_current(clients, names)
    assert current is not None and (current["framework"], current["xgboost_version"]) == ("mean", "1.0.0")
    expected = boston_target_mean()
    assert result.metrics["mean"] == pytest.approx(expected)
    assert invoke(clients, "1,2,3\n4,5,6\n") == pytest.approx([expected, expected])


def test_a_registered_framework_runs_as_a_training_job(clients: Clients, mean: Mean) -> None:
    request = TrainRequest(data=str(BOSTON_CSV), target="0", framework="mean", remote=True, seed=3)
    result = train(config(), clients, ListReporter(), request)

    job = clients.client("sagemaker").describe_training_job(TrainingJobName=str(result.training_job))
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith(f"/{REPOSITORY}:1")
    (served,) = invoke(clients, "1,2,3\n")
    assert served == pytest.approx(result.metrics["train:mean"])  # the mean of the job's training rows
    assert abs(served - boston_target_mean()) < 2.0  # a random 80%: close to the whole set's mean


def test_a_framework_refuses_a_version_it_cannot_serve_before_any_change(clients: Clients, mean: Mean) -> None:
    request = TrainRequest(data=str(BOSTON_CSV), target="0", framework="mean", xgboost_version="2.0")
    with pytest.raises(ModelError, match=r"mean 2\.0: no container serves it"):
        train(config(), clients, ListReporter(), request)
    assert clients.client("sagemaker").list_models()["Models"] == []


def test_an_unknown_framework_is_refused(clients: Clients) -> None:
    with pytest.raises(ModelError, match="unknown model framework 'lightgbm'"):
        train(config(), clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), framework="lightgbm"))


def test_a_framework_validates_its_own_hyperparameters(clients: Clients, mean: Mean) -> None:
    shifted = TrainRequest(data=str(BOSTON_CSV), target="0", framework="mean", params=("shift=1.5",))
    train(config(), clients, ListReporter(), shifted)  # not an XGBoost parameter: the framework's own
    assert invoke(clients, "1,2\n") == pytest.approx([boston_target_mean() + 1.5])

    foreign = TrainRequest(data=str(BOSTON_CSV), target="0", framework="mean", params=("max_depth=3",))
    with pytest.raises(UsageError, match="--param max_depth: the mean model has no such parameter"):
        train(config(), clients, ListReporter(), foreign)
