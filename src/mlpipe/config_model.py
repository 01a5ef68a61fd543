"""The sections of mlpipe.yaml about the model: what `train` trains on and how (locally or as a
SageMaker training job), and the endpoint that serves it. Kept apart from config.py (size)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlpipe.config_errors import RuleError
from mlpipe.config_sections import DAY, _Section
from mlpipe.errors import UsageError

# Cells read as missing besides an empty one (case-insensitive): templates/handler/payload_rules.py
DEFAULT_MISSING_VALUES = ("NA", "N/A", "NaN", "null", "None", "?")
__all__ = ["DEFAULT_MISSING_VALUES", "EndpointConfig", "ModelConfig", "TrainingConfig"]


class ModelConfig(_Section):
    """What `mlpipe train` trains on and how."""

    data: str | None = Field(
        None, examples=["data/train.csv"], description="CSV file to train on; the bundled dataset when unset"
    )
    target: str | None = Field(
        None, examples=["price"], description="Name of the target column (the last column when unset)"
    )
    framework: str = Field(
        "xgboost", pattern=r"^[a-z0-9_-]+$", description="Model framework (mlpipe.model.framework); xgboost ships"
    )
    objective: Literal["reg:squarederror", "binary:logistic", "multi:softprob"] = Field(
        "reg:squarederror", description="XGBoost objective: regression, binary or multiclass classification"
    )
    missing_values: tuple[str, ...] = Field(
        DEFAULT_MISSING_VALUES, description="Cells read as missing (besides empty) by train, send and the function"
    )
    params: dict[str, float | int | str] = Field(
        default_factory=lambda: {"max_depth": 5, "eta": 0.1, "subsample": 0.9},  # type: ignore[arg-type]
        description="XGBoost hyperparameters",
    )
    num_round: int = Field(300, ge=1, le=10_000, description="Maximum boosting rounds")

    early_stopping_rounds: int = Field(20, ge=1, le=1_000, description="Stop when validation stalls")
    test_size: float = Field(0.2, gt=0, lt=0.9, description="Fraction of rows held out for validation")
    seed: int = Field(42, ge=0, description="Random seed for the holdout split and training")

    @model_validator(mode="after")
    def _params(self) -> ModelConfig:
        # The framework's own rules for model.params (those `train` applies, with --param), checked
        # at load so a bad value is a configuration error (exit 3) naming its line, before any
        # command starts. An unknown framework is left to `train`, which names the known ones.
        from mlpipe.errors import ModelError
        from mlpipe.model import framework as frameworks

        try:
            chosen = frameworks.get(self.framework)
        except ModelError:
            return self
        for key, item in self.params.items():
            try:
                chosen.settings(self.objective, {key: item}, {}, 1, 1, self.test_size, self.seed)
            except UsageError as exc:
                hint = exc.hint or f"change model.params.{key}, or remove it for {chosen.title}'s default"
                raise RuleError(exc.message.removeprefix("mlpipe.yaml "), keys=(f"params.{key}",), hint=hint) from None
        return self


class EndpointConfig(_Section):
    """The SageMaker endpoint that serves the model."""

    type: Literal["serverless", "realtime"] = Field("serverless", description="Serverless or real-time")
    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = Field(2048, description="Serverless memory (MB)")
    max_concurrency: int = Field(5, ge=1, le=200, description="Serverless maximum concurrency")
    instance_type: str = Field(
        "ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description="Real-time instance type"
    )
    instance_count: int = Field(1, ge=1, le=100, description="Real-time instance count")


class TrainingConfig(_Section):
    """Remote training (`mlpipe train --remote`) as a SageMaker training job."""

    instance_type: str = Field(
        "ml.m5.xlarge", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description="Training job instance type"
    )
    instance_count: int = Field(1, ge=1, le=100, description="More than 1 shards the data by S3 key")
    volume_gb: int = Field(10, ge=1, le=16_384, description="Training job storage volume (GB)")
    max_runtime_s: int = Field(3600, ge=60, le=28 * DAY, description="Training job time limit (s)")
    role_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        examples=["arn:aws:iam::123456789012:role/my-training-role"],
        description="Execution role for the training job; mlpipe creates a least-privilege one if unset",
    )
