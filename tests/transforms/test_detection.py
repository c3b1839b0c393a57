"""The detector: literal mode on hand-made data, the statistics on tiny frames, and the
default mode on a seeded synthetic shop with spikes whose truth is known."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from returnwatch.demo.shop import SpikeSpec, generate_shop
from returnwatch.settings import Settings
from returnwatch.transforms.detection import (
    DetectionSummary,
    benjamini_hochberg,
    fold,
    rate_rule,
    upper_tail,
)
from returnwatch.transforms.rates import daily_rates_sql
from returnwatch.warehouse.connection import connect
from returnwatch.warehouse.detection import (
    detect_days,
    detect_dirty,
    detect_in_transaction,
    run_detect,
)
from returnwatch.warehouse.rates import date_range, recompute_rates, refresh_rates
from tests.helpers import connect_memory

from .conftest import load_frames
from .hand_shop import SHOP, D, orders_frame, refunds_frame

LITERAL = {(4, "shop", "*"), (6, "shop", "*"), (4, "region", "Q"), (4, "sku", "B")}
HAND_DAYS = [D[i] for i in range(1, 7)]


# ---------------------------------------------------------------------------------------
# Literal mode on the hand-made shop


def test_literal_anomalies_are_the_rule(hand_shop, hand_settings):
    refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    summary = detect_days(hand_shop, hand_settings, SHOP, HAND_DAYS)
    rows = hand_shop.execute(
        "SELECT day, dimension, key, expected_returns, extra_returns, p_value, mode, reason, "
        "explained_by FROM anomalies"
    ).fetchall()
    assert {(r[0].day, r[1], r[2]) for r in rows} == LITERAL
    assert summary.anomalies == summary.primary == 4
    assert summary.by_dimension == {"shop": 2, "region": 1, "sku": 1}
    shop_d4 = next(r for r in rows if r[0] == D[4] and r[1] == "shop")
    assert shop_d4[3] == pytest.approx(1.0)  # baseline 0.25 x 4 order lines
    assert shop_d4[4] == pytest.approx(1.0)
    assert shop_d4[5] is None
    assert shop_d4[6] == "literal"
    assert shop_d4[7] == (
        "return rate 50.0% > 1.2 x baseline 25.0% (+100%; 2 returns / 4 order lines, "
        "baseline over 2 days)"
    )
    assert all(r[8] is None for r in rows)


def test_detection_replaces_the_days_rows(hand_shop, hand_settings):
    refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    detect_days(hand_shop, hand_settings, SHOP, HAND_DAYS)
    detect_days(hand_shop, hand_settings, SHOP, [D[4]])
    assert hand_shop.execute("SELECT count(*) FROM anomalies").fetchone()[0] == 4
    only_shops = hand_settings.model_copy(deep=True)
    only_shops.detection.dimensions = ["shop"]
    summary = detect_days(hand_shop, only_shops, SHOP, [D[4]])
    assert summary.by_dimension == {"shop": 1}
    assert hand_shop.execute("SELECT count(*) FROM anomalies").fetchone()[0] == 2


def test_on_anomalies_runs_inside_the_transaction(hand_shop, hand_settings):
    refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    seen = []

    def enqueue(con, shop_id, days):
        seen.append(con.execute("SELECT count(*) FROM anomalies").fetchone()[0])
        raise RuntimeError("outbox full")

    with pytest.raises(RuntimeError):
        detect_days(hand_shop, hand_settings, SHOP, HAND_DAYS, on_anomalies=enqueue)
    assert seen == [4]  # the callback saw the new rows...
    assert hand_shop.execute("SELECT count(*) FROM anomalies").fetchone()[0] == 0  # ...rolled back
    calls = []
    detect_days(
        hand_shop, hand_settings, SHOP, HAND_DAYS, on_anomalies=lambda *a: calls.append(a[1:])
    )
    assert calls == [(SHOP, HAND_DAYS)]


@pytest.mark.slow  # a warehouse file
def test_run_detect_backfills_a_warehouse_file(settings):
    con = connect(settings)
    load_frames(con, orders_frame(), refunds_frame())
    con.close()
    settings.detection = Settings(
        detection={"mode": "literal", "window_days": 3, "min_history_days": 2}
    ).detection
    summary = run_detect(settings, D[1], D[6])
    assert summary.anomalies == 4 and summary.shops == [SHOP]
    assert str(summary) == (
        "literal detection, 6 days (2026-07-01..2026-07-06), 1 shop: 4 anomalies, 4 primary "
        "(shop 2, region 1, sku 1); critical 4"
    )
    again = run_detect(settings, D[4], D[4], shop_id=SHOP)
    assert again.anomalies == 3
    con = connect(settings)
    assert con.execute("SELECT count(*) FROM anomalies").fetchone()[0] == 4
    con.close()


# ---------------------------------------------------------------------------------------
# The statistics on tiny inputs


def test_upper_tail_is_poisson_or_negative_binomial():
    y = np.array([5.0, 5.0, 1.0, 0.0, 3.0])
    mu = np.array([2.0, 2.0, 0.0, 1.0, 2.0])
    c = np.array([0.0, 0.5, 0.0, 0.0, 1e-12])
    p = upper_tail(y, mu, c)
    assert p[0] == pytest.approx(stats.poisson.sf(4, 2.0))
    # mean 2, variance 2 + 0.5 x 4 = 4: size 2, p = 0.5
    assert p[1] == pytest.approx(stats.nbinom.sf(4, 2, 0.5))
    assert p[1] > p[0]  # overdispersion makes 5 returns less surprising
    assert p[2] == 0.0  # a return where none was expected
    assert p[3] == 1.0
    assert p[4] == pytest.approx(stats.poisson.sf(2, 2.0))


def test_benjamini_hochberg_counts_every_tested_slice():
    day = pd.Timestamp("2026-08-01")
    frame = pd.DataFrame(
        {
            "day": [day] * 5 + [day + pd.Timedelta(days=1)],
            "is_tested": [True, True, True, True, False, True],
            "is_candidate": [True, True, False, False, False, True],
            "p_value": [0.02, 0.001, np.nan, np.nan, np.nan, 0.3],
        }
    )
    q = benjamini_hochberg(frame)
    # m = 4 tested: 0.001 x 4 / 1 and 0.02 x 4 / 2; the next day m = 1.
    assert q.tolist()[:2] == pytest.approx([0.04, 0.004])
    assert q.iloc[2:5].isna().all()
    assert q.iloc[5] == pytest.approx(0.3)


def test_summary_string():
    summary = DetectionSummary(
        mode="default",
        days=[date(2026, 9, 1), date(2026, 9, 2)],
        shops=["a", "b"],
        anomalies=5,
        primary=2,
        tested=700,
        by_dimension={"sku": 3, "region": 1, "shop": 1},
        by_severity={"critical": 1, "info": 4},
    )
    assert str(summary) == (
        "default detection, 2 days (2026-09-01..2026-09-02), 2 shops: 5 anomalies, 2 primary "
        "(shop 1, region 1, sku 3); critical 1, info 4; 700 slice-days tested"
    )


def flagged_frame(rows: list[tuple]) -> pd.DataFrame:
    """Anomaly rows as `fold` receives them (one day, the night's BH cut at 1e-3)."""
    columns = ["dimension", "key", "returns", "expected_returns", "order_lines"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["day"] = pd.Timestamp("2026-09-01")
    frame["extra_returns"] = frame["returns"] - frame["expected_returns"]
    frame["baseline_rate"] = 0.1
    frame["_c"] = 0.001
    frame["_p_cut"] = 1e-3
    return frame


def test_a_sku_spike_explains_its_region_and_the_shop():
    flagged = flagged_frame(
        [
            ("shop", "*", 150, 100.0, 1000),
            ("sku", "X", 60, 10.0, 100),
            ("region", "G", 70, 30.0, 300),
        ]
    )
    # X's 60 returns: 40 in G, 20 in H. Without X's extra (50 x 40/60 in G), G has 36.7
    # returns against 30 expected: no longer significant. Without all 50, the shop has 100.
    breakdown = pd.DataFrame(
        {"day": flagged["day"][0], "key": "X", "province": ["G", "H"], "returns": [40, 20]}
    )
    folded = fold(flagged, breakdown, Settings().detection).set_index("key")
    assert folded.loc["X", "explained_by"] is None
    assert folded.loc["G", "explained_by"] == "sku:X"
    assert folded.loc["*", "explained_by"] == "sku:X"
    assert sorted(folded.loc["X", "related"]) == ["region:G", "shop:*"]


def test_a_shop_wide_spike_explains_the_slices_it_lifts():
    flagged = flagged_frame(
        [
            ("shop", "*", 200, 100.0, 1000),  # twice the expected returns everywhere
            ("sku", "Y", 21, 10.0, 100),
            ("region", "G", 61, 30.0, 300),
            ("sku", "Z", 40, 10.0, 100),  # far beyond the shop's own lift: a spike of its own
        ]
    )
    breakdown = pd.DataFrame(
        {"day": flagged["day"][0], "key": ["Y", "Z"], "province": "G", "returns": [21, 40]}
    )
    folded = fold(flagged, breakdown, Settings().detection).set_index("key")
    assert folded.loc["*", "explained_by"] is None
    assert folded.loc["Y", "explained_by"] == "shop:*"
    assert folded.loc["Z", "explained_by"] is None
    assert folded.loc["G", "explained_by"] == "shop:*"
    assert sorted(folded.loc["*", "related"]) == ["region:G", "sku:Y"]


def test_a_couriers_breakage_stays_the_alert_when_a_sku_spike_also_lands_in_its_province():
    """The demo's last night: 中通快递 breaks parcels in 浙江省 (22 returns on 3.3) while
    a SKU spikes shop-wide (44 on 7.7), 10 of its returns in 浙江省 by another courier.
    The province's rest rises only by the SKU's share: the courier is the alert, the
    province folds under it."""
    flagged = flagged_frame(
        [
            ("region", "浙江省", 45, 15.8, 300),
            ("carrier_region", "中通快递|浙江省", 22, 3.3, 30),
            ("sku", "X", 44, 7.7, 120),
        ]
    )
    breakdown = pd.DataFrame(
        {"day": flagged["day"][0], "key": "X", "province": ["浙江省", "广东省"],
         "carrier": ["圆通速递", "圆通速递"], "product_id": "PX", "returns": [10, 34]}
    )  # fmt: skip
    folded = fold(flagged, breakdown, Settings().detection).set_index("key")
    assert folded.loc["中通快递|浙江省", "explained_by"] is None
    assert folded.loc["浙江省", "explained_by"] == "carrier_region:中通快递|浙江省"
    assert folded.loc["X", "explained_by"] is None


def _product_day(product: tuple, sku: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A product P and its main size S flagged the same night; S holds S's returns."""
    flagged = flagged_frame(
        [("product", "P", *product, 400), ("sku", "S", *sku, 300)]
    )  # fmt: skip
    breakdown = pd.DataFrame(
        {"day": flagged["day"][0], "key": "S", "province": "G", "carrier": "中通快递",
         "product_id": "P", "returns": [sku[0]]}
    )  # fmt: skip
    return flagged, breakdown


def test_a_product_batch_landing_mostly_on_one_size_still_names_the_product():
    """The other sizes rose as much as the main one (7 returns on 2.6 expected beside the
    size's 21 on 4.7): the batch is the product's — shop 40 of the scenario bench."""
    flagged, breakdown = _product_day((28, 7.4), (21, 4.75))
    folded = fold(flagged, breakdown, Settings().detection).set_index("key")
    assert folded.loc["P", "explained_by"] is None
    assert folded.loc["S", "explained_by"] == "product:P"


def test_one_size_whose_siblings_barely_moved_is_the_alert():
    """The rest of the product got 8 returns on 5.4 expected while the size got 67 on
    18.6: closer to no rise than to the size's 3.6x — the size is the alert."""
    flagged, breakdown = _product_day((75, 24.0), (67, 18.6))
    folded = fold(flagged, breakdown, Settings().detection).set_index("key")
    assert folded.loc["S", "explained_by"] is None
    assert folded.loc["P", "explained_by"] == "sku:S"


# ---------------------------------------------------------------------------------------
# The default detector on a synthetic shop with known spikes

START = date(2026, 7, 1)
DAYS = 100


@pytest.fixture(scope="module")
def spiked_shop():
    """60 SKUs, 800 lines a day, 100 days; spikes on the biggest SKU (twice, a week apart:
    the first must not hide the second), on the biggest province and on the whole shop."""
    plain = generate_shop(seed=5, days=DAYS, n_random_spikes=0)
    top_sku = plain.order_lines["sku_id"].value_counts().index[0]
    top_province = plain.order_lines["province"].value_counts().index[0]
    day = {n: START + timedelta(days=n) for n in (60, 67, 75, 85)}
    specs = [
        SpikeSpec(day[60], "sku", top_sku, 4.0),
        SpikeSpec(day[67], "sku", top_sku, 2.5),
        SpikeSpec(day[75], "region", top_province, 3.0),
        SpikeSpec(day[85], "shop", "*", 2.0),
    ]
    return generate_shop(seed=5, days=DAYS, spikes=specs)


def nights() -> list[date]:
    return date_range(START + timedelta(days=35), START + timedelta(days=DAYS - 1))


def anomalies(con) -> pd.DataFrame:
    frame = con.execute("SELECT * FROM anomalies ORDER BY day, dimension, key").df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


@pytest.fixture(scope="module")
def detected(spiked_shop):
    con = connect_memory()
    load_frames(con, spiked_shop.order_lines, spiked_shop.refunds)
    settings = Settings()
    refresh_rates(con, settings, spiked_shop.shop_id, start=START, end=nights()[-1])
    summary = detect_days(con, settings, spiked_shop.shop_id, nights())
    yield con, anomalies(con), summary
    con.close()


def test_a_backfill_stores_the_rates_in_day_order(detected):
    """A multi-day recompute inserts its rows by day (not in its GROUP BY's order), so the
    file's row groups each hold a few days and a night's statements skip the rest."""
    con = detected[0]
    for table in ("daily_return_rates", "buyer_returns"):
        days = [row[0] for row in con.execute(f"SELECT day FROM {table} ORDER BY rowid").fetchall()]
        assert len(set(days)) > 90 and days == sorted(days), table


def test_default_mode_finds_every_spike_and_little_else(spiked_shop, detected):
    _, found, summary = detected
    primary = found[found["explained_by"].isna()]
    alerts = set(zip(primary["day"], primary["dimension"], primary["key"], strict=True))
    truth = {(s.day, s.dimension, s.key) for s in spiked_shop.spikes}
    assert truth <= alerts
    # The target is at most one false alert per 30 nights; this shop has 65 nights.
    assert len(alerts - truth) <= 2
    assert summary.primary == len(alerts)
    assert summary.tested > 20 * len(nights())


def test_every_alert_keeps_the_literal_rule_and_the_floors(detected):
    """Spike-test alerts keep the literal rule; every test keeps the floors and the FDR.
    (A reason-mix shift by definition has no rate rise: test_incidents.py.)"""
    _, found, _ = detected
    settings = Settings().detection
    spikes = found[found["test"] == "spike"]
    # per the day's own order lines, or per the order lines feeding its returns (a promo
    # day's) — and then the alert says which
    own = spikes["return_rate"] > 1.2 * spikes["baseline_rate"]
    fed = spikes["returns"] / spikes["exposure_lines"] > 1.2 * spikes["baseline_rate"]
    assert (own | fed).all()
    assert spikes.loc[~own, "baseline_used"].str.contains("feeding the returns").all()
    assert (spikes["exposure_lines"] >= settings.min_order_lines).all()
    assert (found["extra_returns"] >= settings.min_extra_returns).all()
    assert (found["q_value"] <= settings.fdr_alpha).all()
    assert set(found["mode"]) == {"default"}
    assert set(found["test"]) <= {"spike", "cold_start", "drift", "mix_shift"}


def test_a_spike_folds_its_symptoms_into_one_alert(spiked_shop, detected):
    _, found, _ = detected
    sku_spike = spiked_shop.spikes[0]
    same_day = found[found["day"] == sku_spike.day]
    primary = same_day[same_day["explained_by"].isna()].iloc[0]
    folded = same_day[same_day["explained_by"].notna()]
    assert (folded["explained_by"] == f"sku:{sku_spike.key}").all()
    assert sorted(primary["related"]) == sorted(
        f"{row.dimension}:{row.key}" for row in folded.itertuples()
    )
    shop_day = found[found["day"] == spiked_shop.spikes[-1].day]
    narrow = shop_day[shop_day["dimension"] != "shop"]
    assert len(narrow) and (narrow["explained_by"] == "shop:*").all()
    shop_row = shop_day[shop_day["dimension"] == "shop"].iloc[0]
    assert shop_row["severity"] == "critical"
    assert shop_row["reason"].startswith(f"{shop_row['returns']} returns vs ")


def test_a_nights_rates_and_anomalies_equal_the_backfills(spiked_shop, detected):
    """A night recomputes one to three days, whose baselines are joined per target day
    (`rates.JOINED_BASELINE_MAX_DAYS`), where the backfill used a moving window; the
    spike days recomputed and re-detected on their own must give the backfill's rows,
    whether the window's rates are recomputed or read from the stored rows."""
    con, full, _ = detected
    settings = Settings()
    shop = spiked_shop.shop_id
    rates_sql = (
        "SELECT * EXCLUDE (computed_at) FROM daily_return_rates "
        "WHERE day IN (SELECT unnest($days::DATE[])) ORDER BY ALL"
    )
    columns = ["day", "dimension", "key", "test", "returns", "expected_returns", "p_value",
               "explained_by"]  # fmt: skip
    cases = [(offsets, stored) for offsets in ((60,), (66, 67), (74, 75, 85))
             for stored in (False, True)]  # fmt: skip
    for offsets, stored in cases:
        days = [START + timedelta(days=n) for n in offsets]
        sql = daily_rates_sql(settings, len(days), stored_history=stored)
        assert "from baselines_joined" in sql
        assert ("inner join stored_history_rates" in sql) == stored
        backfilled = con.execute(rates_sql, {"days": days}).df()
        con.execute("BEGIN")
        try:
            recompute_rates(con, settings, shop, days, stored_history=stored)
            nightly = con.execute(rates_sql, {"days": days}).df()
            detect_in_transaction(con, settings, shop, days)
            mine = anomalies(con)
        finally:
            con.execute("ROLLBACK")
        assert len(nightly) == len(backfilled) > 0
        pd.testing.assert_frame_equal(nightly, backfilled)
        mine = mine[mine["day"].isin(days)][columns].reset_index(drop=True)
        theirs = full[full["day"].isin(days)][columns].reset_index(drop=True)
        assert len(theirs) > 0
        pd.testing.assert_frame_equal(mine, theirs)


def test_a_nights_stored_history_reads_the_stored_rates(spiked_shop, detected):
    """With `stored_history`, the window's other days come from `daily_return_rates`, not
    from the order lines: a stored rate changed by hand moves the night's baseline by its
    share, and the recomputed window (the default) ignores it."""
    con, _, _ = detected
    settings = Settings()
    shop = spiked_shop.shop_id
    night = START + timedelta(days=60)
    baseline_sql = (
        "SELECT baseline_rate, baseline_days FROM daily_return_rates "
        "WHERE day = $day AND dimension = 'shop'"
    )
    before, days = con.execute(baseline_sql, {"day": night}).fetchone()
    seen = {}
    for stored in (False, True):
        con.execute("BEGIN")
        try:
            con.execute(
                "UPDATE daily_return_rates SET return_rate = return_rate + 1 "
                "WHERE day = $day AND dimension = 'shop'",
                {"day": night - timedelta(days=1)},
            )
            recompute_rates(con, settings, shop, [night], stored_history=stored)
            seen[stored] = con.execute(baseline_sql, {"day": night}).fetchone()
        finally:
            con.execute("ROLLBACK")
    assert seen[False][1] == seen[True][1] == days
    assert seen[False][0] == pytest.approx(before)
    assert seen[True][0] == pytest.approx(before + 1 / days)


def test_incremental_nights_match_a_full_backfill(spiked_shop, detected):
    """Load the shop in two parts, as nightly imports would, consuming dirty days; the
    rates and anomalies must equal the one-shot backfill's."""
    full_con, full, _ = detected
    cut = pd.Timestamp(START + timedelta(days=80))
    orders, refunds = spiked_shop.order_lines, spiked_shop.refunds
    settings = Settings()
    con = connect_memory()
    parts = (
        (orders[orders["paid_at"] < cut], refunds[refunds["requested_at"] < cut]),
        (orders[orders["paid_at"] >= cut], refunds[refunds["requested_at"] >= cut]),
    )
    for order_part, refund_part in parts:
        load_frames(con, order_part, refund_part)
        con.register("order_part", order_part)
        con.register("refund_part", refund_part)
        con.execute(
            """
            INSERT INTO dirty_days
            SELECT DISTINCT shop_id, day, 1, now()::TIMESTAMP FROM (
                SELECT shop_id, paid_at::DATE AS day FROM order_part
                UNION SELECT shop_id, requested_at::DATE FROM refund_part
            )
            """
        )
        detect_dirty(con, settings, spiked_shop.shop_id)
    assert con.execute("SELECT count(*) FROM dirty_days").fetchone()[0] == 0
    # The backfill detected nights 35..99; the nightly runs detected every day.
    mine = anomalies(con)
    mine = mine[mine["day"] >= nights()[0]]
    columns = ["day", "dimension", "key", "returns", "expected_returns", "p_value",
               "explained_by"]  # fmt: skip
    pd.testing.assert_frame_equal(
        mine[columns].reset_index(drop=True), full[columns].reset_index(drop=True)
    )
    rates = "SELECT * EXCLUDE (computed_at) FROM daily_return_rates ORDER BY ALL"
    pd.testing.assert_frame_equal(con.execute(rates).df(), full_con.execute(rates).df())
    for table in ("return_lags", "buyer_returns"):  # kept with the rates
        kept = f"SELECT * FROM {table} ORDER BY ALL"
        pd.testing.assert_frame_equal(con.execute(kept).df(), full_con.execute(kept).df())
    con.close()


def test_the_rate_rule_reads_a_promo_days_rate_per_the_orders_feeding_its_returns():
    """1,200 orders on a promo day, 30 returns from ~150 order lines of the days before,
    baseline 12%: the same-day rate (2.5%) says nothing; per the lines feeding the returns
    it is 20% — above 1.2 x 12%. Neither rate up: no alert; no exposure: the day's own."""
    detection = Settings().detection
    returns = np.array([30.0, 15.0, 30.0, 30.0])
    order_lines = np.array([1200.0, 1200.0, 150.0, 150.0])
    exposure = np.array([150.0, 150.0, np.nan, 400.0])
    baseline = np.array([0.12, 0.12, 0.12, 0.12])
    assert rate_rule(returns, order_lines, exposure, baseline, detection).tolist() == [
        True, False, True, True,
    ]  # fmt: skip
    assert not rate_rule(30.0, 1200.0, 400.0, 0.12, detection)
