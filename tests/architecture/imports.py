"""The import graph of Homedesk's packages, read from the source (every import, including those inside functions).

Used by test_layers.py; also runnable (`python -m tests.architecture.imports`) to print the cycles and arrows.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("storage", "matching", "dialogs", "bot", "staff_console", "homedesk")
# Lower number = lower layer. A module may import its own layer and the ones below, never above.
LAYER = {"storage": 0, "matching": 1, "dialogs": 2, "bot": 3, "staff_console": 3, "homedesk": 4}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found[module_name(path)] = path
    return found


def _imports(path: Path, name: str, is_package: bool, known: dict[str, Path] | None = None) -> Iterator[str]:
    """Imported module names. `from package import submodule` counts as an import of the submodule only."""
    known = known if known is not None else {}
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                yield f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix


def graph() -> dict[str, set[str]]:
    """module -> modules of ours it imports (resolved to the longest existing module name)."""
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target in _imports(path, name, path.name == "__init__.py", known):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].add(target)
    return edges


def external_imports(name: str) -> set[str]:
    path = modules()[name]
    return {target.split(".")[0] for target in _imports(path, name, path.name == "__init__.py")}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def upward_arrows(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports from a lower layer to a higher one, and between the two channel-side packages."""
    wrong = []
    for source, targets in edges.items():
        for target in targets:
            a, b = source.split(".")[0], target.split(".")[0]
            if LAYER[b] > LAYER[a] or {a, b} == {"bot", "staff_console"}:
                wrong.append((source, target))
    return sorted(wrong)


if __name__ == "__main__":
    edges = graph()
    for component in cycles(edges):
        print("cycle:", " <-> ".join(component))
    for source, target in upward_arrows(edges):
        print("upward:", source, "->", target)
