"""抖店 product vs SKU (issue 17): 商品ID is the product; the SKU is the 商家编码, else
商品ID|spec of 选购商品, else the 商品ID. Fixtures written by hand for these tests:
fixtures/doudian/orders_skus.csv and refunds_skus.csv (one product in four specs, codes
present, empty, a placeholder and a lone tab; a bracketed spec; a title with no spec)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from returnwatch.sources.ingest import import_file
from returnwatch.warehouse.rates import refresh_rates

FIXTURES = Path(__file__).parent / "fixtures" / "doudian"
TEE, CUP = "3600000000000001", "3600000000000002"


def fixture(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(FIXTURES / name, tmp_path / name))


@pytest.fixture
def loaded(warehouse, settings, tmp_path):
    for name in ("orders_skus.csv", "refunds_skus.csv"):
        result = import_file(warehouse, settings, fixture(tmp_path, name))
        assert result.status == "loaded" and result.rows_quarantined == 0, result.line()
    return warehouse


def test_order_lines_get_the_product_and_their_sku(loaded):
    got = dict(
        (line[-3:], (product, sku))
        for line, product, sku in loaded.execute(
            "SELECT line_id, product_id, sku_id FROM order_lines"
        ).fetchall()
    )
    assert got == {
        "101": (TEE, "TS-W-L"),  # 商家编码
        "102": (TEE, f"{TEE}|白色 M"),  # no code: the spec after the title
        "103": (TEE, f"{TEE}|黑色 M"),  # "-" is no code
        "104": (TEE, f"{TEE}|黑色 M"),  # a full-width space separates as well
        "105": (CUP, f"{CUP}|500ml 白"),  # a trailing 【…】 is the spec
        "106": (CUP, CUP),  # no spec to tell: the SKU is the product
        "107": (TEE, f"{TEE}|白色 M"),  # a lone tab is no code; padding is not the spec
    }


def test_refunds_get_the_product_and_their_own_sku(loaded):
    got = dict(
        (refund[-1:], (product, sku))
        for refund, product, sku in loaded.execute(
            "SELECT refund_id, product_id, sku_id FROM refund_records"
        ).fetchall()
    )
    assert got == {
        "1": (TEE, "TS-W-L"),
        "2": (TEE, TEE),  # 商品名称 without spec: only the product, until joined to its line
        "3": (CUP, f"{CUP}|500ml 白"),
        "4": (TEE, f"{TEE}|黑色 M"),
    }


def test_a_return_counts_under_its_order_lines_sku(loaded, settings):
    refresh_rates(loaded, settings, settings.shop_id, start=dt.date(2026, 8, 10),
                  end=dt.date(2026, 8, 12))  # fmt: skip
    rows = loaded.execute("""
        SELECT dimension, key, sum(order_lines), sum(returns) FROM daily_return_rates
        WHERE dimension IN ('sku', 'product') GROUP BY ALL
    """).fetchall()
    got = {(d, k): (int(n), int(r)) for d, k, n, r in rows}
    assert got == {
        ("sku", "TS-W-L"): (1, 1),
        # refund 2 names only the product; its line (102) names the spec
        ("sku", f"{TEE}|白色 M"): (2, 1),
        # refund 4's line is not loaded: its own SKU, from its 商品名称
        ("sku", f"{TEE}|黑色 M"): (2, 1),
        ("sku", f"{CUP}|500ml 白"): (1, 1),
        ("sku", CUP): (1, 0),
        ("product", TEE): (5, 3),
        ("product", CUP): (2, 1),
    }


# ---------------------------------------------------------------------------------------
# End to end: a seeded shop with a size incident and a product-wide one, written as 抖店
# exports, imported, rated and tested. Before issue 17's profile change both would have
# been `sku` slices (商品ID was the SKU).


@pytest.fixture(scope="module")
def sized_shop(tmp_path_factory):
    from returnwatch.demo.exports import write_doudian_exports
    from returnwatch.demo.scenarios import Scenario, inject
    from returnwatch.demo.shop import generate_shop
    from returnwatch.settings import Settings
    from returnwatch.sources.ingest import import_paths
    from returnwatch.warehouse.connection import connect
    from returnwatch.warehouse.detection import detect_days
    from returnwatch.warehouse.rates import date_range

    shop = generate_shop(
        seed=23, n_skus=24, lines_per_day=1500, days=75, n_random_spikes=0, shop_id="sized"
    )
    plan = [
        Scenario("product", shop.start + dt.timedelta(days=50), multiplier=3.5),
        Scenario("size", shop.start + dt.timedelta(days=62), multiplier=4.0),
    ]
    built = inject(shop, plan, seed=3)
    tmp = tmp_path_factory.mktemp("sized")
    files = write_doudian_exports(built.shop, tmp / "inbox", by="all")
    settings = Settings(db=tmp / "w.duckdb", shop_id="sized")
    con = connect(settings)
    import_paths(con, settings, files)
    nights = date_range(shop.start + dt.timedelta(days=35), shop.end - dt.timedelta(days=1))
    refresh_rates(con, settings, "sized", start=shop.start, end=nights[-1])
    detect_days(con, settings, "sized", nights)
    found = con.execute(
        "SELECT day, dimension, key FROM anomalies WHERE explained_by IS NULL"
    ).fetchall()
    yield built, found, con
    con.close()


def _alerts(found, incident, *keys: str) -> set[tuple[str, str]]:
    keys = {incident.key, *incident.skus, *keys}
    return {(d, k) for day, d, k in found if k in keys and day == incident.first_day}


def test_the_exports_give_products_of_several_skus(sized_shop):
    built, _, con = sized_shop
    lines = built.shop.order_lines
    want = lines.groupby("product_id")["sku_id"].nunique()
    got = dict(con.execute(
        "SELECT key, count(*) FROM (SELECT DISTINCT product_id AS key, sku_id FROM order_lines) "
        "GROUP BY key"
    ).fetchall())  # fmt: skip
    assert got == {str(k): int(n) for k, n in want.items()} and max(got.values()) > 1


def test_a_size_is_a_sku_anomaly_and_a_spread_defect_a_product_one(sized_shop):
    built, found, _ = sized_shop
    size = next(i for i in built.incidents if i.kind == "size")
    product = next(i for i in built.incidents if i.kind == "product")
    lines = built.shop.order_lines
    size_product = str(lines.loc[lines["sku_id"] == size.key, "product_id"].iloc[0])
    assert len(product.skus) > 1 and size_product != size.key
    # one size up: the SKU alerts, and its product (whose other sizes are calm) does not
    assert _alerts(found, size, size_product) == {("sku", size.key)}
    # every size up a little: the product alerts, and no size of it alone
    assert _alerts(found, product) == {("product", product.key)}
