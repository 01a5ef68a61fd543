"""What the rest of mlpipe may know about the AWS SDK without importing it (stdlib only, cheap).

aws/ owns botocore; code outside it that must recognise an SDK exception (the CLI's last-resort
error handler) or find the SDK's files (the build's slimming step) asks here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SDK_PACKAGES = ("botocore", "boto3")


def raised_by_sdk(exc: BaseException) -> bool:
    """An exception from botocore/boto3 itself (nothing translated it into an mlpipe error)."""
    return type(exc).__module__.partition(".")[0] in SDK_PACKAGES


def service_models_dir() -> Path | None:
    """botocore's `data/` directory (one folder per service API model), located without importing it."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"
