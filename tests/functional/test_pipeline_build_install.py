"""The buildspec's install and build commands in a clean virtual environment: what the deploy path
weighs once installed, and that the build really deploys (against the embedded AWS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlpipe.aws.clients import Clients
from mlpipe.buildspec import render_buildspec
from mlpipe.config import PipelineConfig

REPO = Path(__file__).resolve().parents[2]
TARGET_MB = 40
HEAVY = ("xgboost", "sklearn", "numpy", "pandas", "sagemaker", "moto", "scipy")


def _files(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"}


def _run(commands: list[str], cwd: Path, env: dict[str, str]) -> None:
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


@pytest.mark.slow
def test_buildspec_installs_a_small_deploy_path_that_deploys(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = next((venv / "lib").glob("python3*/site-packages"))
    before = _files(site)
    spec = yaml.safe_load(render_buildspec(PipelineConfig(install=str(REPO))))
    project = tmp_path / "project"
    project.mkdir()
    (project / "mlpipe.yaml").write_text("app: slimtest\nstage: dev\n")
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "CODEBUILD_BUILD_ID": "slimtest-dev-deploy:test",  # what CodeBuild sets; mlpipe.slim acts only then
        "MLPIPE_STAGE": "dev",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "mlpipe-local",
        "AWS_SECRET_ACCESS_KEY": "mlpipe-local-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        **spec.get("env", {}).get("variables", {}),
    }
    _run(spec["phases"]["install"]["commands"], project, env)
    added = {p: size for p, size in _files(site).items() if p not in before}
    installed_mb = sum(added.values()) / 1e6
    print(f"deploy path installed: {installed_mb:.1f} MB in {len(added)} files (target <= {TARGET_MB} MB)")
    top_level = {p.relative_to(site).parts[0].split("-")[0].lower() for p in added}
    assert [name for name in HEAVY if name in top_level] == []
    assert installed_mb <= TARGET_MB

    _run(spec["phases"]["build"]["commands"], project, env)
    function = clients.client("lambda").get_function(FunctionName="slimtest-dev-predict")
    assert function["Configuration"]["State"] in ("Active", "Pending")
