"""Fixtures every test folder may use: isolated settings and a real warehouse file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Prefect creates PREFECT_HOME on import and phones home unless told not to: keep every
# test run inside its own temporary home, offline.
os.environ.setdefault(
    "PREFECT_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "rw-prefect-test")
)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own config file or RETURNWATCH_* variables."""
    for name in list(os.environ):
        if name.startswith("RETURNWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path):
    from returnwatch.settings import Settings

    return Settings(
        db=tmp_path / "warehouse" / "returnwatch.duckdb",
        inbox=tmp_path / "inbox",
        shop_id="test-shop",
        pii_secret="test-pii-secret",
        memory_limit="1GB",
    )


@pytest.fixture
def warehouse(settings):
    """A real DuckDB file with the full schema."""
    from returnwatch.warehouse.connection import connect

    con = connect(settings)
    yield con
    con.close()
