"""Shrink a throw-away CodeBuild environment to mlpipe's deploy path: `python -m mlpipe.build.slim`.

botocore ships the API models of ~450 AWS services (28 MB); `mlpipe deploy` calls a handful. In the
build container, which is discarded after the build, the buildspec removes the other models. It
refuses to run anywhere else: only inside CodeBuild (CODEBUILD_BUILD_ID set) and never in the
embedded AWS's local builds (MLPIPE_LOCAL_BUILD set), which share the developer's interpreter.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

# Every service mlpipe's CLI talks to (deploy, status, tail, send, bootstrap, train's control plane).
KEPT_SERVICES = frozenset(
    {
        "sqs",
        "lambda",
        "iam",
        "logs",
        "cloudwatch",
        "s3",
        "sts",
        "sagemaker",
        "sagemaker-runtime",
        "codepipeline",
        "codebuild",
        "codecommit",
        "resourcegroupstaggingapi",
        "sns",
        "events",
    }
)


def removable_models(data_dir: Path) -> list[Path]:
    """Service model directories under botocore/data that mlpipe never loads."""
    return sorted(p for p in data_dir.iterdir() if p.is_dir() and p.name not in KEPT_SERVICES)


def main() -> int:
    if not os.environ.get("CODEBUILD_BUILD_ID") or os.environ.get("MLPIPE_LOCAL_BUILD"):
        sys.stderr.write("mlpipe.build.slim: not in a CodeBuild container: nothing removed\n")
        return 0
    # Located, not imported: this prunes botocore's files and makes no AWS call.
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        sys.stderr.write("mlpipe.build.slim: botocore is not installed: nothing removed\n")
        return 0
    data_dir = Path(spec.origin).parent / "data"
    removed = removable_models(data_dir)
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    sys.stderr.write(f"mlpipe.build.slim: removed {len(removed)} unused botocore service models\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
