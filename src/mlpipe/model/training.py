"""XGBoost training: hyperparameter validation, a reproducible holdout split, early stopping, metrics.

The booster is trained without feature names: the SageMaker container builds its DMatrix from a
headerless CSV, so a model that carries names would refuse (or mis-order) the rows it is sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipe.errors import ModelError, UsageError
from mlpipe.model.data import Dataset

OBJECTIVES = ("reg:squarederror", "binary:logistic", "multi:softprob")
CLASSIFIERS = ("binary:logistic", "multi:softprob")
FEW_VALUES = 10  # an integer target with at most this many values looks like classes
# Below this many cells one thread is fastest: OpenMP threads spin-wait, and on a busy 2-core
# machine 100 rounds on 300 rows took 2.5 s with 2 threads against 0.19 s with one.
SINGLE_THREAD_CELLS = 2_000_000
# From this many cells, training data goes into a QuantileDMatrix block by block: ~1 byte a value,
# instead of row copies of the split plus a DMatrix of 8 bytes a value (4-5x the float32 matrix).
QUANTILE_CELLS = 20_000_000
BLOCK_ROWS = 500_000


@dataclass(frozen=True)
class _Rule:
    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()

    def check(self, key: str, value: Any, source: str = "--param") -> Any:
        if self.choices:
            if str(value) not in self.choices:
                raise UsageError(f"{source} {key}={value}: must be one of {', '.join(self.choices)}")
            return str(value)
        try:
            number = self.kind(value)
            if self.kind is int and float(value) != number:
                raise ValueError
        except (TypeError, ValueError):
            raise UsageError(
                f"{source} {key}={value}: must be {'an integer' if self.kind is int else 'a number'}"
            ) from None
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            raise UsageError(f"{source} {key}={value}: must be {'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None and number > self.high:
            raise UsageError(f"{source} {key}={value}: must be <= {self.high:g}")
        return number


# The hyperparameters mlpipe accepts, with the ranges XGBoost documents (aliases map to one name).
PARAM_RULES: dict[str, _Rule] = {
    "eta": _Rule(float, 0, 1, low_open=True),
    "max_depth": _Rule(int, 0, 64),
    "min_child_weight": _Rule(float, 0),
    "subsample": _Rule(float, 0, 1, low_open=True),
    "colsample_bytree": _Rule(float, 0, 1, low_open=True),
    "colsample_bylevel": _Rule(float, 0, 1, low_open=True),
    "colsample_bynode": _Rule(float, 0, 1, low_open=True),
    "gamma": _Rule(float, 0),
    "lambda": _Rule(float, 0),
    "alpha": _Rule(float, 0),
    "max_delta_step": _Rule(float, 0),
    "scale_pos_weight": _Rule(float, 0, low_open=True),
    "max_bin": _Rule(int, 2, 65_536),
    "tree_method": _Rule(str, choices=("auto", "exact", "approx", "hist")),
    "num_round": _Rule(int, 1, 10_000),
    "early_stopping_rounds": _Rule(int, 1, 1_000),
}
ALIASES = {"learning_rate": "eta", "reg_lambda": "lambda", "reg_alpha": "alpha", "n_estimators": "num_round"}
ROUND_KEYS = ("num_round", "early_stopping_rounds")


def parse_param_options(pairs: Iterable[str]) -> dict[str, str]:
    """`--param key=value` options -> {key: raw value}."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--param {pair!r}: expected key=value, e.g. --param max_depth=4")
        out[key.strip()] = value.strip()
    return out


def validate_params(params: Mapping[str, Any], source: str = "--param") -> dict[str, Any]:
    """Typed, range-checked hyperparameters; an unknown key is an error naming the known ones."""
    out: dict[str, Any] = {}
    for raw_key, value in params.items():
        key = ALIASES.get(raw_key, raw_key)
        rule = PARAM_RULES.get(key)
        if rule is None:
            raise UsageError(
                f"{source}: unknown hyperparameter '{raw_key}'",
                hint="known: " + ", ".join(sorted([*PARAM_RULES, *ALIASES])),
            )
        out[key] = rule.check(raw_key, value, source)
    return out


@dataclass(frozen=True)
class TrainSettings:
    objective: str = "reg:squarederror"
    params: Mapping[str, Any] = field(default_factory=dict)  # validated, without the round keys
    num_round: int = 300
    early_stopping_rounds: int = 20
    test_size: float = 0.2
    seed: int = 42
    num_class: int = 0  # multi:softprob: the number of classes, from the data

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise UsageError(f"unknown objective '{self.objective}'", hint=f"use one of: {', '.join(OBJECTIVES)}")

    def hyperparameters(self) -> dict[str, str]:
        """The same settings as SageMaker's built-in algorithm takes them (all strings)."""
        out = {k: str(v) for k, v in self.params.items()}
        out.update(
            objective=self.objective,
            num_round=str(self.num_round),
            early_stopping_rounds=str(self.early_stopping_rounds),
            seed=str(self.seed),
            eval_metric=eval_metric(self.objective),
        )
        if self.objective == "multi:softprob":
            out["num_class"] = str(self.num_class)
        return out


