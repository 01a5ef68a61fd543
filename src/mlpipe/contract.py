"""The function's reading of rows, used by mlpipe too: one source of truth for train, send and Lambda.

The rules live in templates/handler/payload_rules.py because the handler runs in Lambda, where
mlpipe is not installed: the zip carries the file, and mlpipe loads that very file here. So a cell,
a row and a message body mean the same to `train`, to `send`'s checks and to the deployed function.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mlpipe.lambda_package import handler_dir

if TYPE_CHECKING:
    from mlpipe.config import Config

MODULE = "payload_rules"


@cache
def rules_module() -> ModuleType:
    """templates/handler/payload_rules.py as a module (`mlpipe._payload_rules`)."""
    path = handler_dir() / f"{MODULE}.py"
    spec = importlib.util.spec_from_file_location(f"mlpipe._{MODULE}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def rules(config: Config | None, metadata: Mapping[str, Any] | None) -> Any:
    """The handler's `Rules` for this config and served model (metadata from models/current.json)."""
    meta = metadata or {}
    fn = config.function if config else None
    return rules_module().Rules(
        feature_names=meta.get("feature_names") or (),
        feature_count=int(meta.get("feature_count") or 0),
        missing=config.model.missing_values if config else rules_module().DEFAULT_MISSING,
        allow_missing=fn.allow_missing_features if fn else False,
        max_rows=(fn.max_rows_per_message or 0) if fn else 0,
    )


def function_variables(config: Config) -> dict[str, str]:
    """The reading settings the handler takes from its environment; only those that differ from its
    defaults, so an unchanged config leaves an existing function's environment as it is."""
    out: dict[str, str] = {}
    if tuple(config.model.missing_values) != tuple(rules_module().DEFAULT_MISSING):
        out["MLPIPE_MISSING_VALUES"] = json.dumps(list(config.model.missing_values))
    if config.function.max_rows_per_message:
        out["MLPIPE_MAX_ROWS"] = str(config.function.max_rows_per_message)
    if config.function.allow_missing_features:
        out["MLPIPE_ALLOW_MISSING_FEATURES"] = "true"
    return out
