"""Which data `train` reads, and how: the dataset named on the command line or in mlpipe.yaml, read
with the CSV options given, its target encoded for the objective.

Without a data source, `train` would train on the bundled diabetes set: when the served model was
trained on other data, that would silently replace a user's model with a demo one, so it is refused
unless `--data bundled:diabetes` says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import UsageError
from mlpipe.model.data import BUNDLED_NAME, CsvOptions, Dataset, load
from mlpipe.model.training import TrainSettings, encode_target
from mlpipe.names import Names


@dataclasses.dataclass(frozen=True)
class Prepared:
    dataset: Dataset
    settings: TrainSettings
    labels: tuple[str, ...]  # class labels by index, for a classifier
    notes: tuple[str, ...]


def data_source(config: Config, clients: Clients, names: Names, given: str | None) -> str | None:
    """The data to read: `given` (--data) or model.data; None = the bundled set, if allowed."""
    source = given or config.model.data
    if source is not None:
        return source
    from mlpipe.ops.model_store import read_current

    served = (read_current(clients, names) or {}).get("data_source")
    if served and served != BUNDLED_NAME:
        raise UsageError(
            f"no data given: `mlpipe train` would train on {BUNDLED_NAME}, but {names.endpoint} serves a model "
            f"trained on {served}",
            hint=f"pass --data {served} (or set model.data in mlpipe.yaml); --data {BUNDLED_NAME} replaces it "
            "with the bundled dataset",
        )
    return None


def prepare(
    config: Config, settings: TrainSettings, source: str | None, target: str | None, csv: CsvOptions | None
) -> Prepared:
    """The dataset, read and encoded for the objective, and the settings that depend on it."""
    options = dataclasses.replace(csv or CsvOptions(), missing=tuple(config.model.missing_values))
    dataset = load(source, target or config.model.target, options)
    dataset, labels, notes = encode_target(dataset, settings.objective)
    if settings.objective == "multi:softprob":
        settings = dataclasses.replace(settings, num_class=len(labels))
    return Prepared(dataset, settings, labels, (*dataset.warnings, *notes))


def label_metadata(prepared: Prepared) -> dict[str, Any]:
    """What the model's metadata records about classes (docs/CONTRACTS.md, "Data")."""
    if not prepared.labels:
        return {}
    return {"labels": list(prepared.labels), "num_class": len(prepared.labels)}


def _require_within_boundary(config: Config, uri: str) -> None:
    """The stage's permissions boundary lets the SageMaker role read only the S3 prefix model.data names
    (an admin approves it with the boundary): refuse other S3 data before anything is created."""
    from mlpipe.policies.boundary import s3_training_data

    allowed = s3_training_data(config)
    if allowed is None or not uri.startswith(allowed):
        raise UsageError(
            f"--data {uri}: SageMaker may read only the S3 data that model.data names "
            f"({allowed or 'not set'}): the stage's permissions boundary allows that prefix and nothing else",
            hint=f"set model.data: {uri} in mlpipe.yaml (the next train or deploy updates the boundary)",
        )


def training_data(
    config: Config, clients: Clients, names: Names, settings: TrainSettings, request: Any
) -> tuple[Prepared, Any]:
    """(Prepared, S3Data or None) for a TrainRequest: a local file or the bundled set read here, or
    S3 data checked on a sample (read by the training job)."""
    from mlpipe.ops.train_s3 import is_s3, prepare_s3

    source = data_source(config, clients, names, request.data)
    if is_s3(source):
        _require_within_boundary(config, str(source))
        shards = config.training.instance_count
        data, prepared = prepare_s3(clients, settings, str(source), request.target, request.remote, shards)
        return prepared, data
    return prepare(config, settings, source, request.target, request.csv), None
