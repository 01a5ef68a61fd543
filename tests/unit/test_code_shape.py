"""Modules stay readable: at most 400 lines; functions at most 60 lines of logic.

A statement that only builds a literal table (a list, tuple, dict or set, however long) counts as one
line: data tables are excepted, logic is not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(REPO / "src" / "mlpipe").rglob("*.py"), *(REPO / "templates").rglob("*.py")])
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
TABLES = (ast.List, ast.Tuple, ast.Dict, ast.Set)


def _is_table(statement: ast.stmt) -> bool:
    value = getattr(statement, "value", None)
    return isinstance(statement, ast.Assign | ast.AnnAssign | ast.Return | ast.Expr) and isinstance(value, TABLES)


def logic_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines the function's statements span, a table-building statement counted as one."""
    lines: set[int] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if _is_table(statement):
                lines.add(statement.lineno)
                continue
            children = [
                getattr(statement, field) for field in ("body", "orelse", "finalbody") if hasattr(statement, field)
            ]
            handlers = getattr(statement, "handlers", [])
            if children or handlers:
                lines.add(statement.lineno)
                for block in children:
                    visit(block)
                for handler in handlers:
                    lines.add(handler.lineno)
                    visit(handler.body)
            else:
                lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))

    visit(function.body)
    return len(lines) + 1  # the def line


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_the_logic_count_ignores_tables_but_not_code() -> None:
    table = "def f():\n    return [\n" + "        1,\n" * 100 + "    ]\n"
    logic = "def g():\n" + "    x = 1\n" * 100
    assert logic_lines(_functions(ast.parse(table))[0]) == 2
    assert logic_lines(_functions(ast.parse(logic))[0]) == 101


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_module_and_function_sizes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES, f"{path.name}: {text.count(chr(10))} lines: split it"
    long = [
        f"{f.name} (line {f.lineno}): {logic_lines(f)} lines"
        for f in _functions(ast.parse(text))
        if logic_lines(f) > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"
