"""Files shipped inside mlpipe: `templates/` (the Lambda handler, the buildspec, the mlpipe.yaml scaffold)."""

from __future__ import annotations

from pathlib import Path

from mlpipe.errors import MlpipeError


def templates_dir() -> Path:
    """`mlpipe/templates` in an installed wheel, `<repo>/templates` in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parents[1] / "templates"):
        if candidate.is_dir():
            return candidate
    raise MlpipeError(
        f"mlpipe's templates are missing (looked in {here / 'templates'} and {here.parents[1] / 'templates'})",
        # Never a bare `pip install <name>`: the PyPI names are not ours to trust (README, install).
        hint="reinstall mlpipe from its clone: `pip install --force-reinstall '/path/to/clone[train,local]'`",
    )
