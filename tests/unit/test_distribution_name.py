"""The distribution name is `mlpipe-aws`: the PyPI name `mlpipe` belongs to an unrelated project.

The command (`mlpipe`) and the import package (`mlpipe`) keep their name; only what `pip install`
names changes, so no document, error or hint may tell anyone to `pip install mlpipe`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "mlpipe-aws"
# `pip install mlpipe`, `pip install 'mlpipe[train]'`, `pip install mlpipe==0.1`... but not mlpipe-aws.
WRONG_INSTALL = re.compile(r"pip3?\s+install\s+(?:-[-\w=]+\s+)*['\"]?mlpipe(?!-aws)(?![\w-])")


def _documents() -> list[Path]:
    roots = [REPO / "README.md", REPO / "docs", REPO / "src", REPO / "templates"]
    found: list[Path] = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        found += [p for p in paths if p.is_file() and p.suffix in {".md", ".py", ".yml", ".yaml", ".json", ".txt"}]
    return found


def test_pyproject_names_the_distribution_and_keeps_the_command() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"mlpipe": "mlpipe.cli.entry:main"}
    extras = " ".join(" ".join(v) for v in project["optional-dependencies"].values())
    assert re.findall(r"\bmlpipe\[", extras) == []  # self-references use the distribution's name


def test_no_document_says_pip_install_mlpipe() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in _documents()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if WRONG_INSTALL.search(line)
    ]
    assert offenders == []


def test_the_pattern_catches_the_wrong_name() -> None:
    assert WRONG_INSTALL.search("pip install mlpipe")
    assert WRONG_INSTALL.search("pip install 'mlpipe[train]'")
    assert WRONG_INSTALL.search("pip install --upgrade mlpipe==0.1.0")
    assert not WRONG_INSTALL.search("pip install mlpipe-aws")
    assert not WRONG_INSTALL.search("pip install 'mlpipe-aws[train]'")
