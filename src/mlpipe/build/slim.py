"""Shrink a throw-away CodeBuild environment to mlpipe's deploy path: `python -m mlpipe.build.slim`.

The AWS SDK ships the API models of ~450 AWS services (28 MB); `mlpipe deploy` calls a handful. In the
build container, which is discarded after the build, the buildspec removes the other models. It
refuses to run anywhere else: only inside CodeBuild (CODEBUILD_BUILD_ID set) and never in the
embedded AWS's local builds (MLPIPE_LOCAL_BUILD set), which share the developer's interpreter.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from mlpipe.aws.sdk import service_models_dir

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
    """Service model directories of the SDK that mlpipe never loads."""
    return sorted(p for p in data_dir.iterdir() if p.is_dir() and p.name not in KEPT_SERVICES)


def main() -> int:
    if not os.environ.get("CODEBUILD_BUILD_ID") or os.environ.get("MLPIPE_LOCAL_BUILD"):
        sys.stderr.write("mlpipe.build.slim: not in a CodeBuild container: nothing removed\n")
        return 0
    data_dir = service_models_dir()  # located, not imported: this prunes files and makes no AWS call
    if data_dir is None:
        sys.stderr.write("mlpipe.build.slim: the AWS SDK is not installed: nothing removed\n")
        return 0
    removed = removable_models(data_dir)
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    sys.stderr.write(f"mlpipe.build.slim: removed {len(removed)} unused AWS SDK service models\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
