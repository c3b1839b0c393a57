"""The import rule of returnwatch/layers.py, held: no upward import, no circle, no bare names.

Every module under the package folders is parsed with `ast` (imports inside functions and
`if TYPE_CHECKING:` blocks included); nothing is imported, so a violation is reported
even in a module that would fail to import.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from returnwatch.layers import FOLDER_LAYERS, LAYERS, PACKAGE, layer_of, rank

ROOT = Path(__file__).resolve().parent.parent

# Folder (relative to the repository root) -> the package it installs as (pyproject.toml).
PACKAGE_DIRS: dict[str, str] = {"returnwatch": PACKAGE} | {
    folder: f"{PACKAGE}.{folder}" for folder in FOLDER_LAYERS
}

# Folders that are not the product but must not use bare top-level names either.
OTHER_DIRS = ("tests", "bench")

# Known violations that other branches are removing while this one lands. Each entry is
# (file, imported module). The lead empties this list after merging them; an entry that no
# longer occurs fails `test_known_violations_still_exist`, so the list cannot go stale.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset({})


@dataclass(frozen=True)
class Import:
    """One import statement's edge: `source` (file, module) imports `target` at `line`."""

    file: str
    line: int
    source: str
    target: str

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def module_name(path: Path, folder: Path, package: str) -> str:
    """`warehouse/load.py` -> `returnwatch.warehouse.load`; a package's __init__ is the package."""
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def modules_under(root: Path, package_dirs: dict[str, str]) -> dict[str, tuple[str, Path]]:
    """Every module of the package: name -> (file relative to root, path)."""
    found: dict[str, tuple[str, Path]] = {}
    for folder, package in package_dirs.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            found[module_name(path, base, package)] = (path.relative_to(root).as_posix(), path)
    return found


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, name] if name else base)


def imports_of(
    file: str, path: Path, module: str, known: set[str]
) -> tuple[list[Import], list[tuple[int, str]]]:
    """The package-internal imports of one file, each resolved to the module it loads
    (`from returnwatch.report import fmt` -> returnwatch.report.fmt), and the bare
    top-level layer names it imports (line, name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    edges: list[Import] = []
    bare: list[tuple[int, str]] = []

    def add(line: int, target: str) -> None:
        while target not in known and "." in target:
            target = target.rsplit(".", 1)[0]
        edge = Import(file, line, module, target)
        if target in known and target != module and edge not in edges:
            edges.append(edge)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FOLDER_LAYERS:
                    bare.append((node.lineno, alias.name))
                elif alias.name.split(".")[0] == PACKAGE:
                    add(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(
                    module, path.name == "__init__.py", node.level, node.module
                )
            else:
                base = node.module or ""
                if base.split(".")[0] in FOLDER_LAYERS:
                    bare.append((node.lineno, base))
                    continue
                if base.split(".")[0] != PACKAGE:
                    continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                add(node.lineno, candidate if candidate in known else base)
    return edges, bare


def package_imports(root: Path, package_dirs: dict[str, str]) -> list[Import]:
    modules = modules_under(root, package_dirs)
    edges: list[Import] = []
    for name, (file, path) in modules.items():
        edges += imports_of(file, path, name, set(modules))[0]
    return edges


def upward_imports(edges: list[Import]) -> list[Import]:
    """Imports from a layer above the importing module's own."""
    return [
        e for e in edges if rank(layer_of(e.target) or "core") > rank(layer_of(e.source) or "core")
    ]


def cycles(edges: list[Import]) -> list[list[Import]]:
    """One circle of imports for each group of modules that reach each other (Tarjan's
    strongly connected components, then the shortest way round from the group's first
    module). Breaking it may leave another circle in the group: the next run shows it."""
    graph: dict[str, list[Import]] = {}
    for e in edges:
        graph.setdefault(e.source, []).append(e)
        graph.setdefault(e.target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth is bounded by the module count (~100)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for e in graph[v]:
            if e.target not in index:
                visit(e.target)
                low[v] = min(low[v], low[e.target])
            elif e.target in on_stack:
                low[v] = min(low[v], index[e.target])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)

    found = []
    for group in groups:
        members = set(group)
        start = group[0]
        # breadth-first from start back to start, inside the group
        paths: dict[str, list[Import]] = {start: []}
        queue = [start]
        circle: list[Import] | None = None
        while queue and circle is None:
            v = queue.pop(0)
            for e in sorted(graph[v], key=lambda e: (e.target, e.line)):
                if e.target not in members:
                    continue
                if e.target == start:
                    circle = [*paths[v], e]
                    break
                if e.target not in paths:
                    paths[e.target] = [*paths[v], e]
                    queue.append(e.target)
        found.append(circle or [])
    return found


