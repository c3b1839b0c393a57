"""Helpers for the tests that load files (tests/sources/, tests/warehouse/): write small
canonical CSVs, snapshot the warehouse."""

from __future__ import annotations

import csv
from pathlib import Path

ORDER_HEADER = [
    "order_id", "line_id", "sku_id", "product_name", "quantity", "amount", "paid_at",
    "province", "city", "carrier", "customer_id",
]  # fmt: skip
REFUND_HEADER = [
    "refund_id", "order_id", "line_id", "sku_id", "refund_type", "reason", "status",
    "requested_at", "completed_at", "refund_amount", "quantity", "province", "carrier",
]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding="utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def table_snapshot(con) -> dict[str, list]:
    """Every row of every warehouse table, for before/after comparisons."""
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema = 'main' ORDER BY 1"
        ).fetchall()
    ]
    return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
