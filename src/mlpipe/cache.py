"""Where mlpipe keeps what it can rebuild (wheelhouses, the embedded AWS's state and build venvs).

A module of its own, stdlib only, so that supply/ and local/ both read the one rule without
either depending on the other.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """MLPIPE_CACHE_DIR, else $XDG_CACHE_HOME/mlpipe, else ~/.cache/mlpipe."""
    explicit = os.environ.get("MLPIPE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlpipe"
