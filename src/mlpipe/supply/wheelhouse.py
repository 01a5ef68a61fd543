"""The build's wheelhouse: mlpipe's wheel plus every dependency, locked by sha256, for the build image.

`pip download --only-binary=:all:` fetches wheels for the image's platform and pinned Python (never
an sdist, so no stranger's setup.py runs here or in the build), constrained to the versions this
machine runs. The lock lists every wheel as `name==version --hash=sha256:...`; the build installs
with `pip install --no-index --require-hashes` from it. Built once per id (mlpipe's version, code
and dependencies, the image's Python): cached under mlpipe's cache directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlpipe import __version__
from mlpipe.build.buildspec import LOCK_FILE
from mlpipe.errors import UsageError
from mlpipe.supply import wheel

PLATFORM = "manylinux2014_x86_64"  # CodeBuild's x86_64 Linux images (glibc >= 2.17)
IMPLEMENTATION = "cp"
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+$")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
PIP_TIMEOUT_S = 900


@dataclass(frozen=True)
class Wheelhouse:
    ident: str
    directory: Path  # holds LOCK_FILE and the wheels

    @property
    def lock(self) -> bytes:
        return (self.directory / LOCK_FILE).read_bytes()

    @property
    def lock_sha256(self) -> str:
        return hashlib.sha256(self.lock).hexdigest()

    @property
    def wheels(self) -> list[Path]:
        return sorted(self.directory.glob("*.whl"))

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.wheels)

    def tar_bytes(self) -> bytes:
        """The wheels as one deterministic tar (wheels are zips already: no compression)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path in self.wheels:
                info = tarfile.TarInfo(path.name)
                info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
                with path.open("rb") as stream:
                    archive.addfile(info, stream)
        return buffer.getvalue()


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    """The versions this machine runs of mlpipe's deploy-path dependencies, transitively."""
    from importlib import metadata

    found: dict[str, str] = {}
    pending = list(wheel.requirements())
    while pending:
        requirement = pending.pop()
        match = _NAME.match(requirement)
        if not match or "extra ==" in requirement.replace("extra==", "extra =="):
            continue
        name = normalize(match.group(1))
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = dist.version
        pending += dist.requires or []
    return dict(sorted(found.items()))


def wheelhouse_id(python_version: str, install: str | None) -> str:
    """`<mlpipe version>-<digest>`: a new id whenever what the build would install changes."""
    inputs = {
        "python": python_version,
        "platform": PLATFORM,
        "install": install or {"code": wheel.source_digest(), "versions": installed_versions()},
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return f"{__version__}-{digest}"


def cache_root() -> Path:
    from mlpipe.cache import cache_dir

    return cache_dir() / "wheelhouse"


def build(python_version: str, install: str | None, cache: Path | None = None) -> Wheelhouse:
    """The wheelhouse for the build image, from the cache or built now (network: the package index)."""
    ident = wheelhouse_id(python_version, install)
    final = (cache or cache_root()) / ident
    if (final / LOCK_FILE).is_file():
        return Wheelhouse(ident, final)
    work = final.with_name(f"{ident}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    (work / "local").mkdir(parents=True)
    try:
        roots = _roots(install, work / "local")
        constraints = work / "constraints.txt"
        constraints.write_text("" if install else "".join(f"{n}=={v}\n" for n, v in installed_versions().items()))
        _pip(
            "download",
            "--only-binary=:all:",
            "--platform",
            PLATFORM,
            "--python-version",
            python_version,
            "--implementation",
            IMPLEMENTATION,
            "--dest",
            str(work / "wheels"),
            "--constraint",
            str(constraints),
            *roots,
        )
        (work / "wheels" / LOCK_FILE).write_text(lock_text(work / "wheels"), encoding="utf-8")
        final.parent.mkdir(parents=True, exist_ok=True)
        if not (final / LOCK_FILE).is_file():  # another process may have finished the same id first
            shutil.rmtree(final, ignore_errors=True)
            (work / "wheels").rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Wheelhouse(ident, final)


def _roots(install: str | None, local: Path) -> list[str]:
    """What pip resolves from: the running mlpipe's wheel, or `pipeline.install`'s requirements."""
    if not install:
        return [str(wheel.build_wheel(local))]
    roots = []
    for item in shlex.split(install):
        if not PINNED.match(item) and "://" not in item:  # a local path: from where mlpipe runs, not pip's cwd
            item = str(Path(item).expanduser().resolve())
        if PINNED.match(item) or item.endswith(".whl"):
            roots.append(item)
        else:  # a directory or a VCS URL: built into a wheel here, its dependencies locked like the rest
            _pip("wheel", "--no-deps", "--wheel-dir", str(local), item)
    return roots + [str(p) for p in sorted(local.glob("*.whl"))]


def lock_text(directory: Path) -> str:
    """`name==version --hash=sha256:...` for every wheel in `directory`, sorted by name."""
    lines = []
    for path in sorted(directory.glob("*.whl"), key=lambda p: normalize(p.name.split("-")[0])):
        name, version = path.name.split("-")[:2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{normalize(name)}=={version} --hash=sha256:{digest}\n")
    return "".join(lines)


def _pip(*args: str) -> None:
    # -I and an empty working directory: a `pip/` folder where mlpipe runs (a checkout) cannot stand in
    # for pip. pip's own configuration (index URL, certificates) still applies.
    command = [sys.executable, "-I", "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    try:
        with tempfile.TemporaryDirectory(prefix="mlpipe-pip-") as empty:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, cwd=empty)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot build the pipeline's wheelhouse: `pip {args[0]}` failed: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise UsageError(
            f"cannot build the pipeline's wheelhouse: `pip {args[0]}` failed: {last.strip()}",
            hint="the package index must be reachable (pip's own index settings apply) and every requirement "
            "must have a wheel for the build image (manylinux x86_64, pipeline.python_version)",
        )
