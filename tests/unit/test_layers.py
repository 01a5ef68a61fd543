"""The layers import downwards only: cli -> ops -> plan -> aws, and the emulator (local/) is reached
through HTTP, never imported by the layers that call AWS. Every import counts, also one inside a
function or under TYPE_CHECKING: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "mlpipe"

# package -> the mlpipe packages it must never import
FORBIDDEN = {
    "aws": ("mlpipe.local", "mlpipe.cli", "mlpipe.ops", "mlpipe.plan"),
    "plan": ("mlpipe.local", "mlpipe.cli", "mlpipe.ops"),
    "ops": ("mlpipe.local", "mlpipe.cli"),
    "policies": ("mlpipe.local", "mlpipe.cli", "mlpipe.ops", "mlpipe.plan", "mlpipe.aws"),
    "model": ("mlpipe.local", "mlpipe.cli", "mlpipe.ops", "mlpipe.plan", "mlpipe.aws"),
    "supply": ("mlpipe.local", "mlpipe.cli", "mlpipe.ops"),
    "build": ("mlpipe.local", "mlpipe.cli", "mlpipe.ops", "mlpipe.plan"),
}


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` (the module named `module`) imports, relative imports resolved, and
    every string naming an mlpipe module (importlib.import_module("mlpipe.local.x")). In a package's
    __init__.py, `from .x import y` is relative to the package itself."""
    found: set[str] = set()
    package = module if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            name = ".".join(part for part in (base, node.module or "") if part)
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_a_module(node.value):
            found.add(node.value)
    return found


def _names_a_module(text: str) -> bool:
    return text.startswith("mlpipe.") and text.replace(".", "").replace("_", "").isalnum()


def violations(source: str, module: str, forbidden: tuple[str, ...], is_package: bool = False) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for name in imported_modules(source, module, is_package)
        if any(name == banned or name.startswith(banned + ".") for banned in forbidden)
    )


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it_or_the_emulator(package: str) -> None:
    found = [
        line
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for line in violations(
            path.read_text(encoding="utf-8"), _module_name(path), FORBIDDEN[package], path.name == "__init__.py"
        )
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "from mlpipe.local.state import read_state\n",
        "def f():\n    from mlpipe.local import control\n",
        "import mlpipe.local.control as control\n",
        "from ..local import state\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mlpipe.local.state import ServerState\n",
        "import importlib\nimportlib.import_module('mlpipe.local.control')\n",
    ],
)
def test_the_check_sees_every_way_of_importing_the_emulator(source: str) -> None:
    assert violations(source, "mlpipe.aws.clients", FORBIDDEN["aws"]) != []


def test_the_check_allows_what_aws_may_import() -> None:
    source = "from mlpipe.errors import AwsTargetError\nfrom mlpipe.aws.calls import call\nfrom . import errors\n"
    assert violations(source, "mlpipe.aws.clients", FORBIDDEN["aws"]) == []


def test_relative_imports_in_a_package_init_resolve_against_the_package() -> None:
    assert "mlpipe.aws.local_shim" in imported_modules("from .local_shim import x", "mlpipe.aws", is_package=True)
    assert violations("from ..local import server", "mlpipe.aws", ("mlpipe.local",), is_package=True) == [
        "mlpipe.aws imports mlpipe.local",
        "mlpipe.aws imports mlpipe.local.server",
    ]
