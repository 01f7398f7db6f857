"""The layout's size and path rules, read from the source: modules a newcomer can read in one
sitting, classes that hold one kind of knowledge, and old library paths that stay aliases only.

Sizes are counted in source lines (``ast`` end_lineno), the way ``wc -l`` would; the limits are
the layout's "~500 lines a module, ~300 a class" with a small margin for the ~.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "publisher"
MODULE_LIMIT = 520
CLASS_LIMIT = 310

#: The README's library paths from before the layout; each is an alias of the module that moved.
SHIMS = {"publisher/render.py", "publisher/outbox.py", "publisher/pipeline.py", "publisher/publish.py",
         "publisher/summarize.py", "publisher/editorial.py", "publisher/credits.py", "publisher/cost.py"}


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_longer_than_a_sitting():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in _sources()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MODULE_LIMIT}
    assert long == {}


def test_no_class_holds_more_than_one_kind_of_knowledge():
    big = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > CLASS_LIMIT:
                big[f"{path.relative_to(PACKAGE.parent)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert big == {}


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_an_old_library_path_still_imports(shim):
    import importlib

    name = shim[:-3].replace("/", ".")
    importlib.import_module(name)
    tree = ast.parse((PACKAGE.parent / shim).read_text(encoding="utf-8"))
    defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defined == [], f"{name} re-exports the module that moved; it defines nothing itself"


def test_code_inside_the_package_never_imports_an_old_path():
    old = {s[:-3].replace("/", ".") for s in SHIMS}
    found = []
    for path in _sources():
        if str(path.relative_to(PACKAGE.parent)) in SHIMS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {n}" for n in names if n in old]
    assert found == []
