"""A seeded big canonical shop: orders.csv + refunds.csv of any size, written by DuckDB.

    .venv/bin/python bench/make_big.py --lines 10000000 --out bench/out/big

Cardinalities of a large 抖店 shop: ~5,000 SKUs with Zipf-like popularity, 31 provinces
with skewed weights, ~10% of lines refunded 0–7 days after payment, 1–3 lines per order,
about 1 in 1,000 order lines broken (negative quantity) so validation has work to do.
Values come from hash(seed, row), so the same arguments write the same bytes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

PROVINCES = (
    "广东省", "浙江省", "江苏省", "山东省", "河南省", "四川省", "湖北省", "福建省", "湖南省",
    "河北省", "安徽省", "上海市", "北京市", "辽宁省", "陕西省", "江西省", "广西壮族自治区",
    "重庆市", "云南省", "山西省", "天津市", "贵州省", "黑龙江省", "吉林省", "内蒙古自治区",
    "新疆维吾尔自治区", "甘肃省", "海南省", "宁夏回族自治区", "青海省", "西藏自治区",
)  # fmt: skip
CARRIERS = ("圆通速递", "中通快递", "申通快递", "韵达速递", "顺丰速运", "极兔速递")
REASONS = ("质量问题", "尺码不合适", "商品与描述不符", "七天无理由退货", "物流破损", "不想要了")


def _u(seed: int, salt: int) -> str:
    """A uniform [0, 1) from the row number, deterministic per seed and salt."""
    return f"((hash(i, {seed}, {salt}) % 1000000007) / 1000000007.0)"


def lines_sql(
    lines: int,
    *,
    first: str = "2026-01-01",
    days: int = 90,
    seed: int = 42,
    skus: int = 5000,
    broken_every: int | None = 997,
    surge: float = 1.0,
) -> str:
    """One row per order line (with its refund draw): the SELECT both benches build on.

    Zipf-ish SKU rank: u^3 concentrates mass on low ranks; provinces likewise with u^2.
    Every `broken_every`-th line gets quantity -1, so validation has work to do. `surge`
    multiplies the refund chance of the lines paid in the last 8 days, so the last night's
    returns jump across every SKU at once (issue 15: a shop-wide surge explaining
    thousands of slices must not crash `detect`).
    """
    # Computed here: in SQL, lines x days overflows INT32 for a year of 20,000 lines a day.
    recent = f"i >= {lines * max(days - 8, 0) // days}"
    provinces = "[" + ", ".join(f"'{p}'" for p in PROVINCES) + "]"
    carriers = "[" + ", ".join(f"'{c}'" for c in CARRIERS) + "]"
    reasons = "[" + ", ".join(f"'{r}'" for r in REASONS) + "]"
    quantity = f"1 + floor({_u(seed, 4)} * 3)::INT"
    if broken_every:
        quantity = f"CASE WHEN i % {broken_every} = 0 THEN -1 ELSE {quantity} END"
    return f"""
        SELECT
            i,
            'O' || (i // 2)::VARCHAR AS order_id,
            'L' || i::VARCHAR AS line_id,
            'SKU' || lpad((floor(pow({_u(seed, 1)}, 3) * {skus}))::BIGINT::VARCHAR, 5, '0') AS sku_id,
            {provinces}[1 + floor(pow({_u(seed, 2)}, 2) * {len(PROVINCES)})::BIGINT] AS province,
            {carriers}[1 + floor({_u(seed, 3)} * {len(CARRIERS)})::BIGINT] AS carrier,
            TIMESTAMP '{first}' + to_seconds(floor(i::DOUBLE / {lines} * {days} * 86400)::BIGINT) AS paid_at,
            {quantity} AS quantity,
            round(10 + {_u(seed, 5)} * 290, 2) AS amount,
            'C' || floor({_u(seed, 6)} * {max(lines // 8, 1)})::BIGINT::VARCHAR AS customer_id,
            {_u(seed, 7)} < 0.10 * (CASE WHEN {recent} THEN {surge} ELSE 1 END) AS refunded,
            floor(pow({_u(seed, 8)}, 1.5) * 8)::INT AS lag_days,
            {reasons}[1 + floor({_u(seed, 9)} * {len(REASONS)})::BIGINT] AS reason
        FROM range({lines}) AS t(i)
    """


def make_big(
    out_dir: Path,
    lines: int,
    *,
    seed: int = 42,
    days: int = 90,
    skus: int = 5000,
    surge: float = 1.0,
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    orders, refunds = out_dir / "orders.csv", out_dir / "refunds.csv"
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE lines AS "
        + lines_sql(lines, first="2026-01-01", days=days, seed=seed, skus=skus, surge=surge)
    )
    con.execute(f"""
        COPY (
            SELECT 'big-shop' AS shop_id, order_id, line_id, sku_id, 'product ' || sku_id AS product_name,
                   quantity, amount, strftime(paid_at, '%Y-%m-%d %H:%M:%S') AS paid_at, province,
                   '' AS city, carrier, customer_id
            FROM lines ORDER BY i
        ) TO '{orders}' (HEADER)
    """)
    con.execute(f"""
        COPY (
            SELECT 'big-shop' AS shop_id, 'R' || i::VARCHAR AS refund_id, order_id, line_id, sku_id,
                   CASE WHEN i % 3 = 0 THEN 'refund_only' WHEN i % 17 = 0 THEN 'exchange'
                        ELSE 'return_refund' END AS refund_type,
                   reason, 'completed' AS status,
                   strftime(paid_at + to_days(lag_days) + INTERVAL 3 HOUR, '%Y-%m-%d %H:%M:%S') AS requested_at,
                   strftime(paid_at + to_days(lag_days + 3), '%Y-%m-%d %H:%M:%S') AS completed_at,
                   amount AS refund_amount, 1 AS quantity, '' AS province, '' AS carrier
            FROM lines WHERE refunded AND quantity > 0 ORDER BY i
        ) TO '{refunds}' (HEADER)
    """)
    return orders, refunds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--out", type=Path, default=Path("bench/out/big"))
    parser.add_argument(
        "--surge", type=float, default=1.0, help="refund chance x this for the last 8 days"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    orders, refunds = make_big(
        args.out, args.lines, seed=args.seed, days=args.days, surge=args.surge
    )
    size = (orders.stat().st_size + refunds.stat().st_size) / 1e6
    print(f"wrote {orders} and {refunds} ({size:,.0f} MB) in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
