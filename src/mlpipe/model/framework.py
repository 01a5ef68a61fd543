"""The model framework seam: what `train`, `train --remote` and the embedded SageMaker need from a
machine-learning library. XGBoost (mlpipe.model.xgboost_framework) is the one implementation;
another library (LightGBM, scikit-learn) is one class implementing `Framework`, registered here.

A framework owns: which serving container runs its models (and refusing a library version no
container serves correctly), training on a Dataset, the model.tar.gz the container loads (only the
model file at its root), and, for the embedded SageMaker, loading that archive and predicting as the
container does, and running a training job of its built-in algorithm. Everything else (the data,
the plan, the endpoint, the metadata) is shared.

Implementations import their library inside methods: this module is imported by `mlpipe --help`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mlpipe.errors import ModelError

if TYPE_CHECKING:
    from mlpipe.model.data import Dataset
    from mlpipe.model.training import TrainSettings

DEFAULT = "xgboost"


@dataclass(frozen=True)
class Container:
    """The serving (and built-in algorithm) image for models of one library version."""

    library_version: str  # of the library that trains here, e.g. "3.2.0"
    version: str  # the container's, e.g. "3.2-0"
    image_uri: str


@dataclass(frozen=True)
class Trained:
    model: Any  # the library's model object, given back to `serialize`
    metrics: dict[str, float]  # on the validation rows
    summary: str  # one line for people, e.g. "trained 40 trees (stopped after 60 rounds): rmse 3.1"
    train_rows: int
    valid_rows: int
    importances: list[tuple[str, float]] = field(default_factory=list)  # (feature, weight), largest first
    best_iteration: int | None = None
    confusion: list[list[int]] = field(default_factory=list)  # classifiers: [actual][predicted]


@dataclass(frozen=True)
class JobOutput:
    """What a training job of the built-in algorithm leaves: model.tar.gz, final metrics, log lines."""

    archive: bytes
    metrics: dict[str, float]
    lines: list[str]


class ServingError(Exception):
    """What a serving container answers with a non-2xx status (InvokeEndpoint wraps it as ModelError)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Framework(Protocol):
    name: str  # as in TrainRequest.framework, e.g. "xgboost"
    title: str  # for people, e.g. "XGBoost"

    def installed_version(self) -> str:
        """The library version that trains here; ModelError when it is missing."""
        ...

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
        """The training settings, its hyperparameters validated by its own rules (mlpipe.yaml's
        model.params, overridden by --param); `objective` is mlpipe's task name (XGBoost's spelling:
        reg:squarederror, binary:logistic, multi:softprob), which a framework maps to its own."""
        ...

    def container(self, region: str, library_version: str | None = None) -> Container:
        """The image that serves models saved by this library version (default: the installed one);
        ModelError naming the fix when no container serves them correctly."""
        ...

    def serves(self, image_uri: str) -> bool:
        """Whether models with this container image are this framework's (the embedded SageMaker asks)."""
        ...

    def train(self, dataset: Dataset, settings: TrainSettings) -> Trained: ...

    def serialize(self, trained: Trained) -> bytes:
        """model.tar.gz with only the model file at its root, byte-for-byte reproducible."""
        ...

    def load(self, archive: bytes) -> Any:
        """A model.tar.gz loaded as the serving container loads it; ServingError if it cannot be."""
        ...

    def predict(self, loaded: Any, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """(body, content type) the container answers to one invocation; ServingError for bad input."""
        ...

    def train_job(self, channels: Mapping[str, Any], hyperparameters: Mapping[str, str]) -> JobOutput:
        """The built-in algorithm on its channels (numpy arrays, label in column 0), as a job runs it."""
        ...


_REGISTRY: dict[str, Framework] = {}


def register(framework: Framework) -> None:
    _REGISTRY[framework.name] = framework


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def _registry() -> dict[str, Framework]:
    if DEFAULT not in _REGISTRY:
        from mlpipe.model.xgboost_framework import XGBoost

        _REGISTRY.setdefault(DEFAULT, XGBoost())
    return _REGISTRY


def get(name: str | None = None) -> Framework:
    frameworks = _registry()
    try:
        return frameworks[name or DEFAULT]
    except KeyError:
        raise ModelError(
            f"unknown model framework '{name}'",
            hint=f"set model.framework in mlpipe.yaml to one of: {', '.join(sorted(frameworks))}",
        ) from None


def for_image(image_uri: str) -> Framework | None:
    """The framework whose container this is; None for an image no framework serves."""
    return next((f for f in _registry().values() if f.serves(image_uri)), None)