def _known(e: Import) -> bool:
    return (e.file, e.target) in KNOWN_VIOLATIONS


def _describe(e: Import) -> str:
    return (
        f"{e.where()}: {e.source} ({layer_of(e.source)}) imports {e.target} ({layer_of(e.target)})"
    )


@pytest.fixture(scope="module")
def edges() -> list[Import]:
    return package_imports(ROOT, PACKAGE_DIRS)


def test_every_folder_of_the_package_is_a_layer():
    # A new top-level package folder must be placed in returnwatch/layers.py first.
    for folder in PACKAGE_DIRS:
        assert (ROOT / folder / "__init__.py").exists(), folder
    assert set(FOLDER_LAYERS) | {"core", "cli"} == set(LAYERS)


def test_no_module_imports_from_a_layer_above_its_own(edges):
    upward = [e for e in upward_imports(edges) if not _known(e)]
    assert not upward, "upward imports (see returnwatch/layers.py):\n" + "\n".join(
        _describe(e) for e in upward
    )


def test_no_modules_import_each_other_round_a_circle(edges):
    circles = cycles([e for e in edges if not _known(e)])
    assert not circles, "import circles:\n" + "\n\n".join(
        "\n".join(_describe(e) for e in circle) for circle in circles
    )


def test_nothing_imports_a_layer_by_its_bare_folder_name():
    offenders = []
    for folder, package in PACKAGE_DIRS.items():
        base = ROOT / folder
        for path in sorted(base.rglob("*.py")):
            file = path.relative_to(ROOT).as_posix()
            for line, name in imports_of(file, path, module_name(path, base, package), set())[1]:
                offenders.append(f"{file}:{line}: imports {name!r}, not {PACKAGE}.{name}")
    for folder in OTHER_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            file = path.relative_to(ROOT).as_posix()
            for line, name in imports_of(file, path, folder, set())[1]:
                offenders.append(f"{file}:{line}: imports {name!r}, not {PACKAGE}.{name}")
    assert not offenders, "\n".join(offenders)


def test_known_violations_still_exist(edges):
    # When a branch removes one of them, its entry goes too: the list only ever shrinks.
    present = {(e.file, e.target) for e in edges}
    stale = sorted(KNOWN_VIOLATIONS - present)
    assert not stale, f"remove from KNOWN_VIOLATIONS, they are gone: {stale}"


# -- the checker itself finds what it must --------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_reports_an_upward_import_inside_a_function_with_file_and_line(tmp_path):
    _write(
        tmp_path,
        {
            "returnwatch/__init__.py": "",
            "transforms/__init__.py": "",
            "transforms/pure.py": "def f():\n    from returnwatch.alerts import digest\n",
            "alerts/__init__.py": "",
            "alerts/digest.py": "from returnwatch.transforms import pure\n",
        },
    )
    dirs = {"returnwatch": PACKAGE, "transforms": "returnwatch.transforms"}
    dirs |= {"alerts": "returnwatch.alerts"}
    upward = upward_imports(package_imports(tmp_path, dirs))
    assert [(e.where(), e.target) for e in upward] == [
        ("transforms/pure.py:2", "returnwatch.alerts.digest")
    ]


def test_the_checker_reports_a_circle_within_one_layer(tmp_path):
    _write(
        tmp_path,
        {
            "warehouse/__init__.py": "",
            "warehouse/a.py": "from returnwatch.warehouse.b import x\n",
            "warehouse/b.py": "import os\n\n\ndef x():\n    from returnwatch.warehouse import c\n",
            "warehouse/c.py": "from . import a\n",
            "warehouse/d.py": "from returnwatch.warehouse import a\n",
        },
    )
    circles = cycles(package_imports(tmp_path, {"warehouse": "returnwatch.warehouse"}))
    assert [[e.where() for e in circle] for circle in circles] == [
        ["warehouse/a.py:1", "warehouse/b.py:5", "warehouse/c.py:1"]
    ]


def test_the_checker_reports_bare_folder_names(tmp_path):
    _write(tmp_path, {"x.py": "import flows.nightly\nfrom alerts import digest\nimport os\n"})
    _, bare = imports_of("x.py", tmp_path / "x.py", "returnwatch.x", set())
    assert bare == [(1, "flows.nightly"), (2, "alerts")]
