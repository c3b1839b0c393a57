"""The report's HTML template is a `.j2` file shipped as package data, found where installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from returnwatch.report import render

REPO = Path(__file__).resolve().parents[2]
# What a clean clone holds and the build reads; nothing the developer's machine adds.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ruff_cache", "data", "inbox", "demo-output", "reports",
)  # fmt: skip


def test_the_template_loads_from_the_installed_package():
    template = render._template()
    # the file of the package returnwatch.report, wherever it is installed
    assert Path(template.filename).name == render.TEMPLATE_NAME
    assert Path(template.filename).parent.name == "templates"
    # autoescaping: a product name is text, never markup
    assert "&lt;script&gt;" in template.environment.from_string("{{ x }}").render(x="<script>")


@pytest.mark.slow
def test_the_wheel_ships_the_template(tmp_path):
    """Built from a copy of the source tree as `pip install .` would build it."""
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=NOT_IN_A_CLONE)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("returnwatch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert f"returnwatch/report/templates/{render.TEMPLATE_NAME}" in names
    # the SQL files ship the same way
    assert any(name.startswith("returnwatch/report/sql/") for name in names)
    assert "returnwatch/warehouse/migrations/0001_create_core_tables.sql" in names
