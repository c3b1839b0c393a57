"""The real Online Retail data, as canonical CSV, imports with every row accounted for."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pytest

from returnwatch.sources.ingest import import_file

from ..shared_data import ONLINE_RETAIL, REPO_ROOT

REPO = REPO_ROOT
PARQUET = ONLINE_RETAIL if ONLINE_RETAIL.exists() else None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PARQUET is None, reason="shared/data/online_retail.parquet not available"),
]


def convert(out_dir: Path) -> tuple[Path, Path]:
    spec = importlib.util.spec_from_file_location(
        "online_retail_to_csv", REPO / "bench" / "online_retail_to_csv.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.convert(PARQUET, out_dir)


def test_online_retail_rows_are_all_accounted_for(warehouse, settings, tmp_path):
    orders, refunds = convert(tmp_path / "csv")
    source = duckdb.connect()
    expected_bad = source.execute(
        f"SELECT count(*) FROM '{PARQUET}' WHERE NOT starts_with(InvoiceNo, 'C') "
        "AND (Quantity < 1 OR Quantity * UnitPrice < 0)"
    ).fetchone()[0]
    total_orders, total_refunds = source.execute(
        f"SELECT count(*) FILTER (WHERE NOT starts_with(InvoiceNo, 'C')), "
        f"count(*) FILTER (WHERE starts_with(InvoiceNo, 'C')) FROM '{PARQUET}'"
    ).fetchone()

    o = import_file(warehouse, settings, orders)
    r = import_file(warehouse, settings, refunds)

    assert o.rows_read == total_orders and r.rows_read == total_refunds
    for result in (o, r):
        assert (
            result.rows_read == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
        )
    assert o.rows_quarantined == expected_bad
    assert r.rows_quarantined == 0
    rules = dict(warehouse.execute("SELECT rule, count(*) FROM quarantine GROUP BY ALL").fetchall())
    assert rules["quantity_at_least_1"] > 1000
    assert warehouse.execute("SELECT count(*) FROM order_lines").fetchone()[0] == o.rows_loaded
