"""The package imports without cycles (issue 14): in a cycle, which module works depends on which was imported
first, and a stage cannot be used or tested without the others. Read from the source with `ast`, no import.

An edge is every import of a package module, wherever it stands (a function-level import dodges a cycle at run
time but keeps it), except under `if TYPE_CHECKING:`. Importing `a.b.c` also runs `a.b`'s __init__ first: that
implicit edge counts too, unless `a.b` is a package the importer itself lives in (already being imported).
"""

from __future__ import annotations

import ast
from pathlib import Path

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


class ImportCollector(ast.NodeVisitor):
    """Every module named by an import statement anywhere in one file, skipping `if TYPE_CHECKING:` blocks."""

    def __init__(self, module: str, is_package: bool, modules: set[str]) -> None:
        self.module, self.is_package, self.modules = module, is_package, modules
        self.targets: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.targets.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self.targets.add(submodule if submodule in self.modules else base)

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = self.module.split(".")
        package = parts if self.is_package else parts[:-1]
        package = package[: len(package) - (node.level - 1)]
        return ".".join([*package, *([node.module] if node.module else [])])


def import_graph(package: Path) -> Graph:
    """Module -> the package's modules that importing it runs, explicitly or as a parent package."""
    files = module_files(package)
    graph: Graph = {}
    for module, path in files.items():
        collector = ImportCollector(module, path.name == "__init__.py", set(files))
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        own_packages = {*ancestors(module), module}
        edges = set()
        for target in collector.targets:
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


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE)
    assert graph.get("impersonation_cli.config"), "no imports were read"
    assert cycles(graph) == []


# The stages: each takes its own settings dataclass, which config.py builds from the file.
STAGES = (
    "impersonation_cli.runtime.engine",
    "impersonation_cli.pipeline.tracks",
    "impersonation_cli.pipeline.matches",
    "impersonation_cli.pipeline.signals",
    "impersonation_cli.pipeline.verdicts",
)


def test_no_stage_needs_the_config_module() -> None:
    graph = import_graph(PACKAGE)
    assert {stage for stage in STAGES if "impersonation_cli.config" in reachable(graph, stage)} == set()
