"""The package's layers, and a test that imports only go down (issue 14).

::

    cli                                   (top)
    experiments
    apps
    robustness | explainability | privacy | fairness   (the four dimensions; never each other)
    data | zoo
    _compat, _io, _validation, registry, the package root   (core, bottom)

A module may import from its own layer's package and from any layer below; the four dimension
packages may not import each other, ``data`` and ``zoo`` may not import each other, and library
code never imports ``experiments`` or ``cli``. Every ``import`` / ``from ... import`` statement
anywhere in a module counts (function-local imports too), relative ones resolved.
``importlib.import_module("..x", __package__)`` calls with a constant name count as well.

Demonstration that the test bites (run by ``test_an_inserted_upward_import_is_caught``): a
module ``ai4media_ext/zoo/_tmp_upward.py`` holding ``from ..experiments import _core`` makes
:func:`violations` report ``zoo -> experiments``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ai4media_ext"

#: sub-package (first component under ai4media_ext) -> layer rank
LAYERS: dict[str, int] = {
    "": 0,  # ai4media_ext/__init__.py
    "_compat": 0,
    "_io": 0,
    "_validation": 0,
    "registry": 0,
    "data": 1,
    "zoo": 1,
    "robustness": 2,
    "explainability": 2,
    "privacy": 2,
    "fairness": 2,
    "apps": 3,
    "experiments": 4,
    "cli": 5,
}

#: deprecated re-exports kept for one release (module -> the upward package it re-exports)
DEPRECATED_SHIMS: dict[str, str] = {
    "ai4media_ext.privacy.federated.app": "apps",
}


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _imports(path: Path, root: Path) -> list[tuple[str, int]]:
    """Every ai4media_ext module that ``path`` imports, with the line."""
    module = _module_name(path, root)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                target = node.module or ""
            else:
                target = _resolve(module, is_package, node.level, node.module)
            found.append((target, node.lineno))
            # "from .. import data" imports the sub-package data
            found += [(f"{target}.{a.name}", node.lineno) for a in node.names if a.name != "*"]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
        ):
            arg = node.args[0]
            text = (
                arg.value
                if isinstance(arg, ast.Constant)
                else "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
            )
            if isinstance(text, str) and text.startswith("."):
                level = len(text) - len(text.lstrip("."))
                anchor = module if is_package else module.rsplit(".", 1)[0]
                found.append((_resolve(anchor, True, level, text.lstrip(".")), node.lineno))
            elif isinstance(text, str):
                found.append((text, node.lineno))
    return [(t, line) for t, line in found if t == "ai4media_ext" or t.startswith("ai4media_ext.")]


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    head = parts[1]
    return head if head in LAYERS else None


def violations(root: Path = PACKAGE) -> list[str]:
    """Every upward or sideways import under ``root`` (an ``ai4media_ext`` package folder)."""
    out = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        src = _package_of(module)
        if src is None:
            out.append(f"{module}: sub-package not in LAYERS (add it to the layering)")
            continue
        reported = set()
        for target, line in _imports(path, root):
            dst = _package_of(target)
            if dst is None or dst == src or dst == "" and target == "ai4media_ext":
                continue
            if DEPRECATED_SHIMS.get(module) == dst:
                continue
            upward = LAYERS[dst] > LAYERS[src] or (LAYERS[dst] == LAYERS[src] and dst != src)
            if upward and (line, dst) not in reported:
                reported.add((line, dst))
                out.append(f"{module}:{line}: {src or 'ai4media_ext'} -> {dst} ({target})")
    return out


def test_imports_only_go_down():
    assert violations() == []


def test_every_sub_package_has_a_layer():
    subs = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    subs |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert subs <= set(LAYERS), subs - set(LAYERS)


@pytest.mark.parametrize(
    "where, code, expected",
    [
        ("zoo/_tmp_upward.py", "from ..experiments import _core\n", "zoo -> experiments"),
        ("fairness/_tmp_sideways.py", "import ai4media_ext.privacy\n", "fairness -> privacy"),
        (
            "robustness/_tmp_lazy.py",
            "def f():\n    from ..apps import secure_fl\n",
            "robustness -> apps",
        ),
        (
            "data/_tmp_dynamic.py",
            "import importlib\nimportlib.import_module('..zoo.cnn', __package__)\n",
            "data -> zoo",
        ),
        ("_compat.py", "\nfrom .fairness import report\n", "_compat -> fairness"),
    ],
)
def test_an_inserted_upward_import_is_caught(tmp_path, where, code, expected):
    """Copy the package, insert one offending module, and the checker names it."""
    import shutil

    root = tmp_path / "ai4media_ext"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    assert violations(root) == []
    target = root / where
    target.write_text((target.read_text() if target.exists() else "") + code)
    found = violations(root)
    assert len(found) == 1 and expected in found[0], found


def test_library_code_never_imports_experiments_or_cli():
    bad = [v for v in violations() if "-> experiments" in v or "-> cli" in v]
    assert bad == []
