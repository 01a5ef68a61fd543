"""The wheel of the running mlpipe and the wheelhouse id, without the network: the wheel is
byte-for-byte reproducible and declares what pyproject declares; the id moves with what the build
would install, and only then."""

from __future__ import annotations

import hashlib
import tomllib
import zipfile
from pathlib import Path

import pytest

from mlpipe.supply import wheel, wheelhouse

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_is_reproducible_and_complete(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = wheel.build_wheel(tmp_path / "a"), wheel.build_wheel(tmp_path / "b")
    assert first.name == second.name == f"mlpipe_aws-{wheel.__version__}-py3-none-any.whl"
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
        info = f"mlpipe_aws-{wheel.__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        record = archive.read(f"{info}/RECORD").decode().splitlines()
    assert {"mlpipe/__main__.py", "mlpipe/cli/help.json", "mlpipe/templates/buildspec.yml"} <= names
    assert "mlpipe/templates/handler/handler.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert len(record) == len(names)  # every file listed, RECORD itself last without a hash
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "Name: mlpipe-aws" in metadata
    assert [
        line.removeprefix("Requires-Dist: ") for line in metadata.splitlines() if line.startswith("Requires-Dist")
    ] == (declared["dependencies"])


def test_the_id_moves_with_what_the_build_installs() -> None:
    default = wheelhouse.wheelhouse_id("3.12", None)
    assert default == wheelhouse.wheelhouse_id("3.12", None)  # no-op reruns upload nothing
    assert default.startswith(f"{wheel.__version__}-")
    assert wheelhouse.wheelhouse_id("3.13", None) != default
    assert wheelhouse.wheelhouse_id("3.12", "mlpipe-aws==0.1.0") != default


def test_the_deploy_path_versions_are_the_running_ones() -> None:
    from importlib import metadata

    versions = wheelhouse.installed_versions()
    assert {"boto3", "botocore", "pydantic", "pyyaml", "typer", "rich"} <= set(versions)
    assert versions["boto3"] == metadata.version("boto3")
    assert not {"xgboost", "moto", "numpy", "scikit-learn"} & set(versions)  # extras are not the deploy path


def test_the_lock_lists_every_wheel_with_its_sha256(tmp_path: Path) -> None:
    (tmp_path / "Some_Pkg-1.0-py3-none-any.whl").write_bytes(b"one")
    (tmp_path / "other-2.0.post1-cp312-cp312-manylinux2014_x86_64.whl").write_bytes(b"two")
    assert wheelhouse.lock_text(tmp_path) == (
        f"other==2.0.post1 --hash=sha256:{hashlib.sha256(b'two').hexdigest()}\n"
        f"some-pkg==1.0 --hash=sha256:{hashlib.sha256(b'one').hexdigest()}\n"
    )


@pytest.mark.parametrize(
    ("install", "ok"),
    [
        ("mlpipe-aws==0.1.0", True),
        ("mlpipe-aws[train]==0.1.0 boto3==1.44.8", True),
        ("./dist/mlpipe_aws-0.1.0-py3-none-any.whl", True),
        ("https://example.com/mlpipe_aws-0.1.0-py3-none-any.whl", True),
        ("somepkg", False),
        ("somepkg>=1", False),
        ("mlpipe-aws==0.1.0 somepkg", False),
    ],
)
def test_pipeline_install_must_be_pinned(install: str, ok: bool) -> None:
    from mlpipe.config_sections import pinned_install

    if ok:
        assert pinned_install(install) == install
    else:
        with pytest.raises(ValueError, match="is not pinned"):
            pinned_install(install)
