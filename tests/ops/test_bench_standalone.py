"""The operations benches (fault harness, mixed load, sizing) run from a checkout without the tests:
neither they nor the bench/ and devstack/ modules they import (to any depth) import from tests/."""

from __future__ import annotations

import ast

from tests.ops.compose import ROOT

BENCHES = ("bench.faults", "bench.mixed_load", "bench.sizing")


def imports_of(module: str) -> set[str]:
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    if not path.exists():
        path = ROOT.joinpath(*module.split("."), "__init__.py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def ours(name: str) -> bool:
    """A module of bench/ or devstack/ that exists as a file (not a name imported from one)."""
    parts = name.split(".")
    if parts[0] not in ("bench", "devstack"):
        return False
    return ROOT.joinpath(*parts).with_suffix(".py").exists() or (ROOT.joinpath(*parts) / "__init__.py").exists()


def reachable(start: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> what it imports, for the start modules and every bench/devstack module they reach."""
    seen: dict[str, set[str]] = {}
    todo = list(start)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen[module] = imports_of(module)
        todo += [name for name in seen[module] if ours(name)]
    return seen


def test_the_operations_benches_import_nothing_from_the_tests() -> None:
    graph = reachable(BENCHES)
    assert {"devstack.processes", "devstack.sample_households"} <= set(graph)  # what they share with the tests
    offending = {module: sorted(n for n in names if n == "tests" or n.startswith("tests."))
                 for module, names in graph.items()}
    assert {m: names for m, names in offending.items() if names} == {}


def test_the_check_sees_an_import_from_the_tests() -> None:
    assert "tests.ops.processes" in imports_of("tests.ops.test_replicas")
