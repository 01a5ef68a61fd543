"""What the SageMaker XGBoost container does with a model.tar.gz and an invocation, reproduced.

Used by the embedded AWS's InvokeEndpoint and by the compatibility test of training: a model that
serves right here is loaded the way the container loads it.

- Every regular file at the archive's root is a model: unpickled if it is a pickle, otherwise
  `xgboost.Booster().load_model(path)`; several files make an ensemble (mean of predictions, the
  most common class for hard-label objectives).
- Input `text/csv` without header, one row per line (or `text/libsvm`); `application/json` and
  anything else answer 415. Output with `Accept: text/csv` (the default): one prediction per line.
- A wrong number of features is a client error (400) carrying xgboost's message.

numpy and xgboost are imported inside the functions: this module is imported by the server.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.model.framework import ServingError

__all__ = ["LoadedModel", "ServingError", "load_artifact", "load_model_dir", "predict", "predict_csv"]

CSV_TYPES = ("text/csv",)
LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")
HARD_LABEL_OBJECTIVES = ("multi:softmax", "binary:hinge")


@dataclass(frozen=True)
class LoadedModel:
    boosters: tuple[Any, ...]
    objective: str
    num_features: int
    files: tuple[str, ...]


def load_model_dir(path: str | Path) -> LoadedModel:
    """Load every regular file of a directory's root, as the container does."""
    import xgboost

    files = sorted(p for p in Path(path).iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ServingError(500, f"no model file found in {path}")
    boosters = []
    for file in files:
        booster = _unpickle(file)
        if booster is None:
            booster = xgboost.Booster()
            try:
                # "Unknown file format ... Using UBJSON": expected, as in the container. xgboost logs it
                # from C++ (not a Python warning), so only its verbosity silences it.
                with warnings.catch_warnings(), xgboost.config_context(verbosity=0):
                    warnings.filterwarnings("ignore", message=".*Unknown file format")
                    booster.load_model(str(file))
            except xgboost.core.XGBoostError as exc:
                raise ServingError(500, f"cannot load model file {file.name}: {_first_line(exc)}") from None
        boosters.append(booster)
    config = json.loads(boosters[0].save_config())
    return LoadedModel(
        boosters=tuple(boosters),
        objective=str(config["learner"]["objective"]["name"]),
        num_features=int(boosters[0].num_features()),
        files=tuple(f.name for f in files),
    )


def load_artifact(tar_gz: bytes) -> LoadedModel:
    """Load a model.tar.gz (bytes) the way the container does."""
    with tempfile.TemporaryDirectory(prefix="mlpipe-model-") as tmp:
        try:
            with tarfile.open(fileobj=io.BytesIO(tar_gz), mode="r:gz") as tar:
                for member in tar.getmembers():
                    if member.isfile() and "/" not in member.name.strip("./"):
                        data = tar.extractfile(member)
                        if data is not None:
                            (Path(tmp) / Path(member.name).name).write_bytes(data.read())
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ServingError(500, f"model artifact is not a valid .tar.gz: {exc}") from None
        return load_model_dir(tmp)


def predict_csv(model: LoadedModel, body: bytes) -> bytes:
    """text/csv rows in, one prediction per line out."""
    return predict(model, body, "text/csv", "text/csv")[0]


def predict(model: LoadedModel, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
    """(response body, response content type) for one invocation, or ServingError."""
    kind = (content_type or "text/csv").split(";")[0].strip().lower()
    if kind in CSV_TYPES:
        matrix = _csv_matrix(body, model.num_features)
    elif kind in LIBSVM_TYPES:
        matrix = _libsvm_matrix(body, model.num_features)
    else:
        raise ServingError(415, f"Content type {kind} is not supported by this framework. Use text/csv or text/libsvm.")
    scores = _ensemble_predict(model, matrix)
    return _encode(scores, accept)


def _csv_matrix(body: bytes, num_features: int) -> Any:
    import numpy as np
    import xgboost

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ServingError(400, "Loading csv data failed: the body is not UTF-8 text") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append([float(v) if v.strip() else np.nan for v in line.split(",")])
        except ValueError:
            raise ServingError(400, f"Loading csv data failed: line {number} is not numeric csv") from None
    if not rows:
        raise ServingError(400, "Loading csv data failed: no rows in the request body")
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise ServingError(400, f"Loading csv data failed: rows have different numbers of columns {sorted(widths)}")
    width = widths.pop()
    if num_features and width != num_features:
        raise ServingError(400, f"Feature shape mismatch, expected: {num_features}, got {width}")
    return xgboost.DMatrix(np.asarray(rows, dtype=np.float32))


def _libsvm_matrix(body: bytes, num_features: int) -> Any:
    import numpy as np
    import xgboost

    rows = []
    for number, line in enumerate(body.decode("utf-8", "replace").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        row = np.full(num_features, np.nan, dtype=np.float32)
        for token in parts[1:] if ":" not in parts[0] else parts:
            try:
                index, value = token.split(":", 1)
                row[int(index)] = float(value)
            except (ValueError, IndexError):
                raise ServingError(400, f"Loading libsvm data failed: line {number}, token {token!r}") from None
        rows.append(row)
    if not rows:
        raise ServingError(400, "Loading libsvm data failed: no rows in the request body")
    return xgboost.DMatrix(np.vstack(rows))


def _ensemble_predict(model: LoadedModel, matrix: Any) -> Any:
    import numpy as np
    import xgboost

    try:
        outputs = [booster.predict(matrix, validate_features=False) for booster in model.boosters]
    except xgboost.core.XGBoostError as exc:
        raise ServingError(400, _first_line(exc)) from None
    if len(outputs) == 1:
        return outputs[0]
    stacked = np.stack(outputs)
    if model.objective in HARD_LABEL_OBJECTIVES:
        # Most common label per row across the members.
        return np.apply_along_axis(lambda column: np.bincount(column.astype(int)).argmax(), 0, stacked)
    return stacked.mean(axis=0)


def _encode(scores: Any, accept: str | None) -> tuple[bytes, str]:
    kind = (accept or "text/csv").split(";")[0].strip().lower()
    values = scores.tolist()
    if kind == "application/json":
        return json.dumps({"predictions": [{"score": v} for v in values]}).encode(), "application/json"
    if kind not in ("text/csv", "*/*"):
        raise ServingError(406, f"Accept type {kind} is not supported; use text/csv or application/json")
    lines = [",".join(repr(float(x)) for x in v) if isinstance(v, list) else repr(float(v)) for v in values]
    return ("\n".join(lines) + "\n").encode(), "text/csv"


def _unpickle(file: Path) -> Any:
    try:
        with file.open("rb") as f:
            return pickle.load(f)  # the container does exactly this with a model it was given
    except Exception:
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
