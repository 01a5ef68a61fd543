"""The Lambda deployment package: a zip built deterministically from templates/handler/.

Same input, same bytes, same CodeSha256: entries are sorted, timestamps and permissions fixed,
caches left out. Deploy compares that hash with the function's to decide whether code changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.bundled import templates_dir
from mlpipe.errors import MlpipeError

MAX_ZIP_BYTES = 16 * 1024
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
MODEL_FILE = "model.json"  # read by the handler at cold start (templates/handler/handler.py)
FILE_MODE = 0o100644  # regular file, rw-r--r--
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Package:
    zip_bytes: bytes
    files: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """Base64 SHA-256 of the zip, the form Lambda reports as CodeSha256."""
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode()

    @property
    def size(self) -> int:
        return len(self.zip_bytes)


def handler_dir() -> Path:
    return templates_dir() / "handler"


PROJECT_HANDLER_DIR = "handler"  # a project's own handler, next to mlpipe.yaml, replaces the bundled one


def handler_source(project_dir: Path | None) -> Path:
    """The handler to package: the project's `handler/` when it has a handler.py, else mlpipe's.

    `bootstrap-pipeline --push` commits this directory, so a handler change committed to the
    repository is what the pipeline's `mlpipe deploy` packages.
    """
    if project_dir is not None:
        own = project_dir / PROJECT_HANDLER_DIR
        if (own / "handler.py").is_file():
            return own
    return handler_dir()


def project_package(project_dir: Path | None) -> Package:
    """The zip deploy uploads for a project: its own handler/ if it has one, else mlpipe's."""
    return build_package(handler_source(project_dir))


def _included(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    if any(part in SKIPPED_DIRS or part.startswith(".") for part in parts):
        return False
    return path.is_file() and not path.name.endswith(SKIPPED_SUFFIXES)


def build_package(source: Path | None = None) -> Package:
    """Zip every file under `source` (default: the bundled handler) at the zip's root."""
    root = source or handler_dir()
    if not (root / "handler.py").is_file():
        raise MlpipeError(
            f"{root}: no handler.py to package", hint="the Lambda entry point is handler.handler in handler.py"
        )
    files = sorted((p for p in root.rglob("*") if _included(p, root)), key=lambda p: p.relative_to(root).as_posix())
    package = _zip({p.relative_to(root).as_posix(): p.read_bytes() for p in files})
    if package.size > MAX_ZIP_BYTES:
        raise MlpipeError(
            f"the Lambda package is {package.size} bytes, over mlpipe's {MAX_ZIP_BYTES}-byte budget",
            hint=f"keep {root} to the handler and the standard library",
        )
    return package


def _zip(entries: dict[str, bytes]) -> Package:
    """A deterministic zip of `entries` (name -> content), sorted by name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # unix, so the mode above is honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=9)
    return Package(buffer.getvalue(), tuple(sorted(entries)))


def model_facts(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the handler needs to know about the served model (MODEL_FILE), from its metadata."""
    if not metadata or not metadata.get("feature_names"):
        return None
    facts: dict[str, Any] = {"feature_names": list(metadata["feature_names"])}
    if metadata.get("labels"):
        facts["labels"] = [str(label) for label in metadata["labels"]]
    return facts


def with_model(package: Package, metadata: Mapping[str, Any] | None) -> Package:
    """The package plus MODEL_FILE: the served model's feature names (and class labels).

    In the zip rather than the environment: Lambda caps all variables at 4 KB together, which a few
    hundred feature names exceed, while the zip has no such limit and needs no extra permission or
    cold-start call. The file changes only when the names or labels do, so a retrain on the same
    columns leaves CodeSha256, and the function, unchanged. Not counted in MAX_ZIP_BYTES (code only).
    """
    facts = model_facts(metadata)
    if facts is None:
        return package
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries[MODEL_FILE] = json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()
    return _zip(entries)
