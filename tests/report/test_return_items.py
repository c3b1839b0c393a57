"""A return counts under the same SKU in the monthly report as in `daily_return_rates`.

抖店's 售后 export names the item differently from the order export: a 售后 row without
商家编码 names only the product (商品ID, and a 商品名称 without the spec), its order line the
SKU. The rates count a return under its order line's SKU when the line is loaded, else its
own (RETURN_ITEM_SQL in transforms/rates.py); the report's SKU table, SKU × region heatmap
and category table must count it there too.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from returnwatch.report import metrics
from returnwatch.report.metrics import Period
from returnwatch.warehouse.connection import connect
from returnwatch.warehouse.rates import refresh_rates

from .conftest import MONTH, SHOP, shop_settings

ORPHAN_SKU = "ORPHAN-SKU-1"  # a return whose order line was never loaded: its own SKU


@pytest.fixture
def renamed(copied_shop):
    """The report shop with every refund naming its product instead of its SKU (商品ID as
    sku_id, a name without the spec or any category keyword), one return of a line never
    loaded, and its rates recomputed; yields (connection, settings)."""
    settings = shop_settings(copied_shop)
    con = connect(settings)
    con.execute(
        "UPDATE refund_records SET sku_id = 'P-' || coalesce(product_id, sku_id), "
        "product_name = '售后商品'"
    )
    refund_id = con.execute(
        "SELECT refund_id FROM refund_records WHERE refund_type = 'return_refund' "
        "AND requested_at >= '2026-08-01' ORDER BY refund_id LIMIT 1"
    ).fetchone()[0]
    con.execute(
        "INSERT INTO refund_records SELECT * REPLACE ('orphan-refund' AS refund_id, "
        "'never-loaded-line' AS line_id, ? AS sku_id, '保温杯 售后' AS product_name, "
        "TIMESTAMP '2026-08-20 10:00' AS requested_at) FROM refund_records WHERE refund_id = ?",
        [ORPHAN_SKU, refund_id],
    )
    refresh_rates(con, settings, SHOP, start=dt.date(2026, 7, 1), end=dt.date(2026, 8, 31))
    yield con, settings
    con.close()


def sku_rates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """August's SKU slices as the nightly mart counts them: returns and order lines."""
    return con.execute(
        "SELECT key AS sku_id, sum(returns) AS returns, sum(order_lines) AS order_lines "
        "FROM daily_return_rates WHERE shop_id = ? AND dimension = 'sku' "
        "AND day >= DATE '2026-08-01' AND day < DATE '2026-09-01' GROUP BY key",
        [SHOP],
    ).df().set_index("sku_id")  # fmt: skip


def test_the_sku_table_counts_returns_under_the_rates_skus(renamed):
    con, settings = renamed
    rates = sku_rates(con)
    assert rates.loc[ORPHAN_SKU, "returns"] == 1  # the unlinked return keeps its own SKU
    assert not rates.index.str.startswith("P-").any()  # linked ones take their line's
    report = settings.report.model_copy(update={"top_skus": 100})

    skus = metrics.top_skus(con, report, SHOP, Period.parse(MONTH)).set_index("sku_id")

    returned = rates[rates["returns"] > 0]
    assert skus["returns"].to_dict() == returned["returns"].to_dict()
    assert skus["order_lines"].to_dict() == returned["order_lines"].to_dict()
    # the name shown is the order line's, not the 售后 row's
    assert skus.drop(index=ORPHAN_SKU)["product_name"].ne("售后商品").all()


def test_the_heatmap_counts_returns_under_the_rates_skus(renamed):
    con, settings = renamed
    rates = sku_rates(con)
    report = settings.report.model_copy(update={"heatmap_regions": 100, "heatmap_skus": 100})

    cells = metrics.heatmap(con, report, SHOP, Period.parse(MONTH))

    per_sku = cells.groupby("sku_id").agg(returns=("returns", "sum"), total=("sku_returns", "max"))
    returned = rates[rates["returns"] > 0]["returns"]
    assert per_sku["total"].to_dict() == returned.to_dict()
    # every province is a row here, so the cells of a SKU add up to its returns
    assert per_sku["returns"].to_dict() == returned.to_dict()


def test_the_category_table_counts_returns_under_the_rates_skus(renamed):
    con, settings = renamed
    rates = sku_rates(con)
    names = con.execute(
        "SELECT sku_id, max(product_name) AS product_name FROM order_lines GROUP BY sku_id"
    ).df()
    names.loc[len(names)] = (ORPHAN_SKU, "保温杯 售后")
    report = settings.report

    def category_of(name: str) -> str:  # the report's rule: the first keyword its name has
        for category, keywords in report.category_keywords.items():
            if any(k and k in name for k in keywords):
                return category
        return report.shop_category

    sku_category = names.set_index("sku_id")["product_name"].map(category_of)
    want = rates["returns"].groupby(sku_category.reindex(rates.index)).sum()
    want = want[want > 0]

    frame = metrics.categories(con, report, SHOP, Period.parse(MONTH)).set_index("category")

    assert frame.loc[frame["returns"] > 0, "returns"].to_dict() == want.to_dict()
    assert "家居" in want  # the orphan's 保温杯: a category of its own name
