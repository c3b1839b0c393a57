"""The slices of issue 17 — product, category, carrier, carrier x province — and the
quality / damaged-in-transit counts, on a hand-made shop whose every number is known.

    D1 07-01  l1 A1 (product PA, category 服装)  中通 P
              l2 A2 (product PA, no category, "加绒卫衣 黑色": the keyword rule) 中通 Q
              l3 B1 (no product, "保温杯": the id rule)                         圆通 P
              l4 C1 (no product, nothing matches -> 'unknown')            no carrier, P
    D2 07-02  l5 A1 (PA, 服装) 中通 P
              r1 of l1 质量问题; r2 of l2 物流破损; r3 of l3 不想要了 with its own carrier 韵达;
              r4 of a line never loaded, SKU Z with its own product PZ, 商品与描述不符
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from returnwatch.settings import Settings
from returnwatch.transforms.rates import category_rule_sql
from returnwatch.warehouse.rates import refresh_rates

from .conftest import load_frames

SHOP = "slices"
D1, D2 = date(2026, 7, 1), date(2026, 7, 2)

LINES = [
    # line, sku, product, category, name, carrier, province, paid_at
    ("l1", "A1", "PA", "服装", "加绒卫衣 白色", "中通快递", "P", "2026-07-01 09:00:00"),
    ("l2", "A2", "PA", None, "加绒卫衣 黑色", "中通快递", "Q", "2026-07-01 10:00:00"),
    ("l3", "B1", None, None, "保温杯", "圆通速递", "P", "2026-07-01 11:00:00"),
    ("l4", "C1", None, None, "其他", None, "P", "2026-07-01 12:00:00"),
    ("l5", "A1", "PA", "服装", "加绒卫衣 白色", "中通快递", "P", "2026-07-02 09:00:00"),
]
REFUNDS = [
    # refund, line, sku, own product, own carrier, reason
    ("r1", "l1", "A1", None, None, "质量问题"),
    ("r2", "l2", "A2", None, None, "物流破损"),
    ("r3", "l3", "B1", None, "韵达快递", "不想要了"),
    ("r4", "lx", "Z", "PZ", None, "商品与描述不符"),
]
CATEGORIES = [
    {"category": "服装", "keywords": ["卫衣"]},
    {"category": "杯具", "ids": ["B1"]},
]

# (day, dimension, key): order_lines, returns, quality_returns, damaged_returns
EXPECTED = {
    (D1, "product", "PA"): (2, 0, 0, 0),
    (D1, "product", "B1"): (1, 0, 0, 0),
    (D1, "product", "C1"): (1, 0, 0, 0),
    (D1, "category", "服装"): (2, 0, 0, 0),
    (D1, "category", "杯具"): (1, 0, 0, 0),
    (D1, "category", "unknown"): (1, 0, 0, 0),
    (D1, "carrier", "中通快递"): (2, 0, 0, 0),
    (D1, "carrier", "圆通速递"): (1, 0, 0, 0),
    (D1, "carrier", "unknown"): (1, 0, 0, 0),
    (D1, "carrier_region", "中通快递|P"): (1, 0, 0, 0),
    (D1, "carrier_region", "中通快递|Q"): (1, 0, 0, 0),
    (D1, "carrier_region", "圆通速递|P"): (1, 0, 0, 0),
    (D1, "carrier_region", "unknown|P"): (1, 0, 0, 0),
    (D2, "product", "PA"): (1, 2, 1, 1),
    (D2, "product", "B1"): (0, 1, 0, 0),
    (D2, "product", "PZ"): (0, 1, 1, 0),
    (D2, "category", "服装"): (1, 2, 1, 1),
    (D2, "category", "杯具"): (0, 1, 0, 0),
    (D2, "category", "unknown"): (0, 1, 1, 0),
    (D2, "carrier", "中通快递"): (1, 2, 1, 1),
    (D2, "carrier", "韵达快递"): (0, 1, 0, 0),
    (D2, "carrier", "unknown"): (0, 1, 1, 0),
    (D2, "carrier_region", "中通快递|P"): (1, 1, 1, 0),
    (D2, "carrier_region", "中通快递|Q"): (0, 1, 0, 1),
    (D2, "carrier_region", "韵达快递|P"): (0, 1, 0, 0),
    (D2, "carrier_region", "unknown|unknown"): (0, 1, 1, 0),
}


def orders() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "shop_id": SHOP,
                "order_id": f"o{line}",
                "line_id": line,
                "sku_id": sku,
                "product_id": product,
                "category": category,
                "product_name": name,
                "carrier": carrier,
                "province": province,
                "paid_at": datetime.fromisoformat(paid),
            }
            for line, sku, product, category, name, carrier, province, paid in LINES
        ]
    )


def refunds() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "shop_id": SHOP,
                "refund_id": refund,
                "order_id": f"o{line}",
                "line_id": line,
                "sku_id": sku,
                "product_id": product,
                "carrier": carrier,
                "reason": reason,
                "refund_type": "return_refund",
                "requested_at": datetime(2026, 7, 2, 20, 0),
            }
            for refund, line, sku, product, carrier, reason in REFUNDS
        ]
    )


@pytest.fixture
def sliced(con):
    load_frames(con, orders(), refunds())
    settings = Settings(
        detection={"mode": "literal", "window_days": 3, "min_history_days": 2},
        categories=CATEGORIES,
    )
    refresh_rates(con, settings, SHOP, start=D1, end=D2)
    return con


def test_every_new_slice_counts_as_worked_out_by_hand(sliced):
    rows = sliced.execute(
        "SELECT day, dimension, key, order_lines, returns, quality_returns, damaged_returns "
        "FROM daily_return_rates WHERE dimension IN "
        "('product', 'category', 'carrier', 'carrier_region')"
    ).fetchall()
    assert {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows} == EXPECTED


def test_the_shop_counts_quality_and_damaged_returns(sliced):
    row = sliced.execute(
        "SELECT returns, quality_returns, damaged_returns FROM daily_return_rates "
        "WHERE dimension = 'shop' AND day = ?",
        [D2],
    ).fetchone()
    assert row == (4, 2, 1)


def test_every_slice_sums_to_the_shop(sliced):
    """Each dimension partitions the shop's lines and returns: nothing silently dropped."""
    rows = sliced.execute(
        "SELECT day, dimension, sum(order_lines), sum(returns) FROM daily_return_rates GROUP BY ALL"
    ).fetchall()
    shop = {r[0]: r[2:] for r in rows if r[1] == "shop"}
    assert len({r[1] for r in rows}) == 7
    for day, _, lines, returns in rows:
        assert (lines, returns) == shop[day]


def test_the_category_rule_is_first_match_and_quotes_its_values():
    from returnwatch.settings import CategoryMapping

    sql = category_rule_sql(
        [
            CategoryMapping(category="童装's", prefixes=["37"], keywords=["童"]),
            CategoryMapping(category="其他", ids=["1"]),
        ]
    )
    assert sql.index("童装''s") < sql.index("其他")
    assert "starts_with(product_id, '37')" in sql
    assert category_rule_sql([]) == "NULL::VARCHAR"
