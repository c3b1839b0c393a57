"""Every third-party package the product imports is declared in pyproject.toml.

A package that arrives only as another package's dependency (scipy via great-expectations,
fonttools via matplotlib) disappears the day that package stops needing it, and a fresh
install then fails at run time. This reads the imports of every product module (ast, not
import: nothing is executed) and maps each top-level name to the distribution installed
for it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Top-level folders installed as returnwatch.<layer> (pyproject's package-dir), and the core.
PACKAGE_DIRS = sorted(
    {d.split("/")[0] for d in PYPROJECT["tool"]["setuptools"]["package-dir"].values()}
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    """The distribution names in [project] dependencies (without extras or versions)."""
    names = set()
    for requirement in PYPROJECT["project"]["dependencies"]:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match, requirement
        names.add(_normalise(match.group(1)))
    return names


def _imports(path: Path) -> set[str]:
    """Top-level module names imported by one file, absolute imports only."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def product_imports() -> dict[str, set[str]]:
    """Third-party top-level name → the product files importing it."""
    found: dict[str, set[str]] = {}
    for folder in PACKAGE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in _imports(path):
                if name in sys.stdlib_module_names or name in {"returnwatch", "__future__"}:
                    continue
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_product_folders_are_the_package_dirs():
    assert "returnwatch" in PACKAGE_DIRS and "transforms" in PACKAGE_DIRS
    assert all((ROOT / folder).is_dir() for folder in PACKAGE_DIRS)


def test_every_third_party_import_is_a_declared_dependency():
    distributions = packages_distributions()
    declared = _declared()
    imports = product_imports()
    assert {"duckdb", "scipy", "numpy", "fontTools", "markupsafe"} <= imports.keys()

    problems = []
    for name, files in sorted(imports.items()):
        owners = {_normalise(d) for d in distributions.get(name, [])}
        if not owners:
            problems.append(f"{name} (imported by {', '.join(sorted(files))}) is not installed")
        elif not owners & declared:
            problems.append(
                f"{name} (imported by {', '.join(sorted(files))}) comes from "
                f"{', '.join(sorted(owners))}, not declared in pyproject.toml dependencies"
            )
    assert problems == []
