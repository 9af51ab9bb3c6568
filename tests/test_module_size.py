"""Module and function sizes (issue 14): no module in ``ai4media_ext/`` over 400 lines, no
function body (docstring excluded) over 80 lines, except the ones listed with their reason."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ai4media_ext"
MAX_MODULE, MAX_FUNCTION = 400, 80

#: "module:function" -> why it stays longer (the closing note repeats these)
LONG_FUNCTIONS: dict[str, str] = {}


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
        and len(body) > 1
    ):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1


def sizes() -> tuple[dict[str, int], dict[str, int]]:
    modules, functions = {}, {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        text = path.read_text()
        modules[rel] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                key = f"{rel}:{node.name}"
                functions[key] = max(functions.get(key, 0), _body_lines(node))
    return modules, functions


def test_no_module_over_400_lines():
    modules, _ = sizes()
    assert {m: n for m, n in modules.items() if n > MAX_MODULE} == {}


def test_no_function_over_80_lines_except_the_listed():
    _, functions = sizes()
    long = {f: n for f, n in functions.items() if n > MAX_FUNCTION}
    assert set(long) <= set(LONG_FUNCTIONS), long
    # the list stays honest: an entry that got short again is removed
    assert set(LONG_FUNCTIONS) <= set(long), set(LONG_FUNCTIONS) - set(long)
