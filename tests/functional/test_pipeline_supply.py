"""The pipeline's supply chain against the embedded AWS: the build installs the hash-locked
wheelhouse bootstrap-pipeline uploaded, and nothing a commit adds can run in the build."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from pipeline_support import cli, make_project, wait_for_run

from mlpipe.aws.clients import Clients
from mlpipe.build.buildspec import LOCK_FILE, WHEELS_FILE

APP = {"app": "shop", "stage": "dev"}
PIPELINE = "shop-pipeline"
pytestmark = pytest.mark.usefixtures("pypi")


def _write_marker(markers: Path, name: str) -> bytes:
    return f"open({str(markers / name)!r}, 'w').write('ran')\n".encode()


def _hostile_files(markers: Path) -> dict[str, bytes]:
    """What a committer could add to take over the build, each leaving a marker if it ever runs."""
    return {
        "pip/__init__.py": _write_marker(markers, "pip"),
        "pip/__main__.py": _write_marker(markers, "pip-main"),
        "mlpipe/__init__.py": _write_marker(markers, "mlpipe"),
        "mlpipe/__main__.py": _write_marker(markers, "mlpipe-main"),
        "mlpipe/build/slim.py": _write_marker(markers, "mlpipe-slim"),
        "sitecustomize.py": _write_marker(markers, "sitecustomize"),
        "buildspec.yml": (
            f"version: 0.2\nphases:\n  build:\n    commands:\n      - touch {markers / 'buildspec'}\n".encode()
        ),
    }


def _commit(clients: Clients, files: dict[str, bytes], message: str) -> str:
    cc = clients.client("codecommit")
    head = cc.get_branch(repositoryName="shop", branchName="main")["branch"]["commitId"]
    put = [{"filePath": path, "fileContent": content} for path, content in files.items()]
    done = cc.create_commit(
        repositoryName="shop", branchName="main", parentCommitId=head, putFiles=put, commitMessage=message
    )
    return str(done["commitId"])


def _build_log(clients: Clients) -> str:
    logs = clients.client("logs")
    group = "/aws/codebuild/shop-dev-deploy"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    newest = max(streams, key=lambda s: s.get("creationTime", 0))["logStreamName"]
    events = logs.get_log_events(logGroupName=group, logStreamName=newest, startFromHead=True)["events"]
    return "\n".join(e["message"] for e in events)


def test_committed_code_never_runs_in_the_build(tmp_path: Path, clients: Clients, endpoint_url: str) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    hostile = _hostile_files(markers)
    # Control: in a checkout holding these files, the old invocation (`python -m ...` from the
    # checkout) runs them. The build must not.
    checkout = tmp_path / "checkout"
    for path, content in hostile.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_bytes(content)
    subprocess.run([sys.executable, "-m", "mlpipe.build.slim"], cwd=checkout, capture_output=True, timeout=60)
    subprocess.run([sys.executable, "-m", "pip", "--version"], cwd=checkout, capture_output=True, timeout=60)
    assert {"mlpipe", "mlpipe-slim", "pip", "pip-main"} <= {p.name for p in markers.iterdir()}
    for marker in markers.iterdir():
        marker.unlink()

    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    commit = _commit(clients, hostile, "take over the build")
    run = wait_for_run(clients, PIPELINE, 2)
    assert run["status"] == "Succeeded", run
    assert run["sourceRevisions"][0]["revisionId"] == commit
    assert sorted(p.name for p in markers.iterdir()) == []
    log = _build_log(clients)
    assert "--no-index --require-hashes" in log and "pip resolves for the image" in log
    assert "Would install" in log and "mlpipe-aws-" in log  # pip's own resolver, against the wheelhouse


def _wheelhouse_prefix(clients: Clients, bucket: str) -> str:
    keys = [o["Key"] for o in clients.client("s3").list_objects_v2(Bucket=bucket, Prefix="wheelhouse/")["Contents"]]
    return next(k for k in keys if k.endswith(LOCK_FILE)).rsplit("/", 1)[0]


def _rewrite_wheels(clients: Clients, bucket: str, key: str, change: str) -> None:
    s3 = clients.client("s3")
    source = io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=source) as original, tarfile.open(fileobj=buffer, mode="w") as out:
        for member in original.getmembers():
            content = original.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("six-"):
                if change == "missing":
                    continue
                content += b"tampered"
            member.size = len(content)
            out.addfile(member, io.BytesIO(content))
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def test_a_wrong_hash_or_a_missing_wheel_fails_the_build(tmp_path: Path, clients: Clients, endpoint_url: str) -> None:
    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    bucket = next(b["Name"] for b in clients.client("s3").list_buckets()["Buckets"] if b["Name"].startswith("shop-"))
    prefix = _wheelhouse_prefix(clients, bucket)

    _rewrite_wheels(clients, bucket, f"{prefix}/{WHEELS_FILE}", "tampered")
    _commit(clients, {"README.md": b"run again\n"}, "after tampering")
    assert wait_for_run(clients, PIPELINE, 2)["status"] == "Failed"
    assert "DO NOT MATCH THE HASHES" in _build_log(clients)

    _rewrite_wheels(clients, bucket, f"{prefix}/{WHEELS_FILE}", "missing")
    _commit(clients, {"README.md": b"and again\n"}, "after removing a wheel")
    assert wait_for_run(clients, PIPELINE, 3)["status"] == "Failed"
    assert "No matching distribution found for six" in _build_log(clients)

    lock = clients.client("s3").get_object(Bucket=bucket, Key=f"{prefix}/{LOCK_FILE}")["Body"].read()
    clients.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/{LOCK_FILE}", Body=lock + b"evil==6.6.6\n")
    _commit(clients, {"README.md": b"once more\n"}, "after changing the lock")
    assert wait_for_run(clients, PIPELINE, 4)["status"] == "Failed"
    assert "requirements.lock: FAILED" in _build_log(clients)  # the buildspec pins the lock's digest


def test_status_flags_a_buildspec_changed_outside_mlpipe_and_bootstrap_restores_it(
    tmp_path: Path, clients: Clients, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    config_path = make_project(tmp_path / "project", APP)
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0
    codebuild = clients.client("codebuild")
    project = codebuild.batch_get_projects(names=["shop-dev-deploy"])["projects"][0]
    # Someone points the project at the repository's buildspec.yml (which any committer controls).
    codebuild.update_project(name="shop-dev-deploy", source={**project["source"], "buildspec": "buildspec.yml"})
    capsys.readouterr()
    assert cli(config_path, endpoint_url, "--output", "json", "status") == 0
    rows = {(r["kind"], r["name"]): r for r in json.loads(capsys.readouterr().out)["pipeline_resources"]}
    assert rows[("codebuild-project", "shop-dev-deploy")]["state"] == "drifted"
    assert rows[("codebuild-project", "shop-dev-deploy")]["detail"] == "source changed"
    assert [r["state"] for (kind, _), r in rows.items() if kind == "wheelhouse"] == ["in sync"]
    assert cli(config_path, endpoint_url, "bootstrap-pipeline") == 0
    restored = codebuild.batch_get_projects(names=["shop-dev-deploy"])["projects"][0]["source"]["buildspec"]
    assert restored == project["source"]["buildspec"] and "--require-hashes" in restored


def test_a_pinned_install_is_locked_like_the_default_and_pip_runs_outside_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from mlpipe.supply import wheel, wheelhouse

    downloads = tmp_path / "dist"
    downloads.mkdir()
    built = wheel.build_wheel(downloads)  # stands in for a wheel of mlpipe-aws the user downloaded
    checkout = tmp_path / "checkout"
    markers = tmp_path / "markers"
    markers.mkdir()
    for path, content in _hostile_files(markers).items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_bytes(content)
    monkeypatch.chdir(checkout)  # mlpipe runs in a checkout holding a pip/ of someone's

    house = wheelhouse.build("3.12", f"../dist/{built.name}", cache=tmp_path / "cache")
    lock = house.lock.decode()
    assert f"mlpipe-aws=={wheel.__version__} --hash=sha256:{hashlib.sha256(built.read_bytes()).hexdigest()}" in lock
    assert "\nboto3==" in lock and "\npydantic-core==" in lock
    assert all(
        p.name.endswith(("-none-any.whl", "manylinux2014_x86_64.whl")) or "cp312" in p.name for p in house.wheels
    )
    assert sorted(p.name for p in markers.iterdir()) == []


def test_where_the_image_python_is_this_machines_the_build_really_installs_into_a_cached_venv(
    tmp_path: Path, clients: Clients, endpoint_url: str
) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    config_path = make_project(tmp_path / "project", {**APP, "pipeline": {"python_version": here}})
    assert cli(config_path, endpoint_url, "bootstrap-pipeline", "--push") == 0
    assert wait_for_run(clients, PIPELINE, 1)["status"] == "Succeeded"
    first = _build_log(clients)
    assert "pip resolves for the image (Python " + here in first
    assert "installed the wheelhouse into" in first or "the lock's environment is installed already" in first
    _commit(clients, {"README.md": b"again\n"}, "a second build")
    assert wait_for_run(clients, PIPELINE, 2)["status"] == "Succeeded"
    assert "the lock's environment is installed already" in _build_log(clients)  # cached by the lock's digest
    assert clients.client("lambda").get_function(FunctionName="shop-dev-predict")["Configuration"]["FunctionName"]
