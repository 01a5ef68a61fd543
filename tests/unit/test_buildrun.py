"""The embedded CodeBuild's build record: a source entry never lands outside the checkout, and a
failed phase's context is what CodePipeline reports, in AWS's words."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlpipe.local.buildrun import Build, SourceError, _check_out


@pytest.mark.parametrize("entry", ["../escaped", "a/../../escaped", "/tmp/escaped", "."])
def test_a_source_entry_outside_the_checkout_is_refused(tmp_path: Path, entry: str) -> None:
    checkout = tmp_path / "src"
    checkout.mkdir()
    with pytest.raises(SourceError, match="outside the source directory") as refused:
        _check_out({entry: b"x"}, checkout)
    assert refused.value.code == "CLIENT_ERROR"
    assert not (tmp_path / "escaped").exists()


def test_source_entries_land_in_the_checkout(tmp_path: Path) -> None:
    _check_out({"mlpipe.yaml": b"app: a\n", "handler/handler.py": b"pass\n"}, tmp_path)
    assert (tmp_path / "handler" / "handler.py").read_bytes() == b"pass\n"


def test_codepipeline_names_the_failed_phase_and_its_context() -> None:
    build = Build("p", "us-east-1", "123456789012", "abc", "codepipeline/x", "/aws/codebuild/p")
    build.add_phase("submitted", "SUCCEEDED", time.time())
    build.add_phase("queued", "FAILED", time.time(), ("ACCESS_DENIED", "Service role r does not allow ..."))
    assert build.finish("FAILED").failure() == (
        "Build terminated with state: FAILED. Phase: QUEUED, Code: ACCESS_DENIED, "
        "Message: Service role r does not allow ..."
    )
    assert (
        build.current_phase == "COMPLETED"
        and build.to_api()["phases"][1]["contexts"][0]["statusCode"] == "ACCESS_DENIED"
    )

    plain = Build("p", "us-east-1", "123456789012", "abc", "codepipeline/x", "/aws/codebuild/p", "prefix")
    plain.add_phase("build", "FAILED", time.time())
    assert plain.finish("FAILED").failure() == "Build terminated with state: FAILED"
    assert plain.to_api()["logs"]["streamName"] == f"prefix/{plain.build_uuid}"
