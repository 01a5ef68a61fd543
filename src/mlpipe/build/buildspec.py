"""The CodeBuild buildspec: `templates/buildspec.yml` rendered with the pipeline's values.

A plain `string.Template` (no jinja): `${name}` is a value, `$$` a literal `$` for the shell. The
buildspec lives in the CodeBuild project (bootstrap-pipeline sets it, status drift-checks it); it
installs the wheelhouse named by a `WheelhouseRef`, whose lock digest it pins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from string import Template

from mlpipe.bundled import templates_dir
from mlpipe.config import PipelineConfig

BUILDSPEC_FILE = "buildspec.yml"
LOCK_FILE = "requirements.lock"
WHEELS_FILE = "wheels.tar"
WHEELHOUSE_PREFIX = "wheelhouse"


@dataclass(frozen=True)
class WheelhouseRef:
    """Where the build finds its wheelhouse, and the sha256 its lock must have."""

    bucket: str
    account: str
    ident: str  # `<mlpipe version>-<digest>` (supply.wheelhouse.wheelhouse_id)
    lock_sha256: str

    @property
    def prefix(self) -> str:
        return f"{WHEELHOUSE_PREFIX}/{self.ident}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"


def render_buildspec(pipeline: PipelineConfig, wheelhouse: WheelhouseRef) -> str:
    # Every value is a plain token (names, hex digests): nothing a shell would interpret.
    for value in (wheelhouse.bucket, wheelhouse.account, wheelhouse.ident, wheelhouse.lock_sha256):
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise ValueError(f"not a plain token for the buildspec: {value!r}")
    template = Template((templates_dir() / BUILDSPEC_FILE).read_text(encoding="utf-8"))
    return template.substitute(
        python_version=pipeline.python_version,
        bucket=wheelhouse.bucket,
        account=wheelhouse.account,
        prefix=wheelhouse.prefix,
        lock_sha256=wheelhouse.lock_sha256,
        lock_file=LOCK_FILE,
        wheels_file=WHEELS_FILE,
    )
