"""`python -m mlpipe.build.slim` (in the build container) keeps the botocore model of every service mlpipe's
own code calls; a service added to deploy without it fails every build with 'Unknown service'."""

from __future__ import annotations

import re
from pathlib import Path

from mlpipe.build.slim import KEPT_SERVICES

SRC = Path(__file__).resolve().parents[2] / "src" / "mlpipe"
CALLS = re.compile(
    r"""client\(\s*["']([a-z0-9-]+)["']|Call\(\s*["']([a-z0-9-]+)["']|aws\(\s*clients,\s*["']([a-z0-9-]+)["']"""
)


def test_every_service_the_cli_calls_is_kept() -> None:
    used: set[str] = set()
    for path in SRC.rglob("*.py"):
        if "local" in path.relative_to(SRC).parts:  # the embedded AWS never runs in a build
            continue
        for match in CALLS.finditer(path.read_text(encoding="utf-8")):
            used.add(next(g for g in match.groups() if g))
    assert {"sqs", "lambda", "s3", "sns"} <= used  # the scan finds them
    assert used - KEPT_SERVICES == set()
