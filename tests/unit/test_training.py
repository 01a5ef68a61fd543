"""XGBoost training: validated hyperparameters, a reproducible split, early stopping, honest metrics."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, r2_score, roc_auc_score

from conftest import BOSTON_CSV
from mlpipe.errors import ModelError, UsageError
from mlpipe.model.data import Dataset, load
from mlpipe.model.training import (
    TrainSettings,
    encode_target,
    holdout_split,
    parse_param_options,
    settings_from,
    train,
    validate_params,
)


def settings(**overrides: object) -> TrainSettings:
    base: dict = {"num_round": 60, "early_stopping_rounds": 5, "seed": 3}
    base.update(overrides)
    return TrainSettings(**base)


def test_param_options_parse_and_validate() -> None:
    raw = parse_param_options(["max_depth=4", "learning_rate=0.05", "tree_method=hist"])
    assert validate_params(raw) == {"max_depth": 4, "eta": 0.05, "tree_method": "hist"}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["max_depth"], "expected key=value"),
        (["depth=3"], "unknown hyperparameter 'depth'"),
        (["max_depth=3.5"], "max_depth=3.5: must be an integer"),
        (["eta=0"], "eta=0: must be > 0"),
        (["subsample=1.5"], "subsample=1.5: must be <= 1"),
        (["eta=fast"], "eta=fast: must be a number"),
        (["tree_method=gpu"], "must be one of auto, exact, approx, hist"),
    ],
)
def test_invalid_params_are_usage_errors(pairs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        validate_params(parse_param_options(pairs))


def test_round_counts_come_from_params_or_config_and_objective_is_checked() -> None:
    s = settings_from("reg:squarederror", {"max_depth": 3}, {"num_round": "7"}, 300, 20, 0.2, 1)
    assert (s.num_round, s.early_stopping_rounds, dict(s.params)) == (7, 20, {"max_depth": 3})
    assert s.hyperparameters()["num_round"] == "7"
    with pytest.raises(UsageError, match="unknown objective 'multi:softmax'"):
        TrainSettings(objective="multi:softmax")


def test_holdout_split_is_reproducible_disjoint_and_seeded() -> None:
    train_a, valid_a = holdout_split(100, 0.2, seed=5)
    train_b, valid_b = holdout_split(100, 0.2, seed=5)
    assert (train_a == train_b).all() and (valid_a == valid_b).all()
    assert len(valid_a) == 20 and not set(train_a) & set(valid_a) and len(set(train_a) | set(valid_a)) == 100
    assert not (holdout_split(100, 0.2, seed=6)[1] == valid_a).all()


def test_boston_regression_metrics_match_an_independent_computation() -> None:
    ds = load(BOSTON_CSV, "0")
    model = train(ds, settings())
    _, valid = holdout_split(ds.rows, 0.2, 3)
    predicted = model.booster.predict(xgb.DMatrix(ds.features[valid]))
    actual = ds.target[valid]
    assert model.metrics["rmse"] == pytest.approx(np.sqrt(np.mean((actual - predicted) ** 2)), rel=1e-9)
    assert model.metrics["mae"] == pytest.approx(mean_absolute_error(actual, predicted), rel=1e-9)
    assert model.metrics["r2"] == pytest.approx(r2_score(actual, predicted), rel=1e-9)
    assert model.metrics["r2"] > 0.6  # a real model of house prices, not noise
    # Early stopping: the booster is cut to its best round, so the container serves that model.
    assert model.booster.num_boosted_rounds() == model.best_iteration + 1 <= model.rounds_trained
    assert model.importances[0][0] in ds.feature_names
    assert {name for name, _ in model.importances} <= set(ds.feature_names)


def test_training_is_reproducible_for_a_seed() -> None:
    ds = load(BOSTON_CSV, "0")
    a = train(ds, settings(params={"subsample": 0.8}))
    b = train(ds, settings(params={"subsample": 0.8}))
    assert a.booster.save_raw("ubj") == b.booster.save_raw("ubj")
    assert a.metrics == b.metrics


def classification_data(rows: int = 200) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=rows) > 0).astype(float)
    return Dataset(x, y, ("a", "b", "c"), "label", "test", "0" * 64)


def test_binary_classification_metrics() -> None:
    ds = classification_data()
    model = train(ds, settings(objective="binary:logistic"))
    _, valid = holdout_split(ds.rows, 0.2, 3)
    p = model.booster.predict(xgb.DMatrix(ds.features[valid]))
    y = ds.target[valid]
    assert model.metrics["auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-9)
    assert model.metrics["accuracy"] == pytest.approx(accuracy_score(y, p >= 0.5))
    assert model.metrics["logloss"] == pytest.approx(log_loss(y, p), rel=1e-6)
    assert model.metrics["auc"] > 0.8


def test_binary_objective_refuses_a_non_binary_target() -> None:
    ds = load(BOSTON_CSV, "0")
    with pytest.raises(ModelError, match=r"binary:logistic needs 2 classes; column '0' has \d+ \("):
        encode_target(ds, "binary:logistic")
    with pytest.raises(ModelError, match=r"needs class indices 0\.\.1"):
        train(ds, settings(objective="binary:logistic"))


def test_binary_classes_of_any_two_values_are_encoded_and_labelled() -> None:
    ds = classification_data()
    shifted = Dataset(ds.features, ds.target * 4 + 3, ds.feature_names, "label", "test", "0" * 64)  # 3 and 7
    encoded, labels, notes = encode_target(shifted, "binary:logistic")
    assert labels == ("3", "7") and set(encoded.target.tolist()) == {0.0, 1.0} and notes == []
    model = train(encoded, settings(objective="binary:logistic"))
    assert len(model.confusion) == 2 and sum(map(sum, model.confusion)) == model.valid_rows


def test_a_regression_on_few_integer_values_gets_a_hint() -> None:
    _, labels, notes = encode_target(classification_data(), "reg:squarederror")
    assert labels == () and "train with --objective binary:logistic" in notes[0]
    words = Dataset(np.zeros((3, 1)), np.zeros(3), ("a",), "kind", "t", "0" * 64, (), ("cat", "dog"))
    with pytest.raises(ModelError, match="holds class names \\(cat, dog\\): a regression needs numbers"):
        encode_target(words, "reg:squarederror")


def test_multiclass_iris_metrics_and_confusion() -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    ds = Dataset(iris.data, iris.target.astype(float), tuple(iris.feature_names), "species", "iris", "0" * 64)
    encoded, labels, _ = encode_target(ds, "multi:softprob")
    model = train(encoded, settings(objective="multi:softprob", num_class=3))
    _, valid = holdout_split(ds.rows, 0.2, 3)
    p = model.booster.predict(xgb.DMatrix(ds.features[valid]))
    assert p.shape == (len(valid), 3) and labels == ("0", "1", "2")
    assert model.metrics["accuracy"] == pytest.approx(accuracy_score(ds.target[valid], p.argmax(axis=1)))
    assert model.metrics["mlogloss"] == pytest.approx(log_loss(ds.target[valid], p, labels=[0, 1, 2]), rel=1e-5)
    assert np.trace(np.array(model.confusion)) == round(model.metrics["accuracy"] * len(valid))


def test_a_bad_hyperparameter_in_mlpipe_yaml_is_named_as_such() -> None:
    with pytest.raises(UsageError, match=r"mlpipe.yaml model.params max_depth=deep: must be an integer"):
        settings_from("reg:squarederror", {"max_depth": "deep"}, {}, 10, 5, 0.2, 1)
    with pytest.raises(UsageError, match=r"mlpipe.yaml model.params: unknown hyperparameter 'depth'"):
        settings_from("reg:squarederror", {"depth": 3}, {}, 10, 5, 0.2, 1)
    # an option overrides the file's value
    assert settings_from("reg:squarederror", {"eta": 0.1}, {"eta": "0.3"}, 10, 5, 0.2, 1).params == {"eta": 0.3}


def test_large_data_is_quantized_block_by_block_with_the_same_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlpipe.model.training as training

    ds = load(BOSTON_CSV, "0")
    whole = train(ds, settings())
    monkeypatch.setattr(training, "QUANTILE_CELLS", 1)
    monkeypatch.setattr(training, "BLOCK_ROWS", 50)  # several blocks
    dtrain, _ = training.matrices(ds, *holdout_split(ds.rows, 0.2, 3), {})
    assert isinstance(dtrain, xgb.QuantileDMatrix)
    blocks = train(ds, settings())
    assert blocks.metrics == pytest.approx(whole.metrics, rel=1e-6)
