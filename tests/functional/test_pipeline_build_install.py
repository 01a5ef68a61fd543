"""The CodeBuild project's buildspec run command by command, as CodeBuild would on an image whose
Python is this machine's: download the wheelhouse (owner checked), verify the lock, install into a
fresh venv with hashes and no index, slim it, deploy. Measures what the deploy path weighs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from pipeline_support import cli, make_project

from mlpipe.aws.clients import Clients
from mlpipe.local.build_install import tools_dir

TARGET_MB = 40
HEAVY = ("xgboost", "sklearn", "numpy", "pandas", "sagemaker", "moto", "scipy")
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def _files(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"}


def _run(commands: list[str], cwd: Path, env: dict[str, str]) -> None:
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


@pytest.mark.usefixtures("pypi")
def test_the_projects_buildspec_installs_a_small_locked_deploy_path_that_deploys(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    config_path = make_project(tmp_path / "project", {"app": "slimtest", "pipeline": {"python_version": HERE}})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0
    project = clients.client("codebuild").batch_get_projects(names=["slimtest-dev-deploy"])["projects"][0]
    spec = yaml.safe_load(project["source"]["buildspec"])
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.pathsep.join((str(tools_dir()), str(Path(sys.executable).parent), "/usr/bin:/bin")),
        "HOME": str(home),
        "CODEBUILD_BUILD_ID": "slimtest-dev-deploy:test",  # what CodeBuild sets; mlpipe.build.slim acts only then
        "MLPIPE_STAGE": "dev",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],  # the server's keys (`endpoint_url` exports them)
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": "us-east-1",
        **spec.get("env", {}).get("variables", {}),
    }
    started = time.monotonic()
    _run(spec["phases"]["install"]["commands"], config_path.parent, env)
    site = next((home / "mlpipe-venv" / "lib").glob("python3*/site-packages"))
    installed = {p: size for p, size in _files(site).items() if not p.relative_to(site).parts[0].startswith("pip")}
    installed_mb = sum(installed.values()) / 1e6
    print(
        f"install phase {time.monotonic() - started:.1f}s; deploy path {installed_mb:.1f} MB in {len(installed)} files"
    )
    top_level = {p.relative_to(site).parts[0].split("-")[0].lower() for p in installed}
    assert [name for name in HEAVY if name in top_level] == []
    assert installed_mb <= TARGET_MB

    _run(spec["phases"]["build"]["commands"], config_path.parent, env)
    function = clients.client("lambda").get_function(FunctionName="slimtest-dev-predict")
    assert function["Configuration"]["State"] in ("Active", "Pending")
