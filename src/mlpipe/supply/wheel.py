"""The wheel of the mlpipe that is running, built from the very files that run.

Deterministic: sorted entries, fixed timestamps and modes, so the same code gives the same bytes
(and the same sha256 in the lock). It needs no build backend and no network, and works the same
from a source checkout (templates/ beside src/) and from an installed wheel (mlpipe/templates).
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from mlpipe import __version__

DISTRIBUTION = "mlpipe-aws"  # the PyPI name (`mlpipe` is an unrelated project); the package stays `mlpipe`
REQUIRES_PYTHON = ">=3.11"
ENTRY_POINTS = "[console_scripts]\nmlpipe = mlpipe.cli.entry:main\n"
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def _source_pyproject() -> Path | None:
    """pyproject.toml of the source checkout mlpipe runs from, if it is one (src/ layout)."""
    candidate = package_dir().parents[1] / "pyproject.toml"
    return candidate if candidate.is_file() else None


def requirements() -> list[str]:
    """The deploy path's requirements (no extras): what the wheel declares as Requires-Dist."""
    pyproject = _source_pyproject()
    if pyproject is not None:
        import tomllib

        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == DISTRIBUTION:
            return [str(r) for r in project.get("dependencies", [])]
    from importlib import metadata

    declared = metadata.requires(DISTRIBUTION) or []
    return [r for r in declared if "extra ==" not in r.replace("extra==", "extra ==")]


def _walk(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        hidden = any(p in SKIPPED_DIRS or p.startswith(".") for p in parts)
        if path.is_file() and not hidden and path.suffix not in (".pyc", ".pyo"):
            yield f"{prefix}/{'/'.join(parts)}", path


def package_files() -> dict[str, bytes]:
    """Archive name -> content of every file of the running package, templates included."""
    from mlpipe.bundled import templates_dir

    files = {name: path.read_bytes() for name, path in _walk(package_dir(), "mlpipe")}
    if not any(name.startswith("mlpipe/templates/") for name in files):  # a source checkout keeps them outside
        files.update({name: path.read_bytes() for name, path in _walk(templates_dir(), "mlpipe/templates")})
    return dict(sorted(files.items()))


def source_digest() -> str:
    """sha256 of the code and the declared requirements: changes whenever the wheel would."""
    digest = hashlib.sha256()
    for name, content in package_files().items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    digest.update("\n".join(requirements()).encode())
    return digest.hexdigest()


def _record_hash(content: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()


def _metadata() -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DISTRIBUTION}",
        f"Version: {__version__}",
        "Summary: From a CSV file to a serverless XGBoost inference architecture on AWS, with CI/CD",
        f"Requires-Python: {REQUIRES_PYTHON}",
        *(f"Requires-Dist: {r}" for r in requirements()),
    ]
    return "\n".join(lines) + "\n"


def wheel_name() -> str:
    return f"{re.sub(r'[-.]+', '_', DISTRIBUTION)}-{__version__}-py3-none-any.whl"


def build_wheel(directory: Path) -> Path:
    """Write the wheel into `directory`; returns its path."""
    dist_info = f"{re.sub(r'[-.]+', '_', DISTRIBUTION)}-{__version__}.dist-info"
    files = package_files()
    files[f"{dist_info}/METADATA"] = _metadata().encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: mlpipe\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist_info}/entry_points.txt"] = ENTRY_POINTS.encode()
    record = "".join(f"{name},{_record_hash(content)},{len(content)}\n" for name, content in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = directory / wheel_name()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content, compresslevel=9)
    return path
