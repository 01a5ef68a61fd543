"""XGBoost behind the framework seam (mlpipe.model.framework): the SageMaker XGBoost container
(model.containers), training (model.training), the archive (model.artifact), serving as the container
does (model.serving), and the built-in algorithm a training job runs (below).
xgboost and numpy are imported inside the methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlpipe.model.framework import Container, JobOutput, Trained

if TYPE_CHECKING:
    from mlpipe.model.data import Dataset
    from mlpipe.model.training import TrainSettings

# The built-in algorithm's integer hyperparameters (it receives every one as a string).
INTEGER_PARAMS = ("num_round", "early_stopping_rounds", "max_depth", "max_bin", "seed", "num_class")
NOT_BOOSTER_PARAMS = ("num_round", "early_stopping_rounds")


class XGBoost:
    name = "xgboost"
    title = "XGBoost"

    def installed_version(self) -> str:
        from mlpipe.model.containers import installed_xgboost_version

        return installed_xgboost_version()

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
        from mlpipe.model.training import settings_from

        return settings_from(objective, config_params, overrides, num_round, early_stopping_rounds, test_size, seed)

    def container(self, region: str, library_version: str | None = None) -> Container:
        from mlpipe.model.containers import container_version, image_uri

        version = library_version or self.installed_version()
        container = container_version(version)
        return Container(version, container, image_uri(region, container))

    def serves(self, image_uri: str) -> bool:
        from mlpipe.model.containers import REPOSITORY

        return image_uri.rsplit("/", 1)[-1].split(":")[0] == REPOSITORY

    def train(self, dataset: Dataset, settings: TrainSettings) -> Trained:
        from mlpipe.model.training import train

        trained = train(dataset, settings)
        summary = f"trained {trained.best_iteration + 1} trees (stopped after {trained.rounds_trained} rounds): " + (
            ", ".join(f"{k} {v:.4g}" for k, v in trained.metrics.items())
        )
        return Trained(
            model=trained.booster,
            metrics=trained.metrics,
            summary=summary,
            train_rows=trained.train_rows,
            valid_rows=trained.valid_rows,
            importances=trained.importances,
            best_iteration=trained.best_iteration,
            confusion=trained.confusion,
        )

    def serialize(self, trained: Trained) -> bytes:
        from mlpipe.model.artifact import model_bytes, package

        return package(model_bytes(trained.model))

    def load(self, archive: bytes) -> Any:
        from mlpipe.model.serving import load_artifact

        return load_artifact(archive)

    def predict(self, loaded: Any, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        from mlpipe.model.serving import predict

        return predict(loaded, body, content_type, accept)

    def train_job(self, channels: Mapping[str, Any], hyperparameters: Mapping[str, str]) -> JobOutput:
        """SageMaker's built-in XGBoost: `train` (and an optional `validation`) channel, label first;
        early stopping only with a validation channel; the model cut to its best iteration."""
        import xgboost as xgb

        from mlpipe.model.artifact import model_bytes, package
        from mlpipe.model.training import threads_for

        if "train" not in channels:
            raise ValueError("the built-in XGBoost algorithm needs a 'train' channel")
        hyper = _typed(hyperparameters)
        patience = hyper.get("early_stopping_rounds")
        train = channels["train"]
        booster_params = {k: v for k, v in hyper.items() if k not in NOT_BOOSTER_PARAMS}
        booster_params["nthread"] = threads_for(train.size)
        dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
        evals = [(dtrain, "train")]
        if "validation" in channels:
            valid = channels["validation"]
            evals.append((xgb.DMatrix(valid[:, 1:], label=valid[:, 0]), "validation"))
        history: dict[str, Any] = {}
        booster = xgb.train(
            booster_params,
            dtrain,
            num_boost_round=int(hyper.get("num_round", 100)),
            evals=evals,
            early_stopping_rounds=int(patience) if patience and len(evals) > 1 else None,
            evals_result=history,
            verbose_eval=False,
        )
        best = int(getattr(booster, "best_iteration", booster.num_boosted_rounds() - 1))
        booster = booster[: best + 1]
        lines = []
        for i in [*range(0, best, 10), best]:
            scores = "\t".join(f"{d}-{m}:{v[i]:.5f}" for d, ms in history.items() for m, v in ms.items())
            lines.append(f"[{i}]#011{scores}")
        metrics = {f"{d}:{m}": float(v[best]) for d, ms in history.items() for m, v in ms.items()}
        return JobOutput(package(model_bytes(booster)), metrics, lines)


def _typed(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in hyperparameters.items():
        try:
            out[key] = int(value) if key in INTEGER_PARAMS else float(value)
        except ValueError:
            out[key] = value
    return out
