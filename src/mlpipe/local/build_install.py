"""The install step of a local CodeBuild build: pip's own resolver against the stored wheelhouse.

CodeBuild runs the buildspec's `python -I -m pip install --no-index --require-hashes ...` in the
build image. Here the same command runs through this machine's pip, aimed at the image's Python and
platform (`--dry-run --python-version --platform`), so a missing wheel or a wrong hash fails the
build as it would on AWS. Where the image's Python is this machine's (x86_64 Linux), the wheelhouse
is also really installed, into a venv cached by the lock's digest, and the build runs that; else
the build runs the embedded AWS's own mlpipe, through a small venv that sees the server's packages.
Either environment is linked where the buildspec expects its venv.

The image's AWS CLI is stood in for by a script that knows `aws s3api get-object` (all the
buildspec uses), so the wheelhouse download really goes to the embedded S3, owner check included.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

PIP_INSTALL = re.compile(r"\s-m\s+pip\s+install\b|(^|[\s/])pip3?\s+install\b")
MAKE_VENV = re.compile(r"\s-m\s+venv\s")
PLATFORM = "manylinux2014_x86_64"
PIP_TIMEOUT_S = 900
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")

AWS_SHIM = '''"""The embedded AWS's stand-in for the build image's AWS CLI: `aws s3api get-object` only."""
import argparse, json, sys
import boto3, botocore.exceptions

if sys.argv[1:3] != ["s3api", "get-object"]:
    sys.stderr.write("mlpipe local build: this aws stand-in runs `aws s3api get-object` only\\n")
    sys.exit(252)
parser = argparse.ArgumentParser(prog="aws s3api get-object")
for option in ("--bucket", "--key"):
    parser.add_argument(option, required=True)
parser.add_argument("--expected-bucket-owner")
parser.add_argument("outfile")
args = parser.parse_args(sys.argv[3:])
params = {"Bucket": args.bucket, "Key": args.key}
if args.expected_bucket_owner:
    params["ExpectedBucketOwner"] = args.expected_bucket_owner
try:
    response = boto3.client("s3").get_object(**params)
except botocore.exceptions.ClientError as exc:
    error = exc.response.get("Error", {})
    sys.stderr.write(f"An error occurred ({error.get('Code')}) when calling the GetObject operation: "
                     f"{error.get('Message')}\\n")
    sys.exit(254)
with open(args.outfile, "wb") as out:
    out.write(response["Body"].read())
print(json.dumps({"ContentLength": response.get("ContentLength"), "ETag": response.get("ETag")}))
'''


def cache() -> Path:
    from mlpipe.cache import cache_dir

    return cache_dir() / "local-build"


def tools_dir() -> Path:
    """A directory to put first on a build's PATH: the `aws` stand-in."""
    directory = cache() / "tools"
    script = directory / "aws"
    content = f"#!{sys.executable} -I\n{AWS_SHIM}"
    if not script.is_file() or script.read_text() != content:
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f"aws.{os.getpid()}"
        partial.write_text(content)
        partial.chmod(0o755)
        partial.replace(script)
    return directory


def expand(command: str, env: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), command)


def native(python_version: str) -> bool:
    """True when the image's Python and platform are this machine's: the wheelhouse installs here."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    return python_version == here and sys.platform == "linux" and platform.machine() == "x86_64"


def install(command: str, env: Mapping[str, str], python_version: str, say: Callable[..., None]) -> bool:
    """Run the buildspec's pip install step; False (with pip's output said) when it fails."""
    segment = next(s for s in expand(command, env).split("&&") if PIP_INSTALL.search(s))
    words = shlex.split(segment)
    at = words.index("install")
    interpreter, options = words[0], words[at + 1 :]
    lock = Path(options[options.index("-r") + 1]) if "-r" in options else None
    target = [f"--python-version={python_version}", f"--platform={PLATFORM}", "--implementation=cp"]
    with tempfile.TemporaryDirectory(prefix="mlpipe-pip-") as empty:
        check = ["install", "--dry-run", "--ignore-installed", "--target", f"{empty}/target", *target, *options]
        say(f"[Container] local build: pip resolves for the image (Python {python_version}, {PLATFORM}):")
        if not _pip(check, empty, say):
            return False
        if native(python_version) and lock is not None:
            environment = _installed_venv(lock, options, empty, say)
        else:
            environment = server_environment()
            say(
                f"[Container] local build: this machine runs Python {sys.version.split()[0]}: the build runs the "
                f"embedded AWS's own mlpipe ({environment})"
            )
    if environment is None:
        return False
    if len(Path(interpreter).parents) > 2:  # `<venv>/bin/python`: the buildspec's venv is that environment
        _link(Path(interpreter).parents[1], environment)
    return True


def _pip(args: list[str], cwd: str, say: Callable[..., None], python: str | None = None) -> bool:
    command = [
        sys.executable,
        "-I",
        "-m",
        "pip",
        "--disable-pip-version-check",
        *(["--python", python] if python else []),
    ]
    done = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    say(*[line for line in (done.stdout + done.stderr).splitlines() if line.strip()][-40:])
    return done.returncode == 0


def _installed_venv(lock: Path, options: list[str], empty: str, say: Callable[..., None]) -> Path | None:
    """The wheelhouse really installed, in a venv cached by the lock's digest."""
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    venv = cache() / "venvs" / digest
    if (venv / "bin" / "python").exists():
        say(f"[Container] local build: the lock's environment is installed already ({venv})")
        return venv
    partial = venv.with_name(f"{digest}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run([sys.executable, "-I", "-m", "venv", "--without-pip", str(partial)], check=True, cwd=empty)
    if not _pip(["install", *options], empty, say, python=str(partial / "bin" / "python")):
        shutil.rmtree(partial, ignore_errors=True)
        return None
    if not venv.exists():
        partial.rename(venv)
    shutil.rmtree(partial, ignore_errors=True)
    say(f"[Container] local build: installed the wheelhouse into {venv}")
    return venv


def server_environment() -> Path:
    """A venv whose python sees the embedded AWS's own mlpipe and packages (cached per server setup)."""
    import mlpipe

    source = str(Path(mlpipe.__file__).resolve().parents[1])
    sites = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    lines = [source, *(f"import site; site.addsitedir({p!r})" for p in sites)]
    key = hashlib.sha256("\n".join([sys.executable, *lines]).encode()).hexdigest()[:16]
    venv = cache() / "venvs" / f"server-{key}"
    if not (venv / "bin" / "python").exists():
        partial = venv.with_name(f"{venv.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run([sys.executable, "-I", "-m", "venv", "--without-pip", str(partial)], check=True)
        site_packages = next((partial / "lib").glob("python3*/site-packages"))
        (site_packages / "mlpipe-embedded-aws.pth").write_text("\n".join(lines) + "\n")
        if not venv.exists():
            partial.rename(venv)
        shutil.rmtree(partial, ignore_errors=True)
    return venv


def _link(where: Path, environment: Path) -> None:
    if where.is_symlink() or where.is_file():
        where.unlink()
    elif where.exists():
        shutil.rmtree(where)
    where.parent.mkdir(parents=True, exist_ok=True)
    where.symlink_to(environment, target_is_directory=True)
