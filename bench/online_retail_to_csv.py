"""Turn the UCI "Online Retail" data set into returnwatch's canonical order and refund CSVs.

    .venv/bin/python bench/online_retail_to_csv.py [online_retail.parquet] [--out DIR]

Mapping (one shop, `online-retail`): an invoice line whose InvoiceNo starts with `C` is a
refund (refund_type return_refund, status completed, requested and completed at its
InvoiceDate, quantity and refund_amount made positive); every other line is an order line
paid at its InvoiceDate, including the few with a negative quantity (stock adjustments:
the importer quarantines them). StockCode -> sku_id, Country -> province, InvoiceNo ->
order_id, `InvoiceNo-<position of the line in the invoice>` -> line_id (or refund_id),
positions counted in file order so they are stable; amount = Quantity x UnitPrice;
CustomerID -> customer_id. A refund has no line_id: the data set does not say which
invoice a cancellation reverses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

# The shared data sets sit beside the repository: ../shared from its root.
DEFAULT_SOURCE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online_retail.parquet"
)
SHOP_ID = "online-retail"
ORDER_HEADER = (
    "shop_id,order_id,line_id,sku_id,product_name,quantity,amount,paid_at,province,city,"
    "carrier,customer_id"
)
REFUND_HEADER = (
    "shop_id,refund_id,order_id,line_id,sku_id,refund_type,reason,status,requested_at,"
    "completed_at,refund_amount,quantity,province,carrier"
)

_LINES = """
CREATE TEMP TABLE retail_lines AS
SELECT
    InvoiceNo AS invoice_no,
    row_number() OVER (PARTITION BY InvoiceNo ORDER BY file_row_number) AS position,
    InvoiceNo || '-' || position AS line_key,
    StockCode AS sku_id,
    Description AS product_name,
    Quantity AS quantity,
    UnitPrice AS unit_price,
    strftime(InvoiceDate, '%Y-%m-%d %H:%M:%S') AS happened_at,
    Country AS province,
    CAST(CAST(CustomerID AS BIGINT) AS VARCHAR) AS customer_id,
    InvoiceNo LIKE 'C%' AS is_refund
FROM read_parquet($source, file_row_number = true)
"""

_ORDERS = """
COPY (
    SELECT
        $shop_id AS shop_id,
        invoice_no AS order_id,
        line_key AS line_id,
        sku_id,
        product_name,
        quantity,
        round(quantity * unit_price, 2) AS amount,
        happened_at AS paid_at,
        province,
        NULL AS city,
        NULL AS carrier,
        customer_id
    FROM retail_lines
    WHERE NOT is_refund
    ORDER BY happened_at, invoice_no, position
) TO '{path}' (HEADER, DELIMITER ',')
"""

_REFUNDS = """
COPY (
    SELECT
        $shop_id AS shop_id,
        line_key AS refund_id,
        invoice_no AS order_id,
        NULL AS line_id,
        sku_id,
        'return_refund' AS refund_type,
        NULL AS reason,
        'completed' AS status,
        happened_at AS requested_at,
        happened_at AS completed_at,
        round(-quantity * unit_price, 2) AS refund_amount,
        -quantity AS quantity,
        province,
        NULL AS carrier
    FROM retail_lines
    WHERE is_refund
    ORDER BY happened_at, invoice_no, position
) TO '{path}' (HEADER, DELIMITER ',')
"""


def convert(
    source: Path = DEFAULT_SOURCE, out_dir: Path = Path("."), shop_id: str = SHOP_ID
) -> tuple[Path, Path]:
    """Write `orders.csv` and `refunds.csv` into out_dir; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    orders, refunds = out_dir / "orders.csv", out_dir / "refunds.csv"
    con = duckdb.connect()
    try:
        con.execute(_LINES, {"source": str(source)})
        for sql, path in ((_ORDERS, orders), (_REFUNDS, refunds)):
            quoted = str(path).replace("'", "''")
            con.execute(sql.format(path=quoted), {"shop_id": shop_id})
    finally:
        con.close()
    return orders, refunds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=Path("online_retail_csv"))
    parser.add_argument("--shop-id", default=SHOP_ID)
    args = parser.parse_args(argv)
    orders, refunds = convert(args.source, args.out, args.shop_id)
    print(f"wrote {orders} and {refunds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
