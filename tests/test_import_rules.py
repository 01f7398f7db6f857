"""The import map of publisher, read from the source (ast): no cycle, and no stage importing a layer above it.

The rules are those of the target layout (../shared/ARCHITECTURE.md), written with today's module
names. Where today's code does not follow a rule yet, the import is listed in ALLOWED with the
reason; a new import that breaks a rule (or a listed one that is gone, so that the list stays
true) fails this test. An entry whose importing module is not in this tree (a colleague's branch
not merged yet, e.g. #17's pgstore) is kept without that check until the module arrives. Imports under ``if TYPE_CHECKING:`` are annotations only and not counted.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


PACKAGE = Path(__file__).resolve().parent.parent / "publisher"

# --- today's modules in the layers of the target layout ----------------------------------------

#: The three stages of the front half, in pipeline order (file -> Article -> TranslatedArticle -> Thread).
ARTICLES = "publisher.articles"
TRANSLATE = "publisher.translate"  # the package and everything in it
THREADS = "publisher.threads"
#: What the stages may import besides each other (downstream): records, errors, text, paths, lengths.
STAGE_BASE = {"publisher", "publisher.models", "publisher.errors", "publisher.text", "publisher.config",
              "publisher.workspace", "publisher.lengths", "publisher.bounds", "publisher.textsafe", "publisher.limits",
              "publisher.clock"}
"""(workspace.py is the workspace discovery the layout puts in config.py; textsafe and limits are #11's;
clock.py is a base module of the layout too: the translation: block's time-outs use its parse_duration.)"""
#: Edges the layout itself permits: the translation cache opens its database with the shared,
#: safe opener and migration runner (the layout's queue/db.py, "shared with translate/cache.py").
PERMITTED = {("publisher.translate.cache", "publisher.queue.db")}
#: The queue: the owner of publisher.db.
QUEUE = "publisher.queue"
QUEUE_BASE = {"publisher", "publisher.models", "publisher.errors", "publisher.config", "publisher.clock"}
SCHEDULE = "publisher.schedule"
APP = {"publisher.app", "publisher.preview", "publisher.settings"}  # the use cases (preview.py: the preview's; settings.py: what a run uses)
CLI = "publisher.cli"

#: Imports that break a rule today, each with why it is still there (all are inside functions).
#: Remove an entry when its import goes (the test says so); never add one without a reason a
#: reviewer would accept.
ALLOWED: dict[tuple[str, str], str] = {
}

#: Imports inside functions that close a cycle, set aside by the cycle test; each is lazy for a
#: reason (start-up time, or a layer above that the layout will remove).
LAZY_CYCLES: dict[tuple[str, str], str] = {
    ("publisher.config", "publisher.workspace"): "config names where the database came from (workspace discovery)",
    ("publisher.models", "publisher.media"): "Thread.content_hash includes media identity (records above a stage)",
    ("publisher.clock", "publisher.schedule.config"): "the time zone of schedule.yaml when none is given",
    ("publisher.queue.database", "publisher.queue.pgstore"): "the connection factory loads the PostgreSQL backend only for a postgresql:// URL (psycopg stays out of --help)",
}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    lazy: bool
    """Inside a function (imported when it runs), not at the top of the module."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".")
            if not is_package:
                base = base[:-1]
            base = base[:len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
    out = []
    for name in names:
        while name and name not in MODULES and "." in name:  # `import publisher.cli.queue` as a name
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module:
            out.append(name)
    return out


def _imports() -> list[Import]:
    found: list[Import] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"

        def walk(node: ast.AST, lazy: bool) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    for other in child.orelse:
                        walk_one(other, lazy)
                    continue  # annotations only
                walk_one(child, lazy)

        def walk_one(child: ast.AST, lazy: bool) -> None:
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, child, is_package):
                    found.append(Import(module, target, child.lineno, lazy))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, True)
            else:
                walk(child, lazy)

        walk(tree, False)
    return found


IMPORTS = _imports()


def _in(module: str, group: set[str] | str) -> bool:
    if isinstance(group, str):
        return module == group or module.startswith(group + ".")
    return module in group


def _cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _violations() -> dict[tuple[str, str], str]:
    """(importer, imported) -> the rule it breaks, for every import in the package."""
    broken: dict[tuple[str, str], str] = {}
    for imp in IMPORTS:
        a, b = imp.source, imp.target
        rule = None
        stage = (0 if _in(a, ARTICLES) else 1 if _in(a, TRANSLATE) else 2 if _in(a, THREADS) else None)
        if stage is not None:
            b_stage = (0 if _in(b, ARTICLES) else 1 if _in(b, TRANSLATE) else 2 if _in(b, THREADS) else None)
            if b_stage is None and b not in STAGE_BASE:
                rule = "a stage imports only models, errors, text, config, lengths and the stages before it"
            elif b_stage is not None and b_stage > stage:
                rule = "a stage never imports a later stage"
        elif _in(a, QUEUE) and not (_in(b, QUEUE) or b in QUEUE_BASE):
            rule = "the queue imports only models, errors, the clock and config"
        if _in(a, "publisher.platforms") and (_in(b, SCHEDULE) or _in(b, APP)):
            rule = "platforms never import schedule or the app"
        if _in(a, SCHEDULE) and _in(b, THREADS):
            rule = "schedule never imports threads"
        if _in(b, CLI) and not (_in(a, CLI) or a == "publisher.__main__"):
            rule = "only the CLI imports the CLI"
        if _in(a, APP) and _in(b, "publisher.daemon"):
            rule = "the app never imports the daemon"
        if rule and (a, b) not in PERMITTED:
            broken[(a, b)] = rule
    return broken


def test_the_import_reader_sees_the_imports_it_should():
    """Guards the reader itself: a known top-level, lazy, relative and package-relative import."""
    pairs = {(i.source, i.target, i.lazy) for i in IMPORTS}
    assert ("publisher.threads.layout", "publisher.models", False) in pairs
    assert ("publisher.platforms.x", "publisher.platforms.registry", False) in pairs
    assert ("publisher.translate.markup", "publisher.translate.splitter", False) in pairs
    assert any(s == "publisher.cli.accounts" and t == "publisher.queue.outbox" and lazy for s, t, lazy in pairs)
    assert not any(s == "publisher.app" and t.startswith("publisher.threads.") and not lazy for s, t, lazy in pairs), \
        "the app imports threads under TYPE_CHECKING and in functions only"


def test_no_cycle_among_top_level_imports():
    assert _cycles({(i.source, i.target) for i in IMPORTS if not i.lazy}) == []


def test_no_cycle_once_the_listed_lazy_imports_are_set_aside():
    """Imports inside functions may close a cycle only where LAZY_CYCLES says why."""
    edges = {(i.source, i.target) for i in IMPORTS}
    assert [e for e in LAZY_CYCLES if e not in edges and e[0] in MODULES] == []  # gone: take it off the list
    lazy_only = {(i.source, i.target) for i in IMPORTS if i.lazy} - {(i.source, i.target) for i in IMPORTS
                                                                   if not i.lazy}
    assert {e for e in LAZY_CYCLES if e[0] in MODULES} <= lazy_only, "a top-level import never closes a cycle"
    assert _cycles(edges - set(LAZY_CYCLES)) == []


def test_platforms_base_has_no_cycle_with_its_adapters():
    edges = {(i.source, i.target) for i in IMPORTS}
    assert not any(a == "publisher.platforms.base" and b.startswith("publisher.platforms.") for a, b in edges)
    assert not any(a == "publisher.platforms.base" and b in ("publisher.schedule.config", "publisher.app")
                   for a, b in edges)


def test_the_dependency_rules_hold_except_where_listed():
    broken = _violations()
    new = {pair: rule for pair, rule in broken.items() if pair not in ALLOWED}
    assert new == {}, "imports that break the layout's rules: " + "; ".join(
        f"{a} -> {b} ({rule})" for (a, b), rule in sorted(new.items()))
    gone = [pair for pair in ALLOWED if pair not in broken and pair[0] in MODULES]
    assert gone == [], f"listed in ALLOWED but no longer imported (or no longer a violation): {gone}"