def settings_from(
    objective: str,
    config_params: Mapping[str, Any],
    overrides: Mapping[str, str],
    num_round: int,
    early_stopping_rounds: int,
    test_size: float,
    seed: int,
) -> TrainSettings:
    """Config hyperparameters, overridden by --param options; round counts may come from either."""
    params = {**validate_params(config_params, "mlpipe.yaml model.params"), **validate_params(overrides)}
    rounds = {k: params.pop(k) for k in ROUND_KEYS if k in params}
    return TrainSettings(
        objective=objective,
        params=params,
        num_round=int(rounds.get("num_round", num_round)),
        early_stopping_rounds=int(rounds.get("early_stopping_rounds", early_stopping_rounds)),
        test_size=test_size,
        seed=seed,
    )


def threads_for(cells: int) -> int:
    """1 for small data; 0 (all cores) when the data is large enough to pay for the threads."""
    return 1 if cells < SINGLE_THREAD_CELLS else 0


def eval_metric(objective: str) -> str:
    return {"binary:logistic": "logloss", "multi:softprob": "mlogloss"}.get(objective, "rmse")


def encode_target(dataset: Dataset, objective: str) -> tuple[Dataset, tuple[str, ...], list[str]]:
    """The dataset with its target as class indices 0..k-1 for a classifier, the class labels, and
    notes (a regression on what looks like classes gets a hint)."""
    import dataclasses

    import numpy as np

    values = np.unique(dataset.target)
    if objective not in CLASSIFIERS:
        if dataset.classes:
            shown = ", ".join(dataset.classes[:5])
            raise ModelError(
                f"target column '{dataset.target_name}' holds class names ({shown}): a regression needs numbers",
                hint="--objective binary:logistic (2 classes) or --objective multi:softprob",
            )
        integers = bool(np.all(values == np.round(values)))
        if integers and len(values) <= FEW_VALUES:
            kind = "binary:logistic" if len(values) == 2 else "multi:softprob"
            note = (
                f"target column '{dataset.target_name}' has only {len(values)} integer values "
                f"({', '.join(f'{v:g}' for v in values[:FEW_VALUES])}): if these are classes, "
                f"train with --objective {kind}"
            )
            return dataset, (), [note]
        return dataset, (), []
    labels = dataset.classes or tuple(f"{v:g}" for v in values)
    if objective == "binary:logistic" and len(labels) != 2:
        raise ModelError(
            f"objective binary:logistic needs 2 classes; column '{dataset.target_name}' has {len(labels)} "
            f"({', '.join(labels[:5])}{', ...' if len(labels) > 5 else ''})",
            hint="--objective multi:softprob for more classes, or reg:squarederror for a number",
        )
    if len(labels) > 1000:
        raise ModelError(f"column '{dataset.target_name}' has {len(labels)} distinct values: too many classes")
    if dataset.classes:
        return dataset, labels, []
    encoded = np.searchsorted(values, dataset.target).astype(np.float64)
    return dataclasses.replace(dataset, target=encoded), labels, []


