"""Fixtures for the rates and detection tests: an in-memory warehouse and frame loaders."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from returnwatch.settings import Settings
from returnwatch.warehouse.connection import connect_memory

ORDER_COLUMNS = (
    "shop_id", "order_id", "line_id", "sku_id", "product_name", "quantity", "unit_price",
    "amount", "paid_at", "province", "city", "carrier", "customer_id",
)  # fmt: skip
REFUND_COLUMNS = (
    "shop_id", "refund_id", "order_id", "line_id", "sku_id", "product_name", "refund_type",
    "reason", "status", "requested_at", "approved_at", "completed_at", "refund_amount",
    "quantity", "province", "carrier",
)  # fmt: skip


def load_frames(
    con: duckdb.DuckDBPyConnection,
    order_lines: pd.DataFrame | None = None,
    refunds: pd.DataFrame | None = None,
) -> None:
    """Insert canonical frames straight into order_lines / refund_records (no importer)."""
    for table, frame, columns in (
        ("order_lines", order_lines, ORDER_COLUMNS),
        ("refund_records", refunds, REFUND_COLUMNS),
    ):
        if frame is None or frame.empty:
            continue
        present = ", ".join(c for c in columns if c in frame.columns)
        con.register("_frame", frame)
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT {present}, 'synthetic' AS source_format, "
            "0 AS load_batch_id, now()::TIMESTAMP AS loaded_at FROM _frame"
        )
        con.unregister("_frame")


@pytest.fixture
def con():
    connection = connect_memory()
    yield connection
    connection.close()


@pytest.fixture
def hand_settings() -> Settings:
    """Literal mode on the hand-made shop: a 3-day window, 2 days of history needed."""
    return Settings(detection={"mode": "literal", "window_days": 3, "min_history_days": 2})


@pytest.fixture
def hand_shop(con):
    """The hand-made shop of hand_shop.py, loaded."""
    from .hand_shop import orders_frame, refunds_frame

    load_frames(con, orders_frame(), refunds_frame())
    return con
