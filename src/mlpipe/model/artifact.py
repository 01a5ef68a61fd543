"""model.tar.gz as the SageMaker XGBoost container expects it, and the metadata stored beside it.

The container loads *every* file at the archive's root as an ensemble member, each first with
pickle and then with `Booster.load_model`, so the archive holds exactly one file: the booster in
xgboost's native UBJSON format (what `load_model` assumes for a file without an extension).
The archive is byte-for-byte reproducible: fixed mtime, owner and mode, no gzip file name.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from datetime import UTC, datetime
from typing import Any

from mlpipe.errors import ModelError

MODEL_FILE = "xgboost-model"


def model_bytes(booster: Any) -> bytes:
    return bytes(booster.save_raw(raw_format="ubj"))


def package(model_file: bytes, name: str = MODEL_FILE) -> bytes:
    """A deterministic gzip'd tar holding only `name` at its root."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(model_file)
        info.mtime = 0
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(model_file))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(tar_buffer.getvalue())
    return out.getvalue()


def root_files(archive: bytes) -> dict[str, bytes]:
    """Every regular file of a model.tar.gz (name -> content); an error for a broken archive."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            return {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelError(f"model artifact is not a valid .tar.gz: {exc}") from None


def build_metadata(
    *,
    version: str,
    feature_names: tuple[str, ...],
    target_name: str,
    objective: str,
    xgboost_version: str,
    container_version: str,
    image_uri: str,
    metrics: dict[str, float],
    data_source: str,
    data_sha256: str,
    hyperparameters: dict[str, str],
    training: str,
    created_at: datetime | None = None,
    framework: str = "xgboost",
) -> dict[str, Any]:
    """What `deploy` and `send` need to know about a model (see docs/CONTRACTS.md)."""
    return {
        "version": version,
        "framework": framework,  # its library's version is under "xgboost_version" (kept for readers)
        "feature_names": list(feature_names),
        "feature_count": len(feature_names),
        "target": target_name,
        "objective": objective,
        "xgboost_version": xgboost_version,
        "container_version": container_version,
        "image_uri": image_uri,
        "metrics": metrics,
        "data_source": data_source,
        "data_sha256": data_sha256,
        "hyperparameters": hyperparameters,
        "training": training,
        "created_at": (created_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
