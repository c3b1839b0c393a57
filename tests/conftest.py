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

# pyproject's `slow` marker: a real warehouse file, a server, a subprocess, Prefect or a
# browser (`make test-fast` leaves these out). A test that uses one of these fixtures is
# marked here, so a new test cannot forget it; a test that opens such things itself
# carries the marker in its module.
SLOW_FIXTURES = frozenset(
    {
        "warehouse",  # a real DuckDB file with every migration
        "receiver",  # a real HTTP server on 127.0.0.1 (alerts/, flows/)
        "httpserver",  # pytest-httpserver
        "fake",  # the fake 抖店 platform, a real HTTP server (sources/)
        "prefect_harness",  # Prefect's test harness (a temporary API server)
        "shop_dir",  # the report's synthetic shop, imported into a warehouse file
    }
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
