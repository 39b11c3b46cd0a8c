"""The package's layers import in one direction only, so the structure cannot drift back.

    cli -> bench -> defs -> domains (argus, calls, forecasting, warehouse, health) -> db -> settings, textsafe

Read statically from the source (every ``import`` and ``from ... import``, at any depth, including
imports inside functions), so a late import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wfm_pipeline"

# A layer may import its own modules and the layers listed for it, nothing above it.
DOMAINS = {"argus", "calls", "forecasting", "warehouse", "health"}
BASE = {"settings", "textsafe", "__init__"}
ALLOWED: dict[str, set[str]] = {
    "cli": {"cli", "bench", "defs", "definitions", *DOMAINS, "db", *BASE},
    # bench -> defs: the import benchmark times the Dagster file assets against `wfm import`
    "bench": {"bench", "defs", *DOMAINS, "db", *BASE},
    "definitions": {"defs", *BASE},
    "defs": {"defs", *DOMAINS, "db", *BASE},
    **{d: {*DOMAINS, "db", *BASE} for d in DOMAINS},
    "db": {"db", *BASE},
    "settings": set(),
    "textsafe": set(),
    "__init__": set(),
}
# Domain code is plain Python: no orchestration or command-line framework.
FORBIDDEN_THIRD_PARTY = {layer: {"dagster", "click"} for layer in {*DOMAINS, "db", "settings", "textsafe"}}


def _layer(module: str) -> str:
    """``wfm_pipeline.argus.loader`` -> ``argus``; ``wfm_pipeline.settings`` -> ``settings``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Absolute names of every module a file imports (relative imports resolved).

    ``from wfm_pipeline.argus import loader`` counts as importing ``wfm_pipeline.argus.loader``
    (not the package), ``from wfm_pipeline.argus import import_file`` as importing the package.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = _module_name(path).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        graph[name].update(m for m in _imports(path) if m != name)
    return graph


GRAPH = _graph()


def test_the_graph_is_read() -> None:
    # Guards the test itself: if parsing found nothing, every assertion below would pass vacuously.
    assert "wfm_pipeline.argus.loader" in GRAPH["wfm_pipeline.cli.imports"] | GRAPH["wfm_pipeline.argus.runner"]
    assert "dagster" in GRAPH["wfm_pipeline.defs.ingest"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_layer_imports_only_downwards(module: str) -> None:
    layer = _layer(module)
    assert layer in ALLOWED, f"{module}: layer {layer!r} is not in the layer table of this test"
    wrong = sorted(m for m in GRAPH[module]
                   if m.startswith("wfm_pipeline") and _layer(m) not in ALLOWED[layer] | {layer})
    assert not wrong, f"{module} ({layer}) imports {wrong}: allowed layers are {sorted(ALLOWED[layer])}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) in FORBIDDEN_THIRD_PARTY))
def test_domain_code_imports_neither_dagster_nor_click(module: str) -> None:
    banned = FORBIDDEN_THIRD_PARTY[_layer(module)]
    wrong = sorted(m for m in GRAPH[module] if m.split(".")[0] in banned)
    assert not wrong, f"{module} is domain code but imports {wrong}"


def test_nothing_imports_the_command_line_except_itself() -> None:
    offenders = sorted(m for m, deps in GRAPH.items()
                       if _layer(m) != "cli" and any(_layer(d) == "cli" for d in deps if d.startswith("wfm_pipeline")))
    assert not offenders


def test_no_import_cycles_between_modules() -> None:
    internal = {m: {d for d in deps if d in MODULES} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(internal.get(node, ())):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep)
        path.pop()
        state[node] = 2

    for module in sorted(internal):
        if module not in state:
            visit(module)


def test_test_modules_share_helpers_through_helper_modules_only() -> None:
    """Tests import shared data and helpers from helper modules (argus_files, dagster_files,
    stats_rows, health_data, months, conftest fixtures), never from another test module."""
    tests = Path(__file__).resolve().parent
    offenders = sorted(f"{path.name} imports {name}" for path in tests.glob("*.py")
                       for name in _imports(path) if name.startswith("wfm_pipeline_tests.test_"))
    assert not offenders
