"""The package's modules import each other without a cycle, lazy (function-level) imports
included: a cycle hidden inside a function still ties two modules into one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "summarizer"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.Module, importer: str, modules: set[str],
                     is_package: bool = False) -> set[str]:
    """The package's modules that `importer` imports anywhere in its source: at module level,
    in functions and in `if TYPE_CHECKING:` blocks.

    `from summarizer import hardware` imports the module `summarizer.hardware`;
    `from summarizer.api import train` the module `summarizer.api`.
    """
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = importer.split(".") if is_package else importer.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != importer:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in (ROOT / PACKAGE).rglob("*.py")}
    return {name: imported_modules(ast.parse(path.read_text(encoding="utf-8")), name,
                                   set(paths), is_package=path.name == "__init__.py")
            for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle `[a, b, ..., a]` of `graph`, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "summarizer.pipeline" in graph and graph["summarizer.pipeline"]
    cycle = find_cycle(graph)
    assert cycle is None, (
        "import cycle: " + " -> ".join(cycle) + ". Move what the modules share into a module "
        "of its own, or the code that needs the other module into it; a function-level import "
        "hides a cycle, it does not remove it.")


def test_the_graph_sees_function_level_and_relative_imports():
    modules = {"summarizer", "summarizer.a", "summarizer.b", "summarizer.pkg", "summarizer.pkg.c"}
    source = ("import os\nfrom summarizer import a\n"
              "def f():\n    from summarizer.b import thing\n    from .pkg import c\n"
              "    from summarizer import load_config\n")
    assert imported_modules(ast.parse(source), "summarizer.d", modules) == {
        "summarizer", "summarizer.a", "summarizer.b", "summarizer.pkg.c"}
    assert imported_modules(ast.parse("from . import c\n"), "summarizer.pkg", modules,
                            is_package=True) == {"summarizer.pkg.c"}


def test_a_cycle_is_reported_with_its_modules():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
