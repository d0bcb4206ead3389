"""The package imports without cycles (issue 14): in a cycle, which module works depends on which was imported
first, and a stage cannot be used or tested without the others. Read from the source with `ast`, no import.

An edge is every import of a package module, wherever it stands (a function-level import dodges a cycle at run
time but keeps it), except under `if TYPE_CHECKING:`. Importing `a.b.c` also runs `a.b`'s __init__ first: that
implicit edge counts too, unless `a.b` is a package the importer itself lives in (already being imported).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "impersonation_cli"

Graph = dict[str, set[str]]


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its __init__)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def ancestors(module: str) -> list[str]:
    """The packages Python imports before `module`: a.b.c -> [a, a.b]."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


# Nodes that can hold statements (an import is a statement): expressions are not searched, for speed.
BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def import_statements(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in the module, at any depth, except under `if TYPE_CHECKING:`."""
    found = []
    waiting: list[ast.AST] = [tree]
    while waiting:
        node = waiting.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            waiting.extend(node.orelse)
        else:
            waiting.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, BLOCKS))
    return found


def imported_modules(module: str, is_package: bool, tree: ast.Module, modules: set[str]) -> set[str]:
    """The modules the import statements of `module` name (`from a import b`: a.b when that is a module)."""
    targets = set()
    for node in import_statements(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = _absolute(module, is_package, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in modules else base)
    return targets


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    package = parts if is_package else parts[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def import_graph(package: Path) -> Graph:
    """Module -> the package's modules that importing it runs, explicitly or as a parent package."""
    files = module_files(package)
    graph: Graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own_packages = {*ancestors(module), module}
        edges = set()
        for target in imported_modules(module, path.name == "__init__.py", tree, set(files)):
            edges.update(p for p in ancestors(target) if p not in own_packages)
            edges.add(target)
        graph[module] = {t for t in edges if t in files and t != module}
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                connect(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return found


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_checker_finds_a_cycle_through_a_parent_package_and_a_deferred_import(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/stage/__init__.py": "from pkg.stage.sibling import late\n",
            "pkg/stage/leaf.py": "VALUE = 1\n",
            # Importing pkg.stage.leaf runs pkg/stage/__init__.py, whose sibling imports pkg.settings back.
            "pkg/settings.py": "from pkg.stage.leaf import VALUE\n",
            "pkg/stage/sibling.py": "def late():\n    from pkg.settings import VALUE\n",
            "pkg/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.settings\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.settings"] == {"pkg.stage", "pkg.stage.leaf"}
    assert graph["pkg.typed"] == set()
    assert cycles(graph) == [["pkg.settings", "pkg.stage", "pkg.stage.sibling"]]


def reachable(graph: Graph, start: str) -> set[str]:
    """Every module that importing `start` runs, itself excluded."""
    seen: set[str] = set()
    waiting = [start]
    while waiting:
        for target in graph[waiting.pop()] - seen:
            seen.add(target)
            waiting.append(target)
    return seen - {start}


@pytest.fixture(scope="module")
def package_graph() -> Graph:
    return import_graph(PACKAGE)


def test_the_package_has_no_import_cycle(package_graph: Graph) -> None:
    assert package_graph.get("impersonation_cli.config"), "no imports were read"
    assert cycles(package_graph) == []


# The stages: each takes its own settings dataclass, which config.py builds from the file.
STAGES = (
    "impersonation_cli.runtime.engine",
    "impersonation_cli.pipeline.tracks",
    "impersonation_cli.pipeline.matches",
    "impersonation_cli.pipeline.signals",
    "impersonation_cli.pipeline.verdicts",
)


def test_no_stage_needs_the_config_module(package_graph: Graph) -> None:
    assert {stage for stage in STAGES if "impersonation_cli.config" in reachable(package_graph, stage)} == set()
