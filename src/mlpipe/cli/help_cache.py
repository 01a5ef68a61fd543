"""Render every command's help with typer, for the fast path in `cli/entry.py`.

python -m mlpipe.cli.help_cache --write    regenerate help.json
python -m mlpipe.cli.help_cache --check    exit 1 when help.json is stale
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from typing import Any

from mlpipe.cli.entry import HELP_FILE, MIN_WIDTH


def _command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if getattr(command, "hidden", False):
            continue
        paths += _command_paths(command, (*prefix, name))
    return paths


def render_all() -> dict[str, str]:
    """{"send": "<help of mlpipe send>", "": "<help of mlpipe>", ...} as typer prints it."""
    import typer.main

    from mlpipe.cli.app import app

    os.environ["COLUMNS"] = str(MIN_WIDTH)
    root = typer.main.get_command(app)
    texts: dict[str, str] = {}
    for path in _command_paths(root):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            app(args=[*path, "--help"], prog_name="mlpipe", standalone_mode=True)
        texts[" ".join(path)] = buffer.getvalue()
    return texts


def main() -> int:
    texts = render_all()
    if "--write" in sys.argv:
        HELP_FILE.write_text(json.dumps(texts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return 0
    try:
        current = json.loads(HELP_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current != texts:
        print(f"{HELP_FILE} is stale: run `make help`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
