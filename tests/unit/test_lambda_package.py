"""The Lambda zip: deterministic bytes, only the handler's files, small."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from mlpipe.bundled import templates_dir
from mlpipe.errors import MlpipeError
from mlpipe.lambda_package import MAX_ZIP_BYTES, build_package, handler_dir


def test_bundled_handler_is_packaged_small_with_its_entry_point() -> None:
    package = build_package()
    assert 0 < package.size <= MAX_ZIP_BYTES
    assert "handler.py" in package.files
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        assert archive.namelist() == sorted(archive.namelist())
        assert "def handler(" in archive.read("handler.py").decode()


def test_same_input_same_bytes_whatever_the_timestamps_and_modes(tmp_path: Path) -> None:
    copy = tmp_path / "handler"
    shutil.copytree(handler_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
        path.chmod(0o755 if path.is_dir() else 0o600)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"junk")
    (copy / ".DS_Store").write_bytes(b"junk")
    first, second = build_package(), build_package(copy)
    assert first.zip_bytes == second.zip_bytes
    assert first.sha256 == second.sha256 == base64.b64encode(hashlib.sha256(first.zip_bytes).digest()).decode()


def test_entries_have_fixed_time_and_mode(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("X = 1\n")
    package = build_package(tmp_path)
    assert package.files == ("handler.py", "lib/util.py")
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644


def test_code_change_changes_the_hash(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    one = build_package(tmp_path).sha256
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return 2\n")
    assert build_package(tmp_path).sha256 != one


def test_missing_entry_point_and_oversize_are_errors(tmp_path: Path) -> None:
    with pytest.raises(MlpipeError, match=r"no handler\.py"):
        build_package(tmp_path)
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "blob.bin").write_bytes(os.urandom(MAX_ZIP_BYTES + 1))
    with pytest.raises(MlpipeError, match="budget"):
        build_package(tmp_path)


def test_templates_dir_holds_the_scaffold_and_handler() -> None:
    assert (templates_dir() / "mlpipe.yaml").is_file()
    assert (templates_dir() / "handler" / "handler.py").is_file()
