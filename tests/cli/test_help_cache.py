"""The pre-rendered help (fast path of `mlpipe --help`) must equal what typer renders now."""

from __future__ import annotations

import json

from mlpipe.cli import entry, help_cache


def test_help_json_is_current() -> None:
    stored = json.loads(entry.HELP_FILE.read_text(encoding="utf-8"))
    assert stored == help_cache.render_all(), "help.json is stale: run `make help`"


def test_fast_path_only_for_plain_help_requests(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "120")
    assert entry.cached_help(["--help"]) == json.loads(entry.HELP_FILE.read_text())[""]
    assert entry.cached_help([]) is not None
    assert entry.cached_help(["config", "-h"]) is not None
    assert entry.cached_help(["--local", "config", "--help"]) is None  # options: typer parses them
    assert entry.cached_help(["config", "show"]) is None
    assert entry.cached_help(["no-such-command", "--help"]) is None
    monkeypatch.setenv("COLUMNS", "60")
    assert entry.cached_help(["--help"]) is None  # typer would wrap differently
