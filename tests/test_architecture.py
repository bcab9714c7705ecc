"""The package's import structure: no import cycles, and no layer imports a layer above it.

The graph is read from the source with :mod:`ast` (every ``import`` statement, including the
ones inside functions, which the package uses to keep optional dependencies lazy), so it
sees imports that a test run would never execute.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "mechopt"

#: layers, lowest first: a module may import its own layer's modules and lower layers' only
#: (the package root ``mechopt`` is the public facade over the lowest three and belongs to
#: none); modules of one layer in different areas (``audit`` and ``domains``) are independent
LAYERS: list[set[str]] = [
    {"errors", "auction", "io", "solve", "parallel", "generators", "quiet", "examples"},
    {"formulations"},
    {"mechanisms"},
    {"audit", "domains"},
    {"learning"},
    {"menus"},
    {"benchmarks"},
    {"cli"},
]
#: areas of one layer that may not import each other
INDEPENDENT = [{"audit", "domains"}]


def _module_name(path: Path) -> str:
    parts = ("mechopt",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module → the mechopt modules it imports at run time (``from pkg import mod`` counts as
    ``pkg.mod``; imports under ``if TYPE_CHECKING:`` are left out)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        type_only = {  # imports under `if TYPE_CHECKING:` run only for the type checker
            id(inner) for node in ast.walk(tree)
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
            for stmt in node.body for inner in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                for alias in node.names:
                    sub = f"{stem}.{alias.name}"
                    targets.add(sub if sub in modules else stem)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(module: str) -> int | None:
    area = _area(module)
    for i, areas in enumerate(LAYERS):
        if area in areas:
            return i
    return None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_graph_sees_function_level_and_package_imports():
    graph = import_graph()
    assert "mechopt.learning.cutting_plane" in graph
    # a function-level import (cutting_plane builds its QP lazily)
    assert "mechopt.formulations.ssvm" in graph["mechopt.learning.cutting_plane"]
    # ``from mechopt.cli import cli`` is an edge to the package, ``from pkg import module`` to the module
    assert "mechopt.cli" in graph["mechopt.cli.solve"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_module_has_a_layer():
    unplaced = [m for m in import_graph() if m != "mechopt" and _layer(m) is None]
    assert not unplaced, f"add these modules' areas to LAYERS: {unplaced}"


@pytest.mark.parametrize("layer", range(len(LAYERS)), ids=["+".join(sorted(a)) for a in LAYERS])
def test_no_layer_imports_a_higher_one(layer):
    bad = []
    for module, targets in import_graph().items():
        if _layer(module) != layer:
            continue
        for target in sorted(targets):
            if target == "mechopt":
                if layer < 2:  # the root package imports formulations and mechanisms
                    bad.append(f"{module} -> {target}")
                continue
            if _layer(target) > layer:
                bad.append(f"{module} -> {target}")
            elif any({_area(module), _area(target)} == pair for pair in INDEPENDENT):
                bad.append(f"{module} -> {target}")
    assert not bad, "imports of a higher (or independent) layer:\n" + "\n".join(bad)


def test_nothing_but_the_cli_imports_the_cli():
    bad = [f"{m} -> {t}" for m, ts in import_graph().items() if _area(m) != "cli"
           for t in ts if _area(t) == "cli"]
    assert not bad, "\n".join(bad)
