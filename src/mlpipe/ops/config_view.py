"""The effective configuration, flattened, with the source of each value."""

from __future__ import annotations

from typing import Any

from mlpipe.config import LoadedConfig


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and key != "params" and key != "environment":
            out += _flatten(value, dotted + ".")
        else:
            out.append((dotted, value))
    return out


def _source(loaded: LoadedConfig, dotted: str) -> str:
    """The most specific recorded source for a key (a parent's, for whole mappings set at once)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        source = loaded.sources.get(".".join(parts[:i]))
        if source and (i == len(parts) or not source.startswith(str(loaded.path))):
            return source
    return "default"


def effective_values(loaded: LoadedConfig) -> list[tuple[str, Any, str]]:
    """(dotted key, value, source) for every setting."""
    data = loaded.config.model_dump(mode="json")
    return [(key, value, _source(loaded, key)) for key, value in _flatten(data)]
