"""The monthly report of the demo shop: every figure checked against the warehouse itself.

Each expected number is computed here independently (pandas over the raw tables, or another
mart), not by re-running the report's SQL.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from returnwatch.report import build_report, default_report_path, trend_attachment
from returnwatch.report.metrics import Period

from .conftest import GENERATED_AT, MONTH, SHOP, shop_settings

AUG = (pd.Timestamp("2026-08-01"), pd.Timestamp("2026-09-01"))
JUL = (pd.Timestamp("2026-07-01"), pd.Timestamp("2026-08-01"))
RETURN_TYPES = ("return_refund", "refund_only")


@pytest.fixture(scope="module")
def tables(shop_dir):
    """The raw tables, read once, as pandas frames."""
    con = duckdb.connect(str(shop_dir / "returnwatch.duckdb"), read_only=True)
    frames = {
        "lines": con.execute("SELECT * FROM order_lines").df(),
        "refunds": con.execute("SELECT * FROM refund_records").df(),
        "resolved": con.execute("SELECT refund_id, province, carrier FROM refunds").df(),
        "rates": con.execute(
            "SELECT * FROM daily_return_rates WHERE dimension = 'shop' AND key = '*'"
        ).df(),
        "anomalies": con.execute("SELECT * FROM anomalies").df(),
        "outbox": con.execute("SELECT * FROM alert_outbox").df(),
    }
    con.close()
    return frames


def in_period(frame: pd.DataFrame, column: str, period) -> pd.DataFrame:
    return frame[(frame[column] >= period[0]) & (frame[column] < period[1])]


def returns_of(tables, period) -> pd.DataFrame:
    refunds = tables["refunds"]
    return in_period(refunds[refunds["refund_type"].isin(RETURN_TYPES)], "requested_at", period)


def test_headline_kpis_match_the_warehouse(august, tables):
    kpis = august.data.kpis
    lines = in_period(tables["lines"], "paid_at", AUG)
    rets = returns_of(tables, AUG)

    assert kpis.order_lines == lines["line_id"].nunique()
    assert kpis.returns == rets["refund_id"].nunique()
    # the same rate as the nightly mart's days add up to
    rates = in_period(
        tables["rates"].assign(day=pd.to_datetime(tables["rates"]["day"])), "day", AUG
    )
    assert kpis.returns == rates["returns"].sum()
    assert kpis.order_lines == rates["order_lines"].sum()
    assert kpis.return_rate == pytest.approx(rates["returns"].sum() / rates["order_lines"].sum())
    completed = rets[rets["status"] == "completed"]
    assert kpis.refunded_amount == pytest.approx(
        float(completed["refund_amount"].astype(float).sum())
    )
    disputed = rets["arbitration_status"].notna()
    assert kpis.disputes == disputed.sum() > 0
    assert kpis.dispute_rate == pytest.approx(disputed.sum() / len(rets))
    review = (rets["approved_at"] - rets["requested_at"]).dt.total_seconds().dropna() / 3600
    assert kpis.review_median_hours == pytest.approx(review.median())
    assert kpis.review_p90_hours == pytest.approx(review.quantile(0.9))
    assert kpis.review_within_target == pytest.approx((review <= 2).mean())
    finish = (rets["completed_at"] - rets["requested_at"]).dt.total_seconds().dropna() / 3600
    assert kpis.finish_median_hours == pytest.approx(finish.median())
    assert kpis.finish_p90_hours == pytest.approx(finish.quantile(0.9))
    previous = august.data.previous_kpis
    assert previous.order_lines == in_period(tables["lines"], "paid_at", JUL)["line_id"].nunique()
    assert previous.returns == returns_of(tables, JUL)["refund_id"].nunique()


def test_repurchase_coefficient_matches_a_direct_count(august, tables):
    lines = tables["lines"]
    orders = lines.groupby(["customer_id", "order_id"], as_index=False)["paid_at"].min()
    month = in_period(orders, "paid_at", AUG)
    first = month.groupby("customer_id")["paid_at"].min()
    later = orders.merge(first.rename("first").reset_index(), on="customer_id")
    window = pd.Timedelta(days=30)
    repurchased = set(
        later[(later["paid_at"] > later["first"]) & (later["paid_at"] <= later["first"] + window)][
            "customer_id"
        ]
    )
    returned_orders = set(tables["refunds"].query("refund_type in @RETURN_TYPES")["order_id"])
    returners = set(month[month["order_id"].isin(returned_orders)]["customer_id"])
    buyers = set(first.index)
    overall = len(repurchased & buyers) / len(buyers)
    of_returners = len(repurchased & returners) / len(returners)

    got = august.data.repurchase
    assert (got.buyers, got.returners) == (len(buyers), len(returners))
    assert got.repurchase_rate == pytest.approx(overall)
    assert got.coefficient == pytest.approx(of_returners / overall)


def test_top_skus_heatmap_reasons_and_carriers_match_the_warehouse(august, tables):
    data = august.data
    rets = returns_of(tables, AUG).merge(tables["resolved"], on="refund_id", suffixes=("_raw", ""))
    lines = in_period(tables["lines"], "paid_at", AUG)

    per_sku = rets.groupby("sku_id")["refund_id"].nunique().sort_values(ascending=False)
    top = data.top_skus.iloc[0]
    assert top["sku_id"] == per_sku.index[0] and top["returns"] == per_sku.iloc[0]
    assert top["order_lines"] == (lines["sku_id"] == top["sku_id"]).sum()
    reasons = rets[rets["sku_id"] == top["sku_id"]]["reason"].value_counts()
    assert top["top_reasons"][0]["returns"] == reasons.iloc[0]
    assert len(data.top_skus) == min(20, rets["sku_id"].nunique())

    cell = data.heatmap.iloc[0]  # the busiest province × the SKU with most returns
    assert cell["province"] == lines["province"].value_counts().index[0]
    want_lines = (
        (lines["province"] == cell["province"]) & (lines["sku_id"] == cell["sku_id"])
    ).sum()
    want_returns = (
        (rets["province"] == cell["province"]) & (rets["sku_id"] == cell["sku_id"])
    ).sum()
    assert (cell["order_lines"], cell["returns"]) == (want_lines, want_returns)
    assert cell["is_low_volume"] == (want_lines < 30)

    current = data.reasons[data.reasons["period"] == "current"]
    assert current["returns"].sum() == len(rets)
    by_class = current.groupby("reason_class")["returns"].sum()
    assert by_class["尺码不符"] == (rets["reason"] == "尺码不合适").sum()
    assert by_class["物流问题"] == rets["reason"].isin(["物流破损", "发错货"]).sum()

    carriers = data.carriers.set_index("carrier", drop=False)
    assert carriers["returns"].sum() == len(rets)
    damaged = rets["reason"].eq("物流破损") | rets["reason_detail"].fillna("").str.contains(
        "破损|压坏|碎了|变形|破的|摔坏"
    )
    busiest = lines["carrier"].value_counts().index[0]
    row = carriers.loc[busiest]
    of_carrier = rets["carrier"] == busiest
    assert row["order_lines"] == (lines["carrier"] == busiest).sum()
    assert row["damaged_returns"] == (damaged & of_carrier).sum()
    assert row["damaged_share"] == pytest.approx((damaged & of_carrier).sum() / of_carrier.sum())


def test_trend_anomalies_and_alerts_are_the_months(august, tables):
    data = august.data
    assert len(data.trend) == 31
    assert data.trend["return_rate"].notna().all()
    assert (data.trend["band_low"] <= data.trend["baseline_rate"]).all()
    anomalies = tables["anomalies"]
    august_anomalies = anomalies[pd.to_datetime(anomalies["day"]).dt.month == 8]
    assert len(data.anomalies) == len(august_anomalies) > 0
    assert set(data.alerts["title"]) == set(tables["outbox"]["title"])
    assert len(data.alerts) == len(tables["outbox"]) > 0


def test_the_alert_history_names_slices_as_people_read_them(august):
    html = august.html_path.read_text(encoding="utf-8")
    ids = {i for row in august.data.alerts["slices"] for i in row}
    skus = {i.removeprefix("sku:") for i in ids if i.startswith("sku:")}
    assert skus  # the month's alerts include a SKU spike
    for sku in skus:
        assert f"SKU …{sku[-6:]}" in html
    assert not re.search(r"\b(sku|region|shop):", html)  # never a stored slice id


def test_the_report_files(august, shop_dir):
    html = august.html_path.read_text(encoding="utf-8")
    assert august.html_path == default_report_path(shop_settings(shop_dir), SHOP, MONTH)
    # self-contained: font and images inline, nothing fetched, no script
    assert "@font-face" in html and "data:font/woff;base64," in html
    assert html.count("data:image/png;base64,") == 5  # the KPI card is for chat only
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert "<script" not in html.lower()
    assert "@page { size: A4" in html
    # the headline numbers, as printed
    kpis = august.data.kpis
    assert f"{kpis.return_rate:.1%}" in html
    assert f"¥{kpis.refunded_amount:,.0f}" in html
    assert "生成于 2026-09-01 08:00" in html
    assert "本月没有检测到异常" not in html
    # one PNG per chart, a real image each
    assert set(august.png_paths) == {"kpis", "trend", "top_skus", "heatmap", "reasons", "carriers"}
    for path in august.png_paths.values():
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 1200
            pixels = np.asarray(image.convert("L"))
            assert pixels.std() > 5, f"{path.name} looks blank"
    assert 200_000 < august.html_path.stat().st_size < 3_000_000


def test_a_month_without_anomalies_alerts_or_arbitration_data(copied_shop):
    con = duckdb.connect(str(copied_shop / "returnwatch.duckdb"))
    con.execute("UPDATE refund_records SET arbitration_status = NULL")
    con.execute("DELETE FROM anomalies")
    con.execute("DELETE FROM alert_outbox")
    # and markup in a product name, which must stay text
    con.execute(
        "UPDATE order_lines SET product_name = '<b>粗体</b>连衣裙' WHERE sku_id = "
        "(SELECT sku_id FROM order_lines GROUP BY sku_id ORDER BY count(*) DESC LIMIT 1)"
    )
    con.close()
    settings = shop_settings(copied_shop)
    result = build_report(settings, MONTH, SHOP, copied_shop / "quiet.html", now=GENERATED_AT)

    data = result.data
    assert data.kpis.has_arbitration_data is False
    assert data.kpis.dispute_rate is None
    dispute = next(row for row in data.scorecard if row.key == "dispute_rate")
    assert (dispute.value, dispute.status, dispute.detail) == (None, "na", "无仲裁状态数据")
    html = result.html_path.read_text(encoding="utf-8")
    assert "本月没有检测到异常" in html and "本月没有发出告警消息" in html
    assert "n/a" in html
    assert "<b>粗体</b>" not in html and "&lt;b&gt;粗体&lt;/b&gt;连衣裙" in html


def test_a_month_without_any_data_still_renders(shop_dir, tmp_path):
    settings = shop_settings(shop_dir)
    result = build_report(settings, "2026-03", out=tmp_path / "empty.html", now=GENERATED_AT)
    assert result.data.is_empty
    assert result.data.kpis.return_rate is None
    assert "没有这个店铺的订单或退货数据" in result.html_path.read_text(encoding="utf-8")
    assert len(result.png_paths) == 6


def test_shop_is_required_only_when_ambiguous(shop_dir, tmp_path):
    settings = shop_settings(shop_dir)
    with pytest.raises(LookupError, match="no data"):
        build_report(settings, MONTH, "another-shop", tmp_path / "x.html")
    with pytest.raises(ValueError, match="2026-08"):
        build_report(settings, "August", None, tmp_path / "x.html")


def test_trend_attachment_links_last_months_report(august, shop_dir):
    settings = shop_settings(shop_dir)
    assert trend_attachment(settings, SHOP, dt.date(2026, 9, 2)) is None  # no public URL

    public = settings.model_copy(
        update={
            "report": settings.report.model_copy(
                update={"public_base_url": "https://r.example/rw/"}
            )
        }
    )
    link = trend_attachment(public, SHOP, dt.date(2026, 9, 2))
    assert link is not None and link.kind == "link"
    assert link.url == f"https://r.example/rw/{SHOP}/{MONTH}/returnwatch-{SHOP}-{MONTH}.html"
    assert MONTH in link.title
    image = public.model_copy(
        update={"report": public.report.model_copy(update={"attachment": "image"})}
    )
    png = trend_attachment(image, SHOP, dt.date(2026, 9, 2))
    assert png.kind == "image" and png.url.endswith("-trend.png")


@pytest.mark.parametrize(
    ("month", "start", "end", "previous"),
    [
        ("2026-08", dt.date(2026, 8, 1), dt.date(2026, 9, 1), "2026-07"),
        ("2026-12", dt.date(2026, 12, 1), dt.date(2027, 1, 1), "2026-11"),
        ("2027-01", dt.date(2027, 1, 1), dt.date(2027, 2, 1), "2026-12"),
    ],
)
def test_periods(month, start, end, previous):
    period = Period.parse(month)
    assert (period.start, period.end, period.previous().month) == (start, end, previous)


@pytest.mark.parametrize("bad", ["2026-13", "2026-8", "202608", ""])
def test_bad_months_are_refused(bad):
    with pytest.raises(ValueError):
        Period.parse(bad)


def test_the_trend_band_leaves_out_the_days_the_detector_flagged(august, tables):
    """Issue 17: the band is drawn from the detector's clean baseline, so a flagged shop day
    does not widen the band of the days after it."""
    trend = august.data.trend.copy()
    trend.index = pd.to_datetime(trend["day"]).dt.date
    anomalies = tables["anomalies"]
    shop_days = set(pd.to_datetime(anomalies.loc[anomalies["dimension"] == "shop", "day"]).dt.date)
    assert {d for d, f in trend["is_flagged"].items() if f} == {
        d for d in shop_days if d in set(trend.index)
    }
    checked = []
    for day in trend.index:
        past = trend[(trend.index < day) & (trend.index >= day - dt.timedelta(days=28))]
        clean = past[~past["is_flagged"].astype(bool)]
        if len(past) == 28:  # the whole window lies inside the month: checkable here
            checked.append(day)
            assert trend.at[day, "baseline_rate"] == pytest.approx(clean["return_rate"].mean())
    assert checked  # Aug 29-31


def test_carrier_by_province_table_sums_the_months_days(august, tables):
    """Each carrier × province row: the month's order lines and returns counted from the
    raw tables (carrier = the refund's own courier else its line's, province = the refund's
    resolved one, as the nightly rates slice them), and the 物流破损 returns among them."""
    data = august.data
    frame = data.carrier_regions
    assert 0 < len(frame) <= 15
    assert list(frame["returns"]) == sorted(frame["returns"], reverse=True)
    lines = in_period(tables["lines"], "paid_at", AUG).assign(
        carrier=lambda f: f["carrier"].fillna("unknown"),
        province=lambda f: f["province"].fillna("unknown"),
    )
    # the detector's carrier: the refund's own, else its order line's (not the order's)
    line_carrier = tables["lines"].set_index("line_id")["carrier"]
    rets = returns_of(tables, AUG).merge(tables["resolved"], on="refund_id", suffixes=("", "_view"))
    rets = rets.assign(
        carrier=rets["carrier"].fillna(rets["line_id"].map(line_carrier)).fillna("unknown"),
        province=rets["province_view"].fillna("unknown"),
    )
    line_counts = lines.groupby(["carrier", "province"])["line_id"].nunique()
    return_counts = rets.groupby(["carrier", "province"])["refund_id"].nunique()
    damaged = rets[rets["reason"] == "物流破损"].groupby(["carrier", "province"])["refund_id"]
    damaged = damaged.nunique()
    assert frame["returns"].iloc[0] == return_counts.max()
    for row in frame.itertuples():
        pair = (row.carrier, row.province)
        assert row.returns == return_counts[pair]
        assert row.order_lines == line_counts.get(pair, 0)
        assert row.damaged_returns == damaged.get(pair, 0)
        assert row.damaged_share == pytest.approx(damaged.get(pair, 0) / return_counts[pair])
    assert (frame["damaged_returns"] > 0).any()  # the demo shop breaks some parcels
    html = august.html_path.read_text(encoding="utf-8")
    assert "快递公司 × 省份" in html and "物流破损" in html


def test_serial_returners_come_from_the_view_without_pii(copied_shop):
    """One buyer made to return 7 of 8 lines shows up with the view's figures, counted here
    from the raw tables; the page shows only a shortened pseudonym."""
    con = duckdb.connect(str(copied_shop / "returnwatch.duckdb"))
    buyer, line_id = con.execute(
        "SELECT customer_id, line_id FROM order_lines WHERE paid_at >= '2026-08-01' "
        "ORDER BY line_id LIMIT 1"
    ).fetchone()
    refund_id = con.execute("SELECT refund_id FROM refund_records LIMIT 1").fetchone()[0]
    for i in range(8):
        con.execute(
            "INSERT INTO order_lines SELECT * REPLACE (? AS line_id, "
            "TIMESTAMP '2026-08-10' + INTERVAL (?) DAY AS paid_at) "
            "FROM order_lines WHERE line_id = ?",
            [f"serial-line-{i}", i, line_id],
        )
    for i in range(7):
        con.execute(
            "INSERT INTO refund_records SELECT * REPLACE (? AS refund_id, ? AS line_id, "
            "'return_refund' AS refund_type, ? AS reason, "
            "TIMESTAMP '2026-08-12' + INTERVAL (?) DAY AS requested_at) "
            "FROM refund_records WHERE refund_id = ?",
            [f"serial-refund-{i}", f"serial-line-{i}", "质量问题" if i < 4 else "尺码不合适", i,
             refund_id],
        )  # fmt: skip
    lines = con.execute("SELECT * FROM order_lines").df()
    refunds = con.execute("SELECT * FROM refund_records").df()
    con.close()

    last_day = refunds["requested_at"].max().normalize()
    since = last_day - pd.Timedelta(days=89)
    mine = lines[lines["customer_id"] == buyer]
    rets = refunds[
        refunds["refund_type"].isin(RETURN_TYPES)
        & refunds["line_id"].isin(mine["line_id"])
        & (refunds["requested_at"] >= since)
    ]
    want_lines = (mine["paid_at"] >= since).sum()

    result = build_report(
        shop_settings(copied_shop), MONTH, SHOP, copied_shop / "serial.html", now=GENERATED_AT
    )
    frame = result.data.serial_returners
    row = frame[frame["customer"] == buyer[:8]].iloc[0]
    assert row["returns"] == len(rets) >= 7
    assert row["order_lines"] == want_lines
    assert row["return_rate"] == pytest.approx(len(rets) / want_lines)
    assert row["month_returns"] == in_period(rets, "requested_at", AUG)["refund_id"].nunique()
    assert row["first_return_at"] == rets["requested_at"].min()
    assert row["last_return_at"] == rets["requested_at"].max()
    top = rets["reason"].fillna("(none)").value_counts()
    assert row["top_reasons"].startswith(f"{top.index[0]} {top.iloc[0]}")
    # everyone listed passes the view's thresholds
    assert (frame["returns"] >= 5).all() and (frame["return_rate"] >= 0.5).all()

    html = result.html_path.read_text(encoding="utf-8")
    assert "高频退货买家" in html and f"{buyer[:8]}…" in html
    assert buyer not in html  # the whole pseudonym is not printed, only its prefix


# A refund names its own product (抖店 售后 商品ID), which the rates and the report take
# before its line's (RETURN_ITEM_SQL): regrouping the products regroups both tables.
SAME_PRODUCT_AS_LINE = (
    "UPDATE refund_records AS r SET product_id = l.product_id FROM order_lines AS l "
    "WHERE l.shop_id = r.shop_id AND l.line_id = r.line_id"
)


def test_products_roll_their_skus_up_only_when_they_have_several(august, copied_shop):
    """The demo's 抖店 export names each size by its 商家编码, so its products group several
    SKUs and the report shows the product table; a copy with one SKU per product has none,
    and a copy grouped differently sums each product's SKUs' rows as counted here."""
    assert (august.data.top_products["skus"] > 1).any()
    assert 'id="products"' in august.html_path.read_text(encoding="utf-8")

    con = duckdb.connect(str(copied_shop / "returnwatch.duckdb"))
    con.execute("UPDATE order_lines SET product_id = sku_id")
    con.execute(SAME_PRODUCT_AS_LINE)
    con.close()
    single = build_report(
        shop_settings(copied_shop), MONTH, SHOP, copied_shop / "single.html", now=GENERATED_AT
    )
    assert (single.data.top_products["skus"] == 1).all()
    assert 'id="products"' not in single.html_path.read_text(encoding="utf-8")

    con = duckdb.connect(str(copied_shop / "returnwatch.duckdb"))
    product_of = "'P-' || (hash(sku_id) % 4)::VARCHAR"
    con.execute(f"UPDATE order_lines SET product_id = {product_of}")
    con.execute(SAME_PRODUCT_AS_LINE)
    lines = con.execute(
        "SELECT line_id, sku_id, product_id, paid_at FROM order_lines WHERE paid_at >= ? "
        "AND paid_at < ?",
        [AUG[0].to_pydatetime(), AUG[1].to_pydatetime()],
    ).df()
    products = con.execute("SELECT DISTINCT sku_id, product_id FROM order_lines").df()
    refunds = con.execute(  # a return counts under its order line's SKU (as the rates do)
        "SELECT r.refund_id, coalesce(l.sku_id, r.sku_id) AS sku_id, r.refund_type, "
        "r.requested_at FROM refund_records AS r "
        "LEFT JOIN order_lines AS l ON l.shop_id = r.shop_id AND l.line_id = r.line_id"
    ).df()
    con.close()
    result = build_report(
        shop_settings(copied_shop), MONTH, SHOP, copied_shop / "products.html", now=GENERATED_AT
    )
    rets = in_period(refunds[refunds["refund_type"].isin(RETURN_TYPES)], "requested_at", AUG)
    rets = rets.merge(products, on="sku_id")
    frame = result.data.top_products.set_index("product_id")
    want_returns = rets.groupby("product_id")["refund_id"].nunique()
    assert frame["returns"].to_dict() == want_returns.to_dict()
    assert (
        frame["order_lines"].to_dict() == lines.groupby("product_id")["line_id"].nunique().to_dict()
    )
    assert frame["skus"].sum() == products["sku_id"].nunique()
    assert 'id="products"' in result.html_path.read_text(encoding="utf-8")
