"""Fixtures every test folder may use: isolated settings, a real warehouse file, and small
hand-made canonical CSVs with every value known (the importer's tests in sources/, the
load's in warehouse/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .exports import ORDER_HEADER, REFUND_HEADER, write_csv

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


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    rows = [
        [
            "O1",
            "L1",
            "S1",
            "衬衫",
            1,
            "99.50",
            "2026-08-01 10:00:00",
            "广东省",
            "广州市",
            "圆通速递",
            "c1",
        ],
        [
            "O1",
            "L2",
            "S2",
            "帽子",
            2,
            "20",
            "2026-08-01 10:05:00",
            "广东省",
            "广州市",
            "圆通速递",
            "c1",
        ],
        [
            "O2",
            "L3",
            "S1",
            "衬衫",
            1,
            "99.50",
            "2026-08-02 11:00:00",
            "浙江省",
            "杭州市",
            "中通快递",
            "c2",
        ],
        ["O3", "L4", "S3", "裤子", 1, "120", "2026-08-03 09:00:00", "", "", "", "c3"],
    ]
    return write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows)


@pytest.fixture
def refunds_csv(tmp_path: Path) -> Path:
    rows = [
        [
            "R1",
            "O1",
            "L1",
            "S1",
            "return_refund",
            "尺码不合适",
            "completed",
            "2026-08-03 12:00:00",
            "2026-08-06 12:00:00",
            "99.50",
            1,
            "",
            "",
        ],
        [
            "R2",
            "O2",
            "L3",
            "S1",
            "refund_only",
            "质量问题",
            "requested",
            "2026-08-04 08:00:00",
            "",
            "50",
            1,
            "浙江省",
            "",
        ],
    ]
    return write_csv(tmp_path / "refunds.csv", REFUND_HEADER, rows)
