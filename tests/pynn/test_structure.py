"""The PyNN backend's modules import one way: no import circle, counting imports inside
functions too (a deferred import hides a circle, it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

import bss2emu

PACKAGE = Path(bss2emu.__file__).parent


def _imports(package: str) -> dict[str, set[str]]:
    """Module → the modules of ``bss2emu.<package>`` it imports (anywhere in its body)."""
    root = PACKAGE / package
    modules = {p.stem for p in root.glob("*.py") if p.stem != "conftest"}
    graph: dict[str, set[str]] = {}
    for name in modules:
        deps: set[str] = set()
        for node in ast.walk(ast.parse((root / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    deps.add(node.module.split(".")[0])
                elif node.level == 1:  # from . import a, b
                    deps.update(a.name for a in node.names)
                elif node.module and node.module.startswith(f"bss2emu.{package}."):
                    deps.add(node.module.split(".")[2])
        graph[name] = {d for d in deps if d in modules and d != "__init__" and d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as a list of modules, None if there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_pynn_backend_has_no_import_circle():
    graph = _imports("pynn")
    assert {"simulator", "segments", "experiment", "populations"} <= set(graph)
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))


def test_simulator_is_the_bottom():
    """``simulator`` (the state every PyNN object holds) imports nothing of the backend."""
    assert _imports("pynn")["simulator"] == set()


def test_brainscales2_view_has_no_import_circle():
    graph = _imports("brainscales2")
    assert {"helper", "logger"} <= set(graph)
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))
