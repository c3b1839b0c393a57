"""Helpers tests share that are plain functions, not fixtures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from returnwatch.warehouse.migrate import migrate


def connect_memory() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the full schema, for fast pure tests (the product
    always works on a file: `warehouse.connection.connect`)."""
    con = duckdb.connect(":memory:")
    migrate(con)
    return con


def add_buyer_lines(
    con: duckdb.DuckDBPyConnection,
    shop_id: str,
    buyer: str,
    paid_on: date,
    lines: int,
    returned: dict[str, int] | None = None,
    *,
    returned_on: date | None = None,
    refund_type: str = "return_refund",
) -> None:
    """`lines` order lines of one buyer (pseudonym `buyer`) paid on `paid_on`; the first
    ones returned, n per reason ('' = no reason), requested on `returned_on` (default: the
    day after). Ids are unique across calls."""
    reasons = [reason for reason, n in (returned or {}).items() for _ in range(n)]
    asked = datetime.combine(returned_on or paid_on + timedelta(days=1), datetime.min.time())
    paid = datetime.combine(paid_on, datetime.min.time())
    start = con.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    loaded = datetime(2026, 1, 1)
    for i in range(lines):
        line = f"BL{start + i + 1}"
        con.execute(
            "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, customer_id, "
            "source_format, load_batch_id, loaded_at) VALUES (?, ?, ?, 'S1', ?, ?, 'test', 1, ?)",
            [shop_id, f"O{line}", line, paid, buyer, loaded],
        )
        if i < len(reasons):
            con.execute(
                "INSERT INTO refund_records (shop_id, refund_id, order_id, line_id, sku_id, "
                "refund_type, reason, requested_at, source_format, load_batch_id, loaded_at) "
                "VALUES (?, ?, ?, ?, 'S1', ?, ?, ?, 'test', 1, ?)",
                [
                    shop_id,
                    f"R{line}",
                    f"O{line}",
                    line,
                    refund_type,
                    reasons[i] or None,
                    asked.replace(hour=10),
                    loaded,
                ],
            )


def current_rates(con: duckdb.DuckDBPyConnection, shop_id: str) -> None:
    """Recompute the shop's rates, and the tables kept with them (`buyer_returns`, read by
    the serial-returner tracking), over every day from its first order line or request to its
    last day (`rates.last_day`): what the nightly flow has done before it tracks, for rows a test inserted
    without a load (so no dirty day)."""
    from returnwatch.settings import Settings
    from returnwatch.warehouse.rates import last_day, refresh_rates

    first = con.execute(
        "SELECT least((SELECT min(paid_at) FROM order_lines WHERE shop_id = $shop), "
        "(SELECT min(requested_at) FROM refund_records WHERE shop_id = $shop))::DATE",
        {"shop": shop_id},
    ).fetchone()[0]
    if first is not None:
        refresh_rates(con, Settings(), shop_id, start=first, end=last_day(con, shop_id))
