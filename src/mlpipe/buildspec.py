"""The CodeBuild buildspec: `templates/buildspec.yml` rendered with the config's `pipeline:` values.

A plain `string.Template` (no jinja): `${name}` is a value, `$$` a literal `$` for the shell.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from string import Template

from mlpipe.config import PipelineConfig
from mlpipe.errors import ConfigError

BUILDSPEC_FILE = "buildspec.yml"


def templates_dir() -> Path:
    """`templates/` of a source checkout, or `mlpipe/templates` inside an installed wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "templates", package.parents[1] / "templates"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"mlpipe's templates are missing (looked in {package / 'templates'})", hint="reinstall mlpipe")


def render_buildspec(pipeline: PipelineConfig) -> str:
    template = Template((templates_dir() / BUILDSPEC_FILE).read_text(encoding="utf-8"))
    # One shell word per requirement, quoted, so "mlpipe==0.1 ; rm -rf" cannot run anything.
    install = " ".join(shlex.quote(part) for part in shlex.split(pipeline.install))
    return template.substitute(python_version=pipeline.python_version, install=install)
