"""The console-script entry point, with a fast path for help.

`mlpipe --help` must answer in well under 100 ms, but importing typer alone costs ~60 ms on a
small machine. Help text only changes when the code does, so it is rendered once by typer
(`python -m mlpipe.cli.help_cache --write`, run by `make help`) into `help.json` beside this
module, and a test fails when that file is stale. Any other invocation goes through typer.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HELP_FILE = Path(__file__).with_name("help.json")
HELP_FLAGS = ("--help", "-h")
MIN_WIDTH = 80  # typer renders plain help at min(terminal width, 80) columns


def cached_help(argv: list[str]) -> str | None:
    """The pre-rendered help for `mlpipe [command ...] --help` (or bare `mlpipe`), if cached."""
    if argv and argv[-1] not in HELP_FLAGS:
        return None
    path = " ".join(argv[:-1]) if argv else ""
    if any(part.startswith("-") for part in argv[:-1]):
        return None  # global options before the command: let typer parse them
    try:
        columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        columns = MIN_WIDTH
    if columns < MIN_WIDTH:
        return None
    try:
        texts: dict[str, str] = json.loads(HELP_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return texts.get(path)


def main() -> None:
    argv = sys.argv[1:]
    text = cached_help(argv)
    if text is not None:
        sys.stdout.write(text)
        sys.exit(0)
    try:
        from mlpipe.cli.app import main as typer_main
    except KeyboardInterrupt:  # Ctrl-C while the CLI is still loading: nothing has run yet
        sys.stderr.write("Interrupted before mlpipe started: nothing was done\n")
        sys.exit(130)
    typer_main()