def holdout_split(rows: int, test_size: float, seed: int) -> tuple[Any, Any]:
    """Row indices (train, validation): the same for the same rows, fraction and seed."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(rows)
    n_valid = min(max(1, round(rows * test_size)), rows - 1)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


@dataclass(frozen=True)
class TrainedModel:
    booster: Any  # xgboost.Booster, cut to its best iteration
    best_iteration: int
    rounds_trained: int
    metrics: dict[str, float]
    importances: list[tuple[str, float]]  # (feature name, total gain), largest first
    train_rows: int
    valid_rows: int
    confusion: list[list[int]] = field(default_factory=list)  # classifiers: [actual][predicted] counts


def train(dataset: Dataset, settings: TrainSettings) -> TrainedModel:
    import numpy as np
    import xgboost as xgb

    if settings.objective in CLASSIFIERS:
        found = set(np.unique(dataset.target).tolist())
        expected = set(map(float, range(settings.num_class or 2)))
        if not found <= expected:
            raise ModelError(f"{settings.objective} needs class indices 0..{len(expected) - 1}: call encode_target")
    train_idx, valid_idx = holdout_split(dataset.rows, settings.test_size, settings.seed)
    dtrain, dvalid = matrices(dataset, train_idx, valid_idx, settings.params)
    params = {
        **settings.params,
        "objective": settings.objective,
        "eval_metric": eval_metric(settings.objective),
        "seed": settings.seed,
        "nthread": threads_for(dataset.features.size),
        **({"num_class": settings.num_class} if settings.objective == "multi:softprob" else {}),
    }
    try:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=settings.num_round,
            evals=[(dvalid, "validation")],
            early_stopping_rounds=settings.early_stopping_rounds,
            verbose_eval=False,
        )
    except xgb.core.XGBoostError as exc:
        raise ModelError(f"XGBoost rejected the training run: {str(exc).splitlines()[0]}") from None
    rounds = booster.num_boosted_rounds()
    best = int(getattr(booster, "best_iteration", rounds - 1))
    # The container predicts with every tree in the file: keep only the trees up to the best round.
    booster = booster[: best + 1]
    predictions = booster.predict(dvalid)
    return TrainedModel(
        booster=booster,
        best_iteration=best,
        rounds_trained=rounds,
        metrics=compute_metrics(settings.objective, dataset.target[valid_idx], predictions),
        importances=importances(booster, dataset.feature_names),
        train_rows=len(train_idx),
        valid_rows=len(valid_idx),
        confusion=confusion(settings.objective, dataset.target[valid_idx], predictions, settings.num_class),
    )


def confusion(objective: str, actual: Any, predicted: Any, num_class: int = 0) -> list[list[int]]:
    """Validation counts by [actual class][predicted class]; empty for a regression."""
    import numpy as np

    if objective not in CLASSIFIERS:
        return []
    k = num_class or 2
    chosen = predicted.argmax(axis=1) if objective == "multi:softprob" else (predicted >= 0.5).astype(int)
    table = np.zeros((k, k), dtype=int)
    np.add.at(table, (np.asarray(actual, dtype=int), chosen), 1)
    return table.tolist()


def matrices(dataset: Dataset, train_idx: Any, valid_idx: Any, params: Mapping[str, Any]) -> tuple[Any, Any]:
    """Training and validation DMatrix; quantized from row blocks for large data (hist method)."""
    import xgboost as xgb

    x, y = dataset.features, dataset.target
    if x.size < QUANTILE_CELLS or params.get("tree_method", "hist") not in ("hist", "auto"):
        return xgb.DMatrix(x[train_idx], label=y[train_idx]), xgb.DMatrix(x[valid_idx], label=y[valid_idx])

    class Blocks(xgb.DataIter):
        def __init__(self, index: Any) -> None:
            self.index, self.position = index, 0
            super().__init__()

        def next(self, input_data: Any) -> bool:
            if self.position >= len(self.index):
                return False
            part = self.index[self.position : self.position + BLOCK_ROWS]
            input_data(data=x[part], label=y[part])
            self.position += BLOCK_ROWS
            return True

        def reset(self) -> None:
            self.position = 0

    max_bin = int(params.get("max_bin", 256))
    dtrain = xgb.QuantileDMatrix(Blocks(train_idx), max_bin=max_bin)
    return dtrain, xgb.QuantileDMatrix(Blocks(valid_idx), ref=dtrain, max_bin=max_bin)


def compute_metrics(objective: str, actual: Any, predicted: Any) -> dict[str, float]:
    import numpy as np

    y = np.asarray(actual, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if objective == "binary:logistic":
        clipped = np.clip(p, 1e-15, 1 - 1e-15)
        logloss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
        return {"auc": _auc(y, p), "accuracy": float(np.mean((p >= 0.5) == (y == 1))), "logloss": logloss}
    if objective == "multi:softprob":
        chosen = np.clip(p[np.arange(len(y)), y.astype(int)], 1e-15, 1.0)
        return {"accuracy": float(np.mean(p.argmax(axis=1) == y)), "mlogloss": float(-np.mean(np.log(chosen)))}
    residual = y - p
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": 1.0 - float(np.sum(residual**2)) / total if total > 0 else math.nan,
    }


def _auc(y: Any, p: Any) -> float:
    """Area under the ROC curve by the rank-sum formula, ties getting their average rank."""
    import numpy as np

    positives = int(np.sum(y == 1))
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p), dtype=np.float64)
    sorted_p = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def importances(booster: Any, feature_names: tuple[str, ...]) -> list[tuple[str, float]]:
    gains = booster.get_score(importance_type="total_gain")
    named = [(feature_names[int(key[1:])], float(value)) for key, value in gains.items()]
    return sorted(named, key=lambda item: item[1], reverse=True)
