"""The layering a newcomer relies on: flows -> replenishment -> forecasting, pure cores, no
import cycle inside a package."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("forecasting", "replenishment", "flows")
# What the pure cores must never import: the world (network, databases, orchestration,
# cluster set-up) and plotting back-ends.
FORBIDDEN_IN_CORE = ("prefect", "distributed", "dask", "httpx", "sqlalchemy", "alembic",
                     "apprise", "smtplib", "matplotlib", "flows")


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth (function-level imports too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _modules(package: str) -> dict[str, Path]:
    base = ROOT / package
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in base.rglob("*.py")}


@pytest.mark.parametrize("package", ["forecasting", "replenishment"])
def test_cores_import_nothing_of_the_world(package: str) -> None:
    offenders = [
        f"{name} imports {imported}"
        for name, path in _modules(package).items()
        for imported in _imports(path)
        if imported.split(".")[0] in FORBIDDEN_IN_CORE
    ]
    assert offenders == []


def test_dependencies_run_one_way() -> None:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = [
        f"{name} imports {imported}"
        for layer in LAYERS
        for name, path in _modules(layer).items()
        for imported in _imports(path)
        if imported.split(".")[0] in rank and rank[imported.split(".")[0]] > rank[layer]
    ]
    assert upward == []


def _top_level_graph(package: str) -> dict[str, set[str]]:
    """Module -> modules of the same package it imports at module level (what can cycle)."""
    modules = _modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                targets |= {c for c in candidates if c in modules}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in modules}
        graph[name] = targets - {name}
    return graph


@pytest.mark.parametrize("package", LAYERS)
def test_no_import_cycle(package: str) -> None:
    graph = _top_level_graph(package)
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            # A package's __init__ importing its own submodules is how packages work.
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycle.extend([*trail, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for module in sorted(graph):
        if state.get(module) is None and visit(module, []):
            break
    assert cycle == []


def test_every_module_declares_its_public_names() -> None:
    missing = [name for layer in LAYERS for name, path in _modules(layer).items()
               if "migrations" not in name and path.stat().st_size > 0
               and "__all__" not in path.read_text(encoding="utf-8")]
    assert missing == []
