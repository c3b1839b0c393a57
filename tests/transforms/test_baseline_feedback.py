"""Ops' feedback and the promo calendar reach the detector's baselines: a day annotated
'expected' and every promo day leave the history, 'new-normal' restarts it, and with
none of them the features are unchanged."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from returnwatch.demo.shop import SpikeSpec, generate_shop
from returnwatch.settings import Settings
from returnwatch.transforms.rates import STORED_LAG_DAYS, reach_days, read_sql
from returnwatch.warehouse.detection import detect_days
from returnwatch.warehouse.rates import date_range
from returnwatch.warehouse.rates import refresh_rates as refresh
from tests.helpers import connect_memory

from .conftest import load_frames

START = date(2026, 7, 1)
DAYS = 70
TARGET = START + timedelta(days=60)
SHOP = "demo-shop"


@pytest.fixture(scope="module")
def shop():
    return generate_shop(seed=9, days=DAYS, n_skus=20, lines_per_day=400, n_random_spikes=0)


def loaded(shop):
    """An in-memory warehouse holding the shop, its rates computed."""
    connection = connect_memory()
    load_frames(connection, shop.order_lines, shop.refunds)
    refresh(connection, Settings(), SHOP, start=START, end=START + timedelta(days=DAYS - 1))
    return connection


def spiked_shop(spike: SpikeSpec):
    return generate_shop(
        seed=9, days=DAYS, n_skus=20, lines_per_day=400, n_random_spikes=0, spikes=[spike]
    )


def promote(con, event: str, days: list[date]) -> None:
    """Write `days` as the shop's promo days of `event` (as the nightly's calendar sync)."""
    con.execute(
        "INSERT INTO promo_days SELECT ?, unnest(?::DATE[]), ?, 'event'", [SHOP, days, event]
    )


@pytest.fixture
def con(shop):
    connection = loaded(shop)
    yield connection
    connection.close()


def features(con, day: date = TARGET) -> dict:
    """The shop row of detection_features for one night."""
    d = Settings().detection
    frame = con.execute(
        read_sql("detection_features"),
        {
            "shop_id": SHOP,
            "days": [day],
            "dimensions": list(d.dimensions),
            "window_days": d.window_days,
            "lag_days": d.return_lag_days,
            "stored_lags": d.return_lag_days <= STORED_LAG_DAYS,
            "min_lag_refunds": d.min_lag_refunds,
            "min_history_days": d.min_history_days,
            "min_order_lines": d.min_order_lines,
            "lift_threshold": d.lift_threshold,
            "min_extra_returns": d.min_extra_returns,
            "screen_z": d.screen_z,
            "first_feed_day": day - timedelta(days=d.return_lag_days),
            "first_day": day - timedelta(days=reach_days(d)),
            "first_series_day": day - timedelta(days=3 * d.window_days),
            "first_c1_day": day - timedelta(days=2 * d.window_days),
            "first_clean_day": day - timedelta(days=d.window_days),
            "last_day": day,
        },
    ).df()
    row = frame[(frame["dimension"] == "shop")]
    return row.iloc[0].to_dict() if len(row) else {}


def annotate(con, verdict: str, day: date, dimension: str = "shop", key: str = "*") -> None:
    con.execute(
        "INSERT INTO alert_annotations (shop_id, dimension, key, day, verdict, created_by, "
        "created_at) VALUES (?, ?, ?, ?, ?, 'test', ?)",
        [SHOP, dimension, key, day, verdict, datetime(2026, 9, 1)],
    )


def test_an_expected_day_leaves_the_slices_baseline(con):
    before = features(con)
    annotate(con, "expected", TARGET - timedelta(days=5))
    after = features(con)
    assert after["history_days"] == before["history_days"] - 1
    assert after["screened_days"] == before["screened_days"] + 1
    # another slice's annotation, or a later 'confirmed' on the same day, does not count
    con.execute("DELETE FROM alert_annotations")
    annotate(con, "expected", TARGET - timedelta(days=5), "region", "广东省")
    annotate(con, "expected", TARGET - timedelta(days=6))
    annotate(con, "confirmed", TARGET - timedelta(days=6))
    assert features(con)["history_days"] == before["history_days"]


def test_new_normal_restarts_the_baseline(con):
    assert features(con)["history_days"] == 28
    annotate(con, "new-normal", TARGET - timedelta(days=10))
    assert features(con) == {}  # 10 days of history since the restart: not testable yet
    assert features(con, TARGET + timedelta(days=5))["history_days"] == 15


def test_promo_days_leave_every_slices_baseline(con):
    before = features(con)
    promote(con, "双11", date_range(TARGET - timedelta(days=8), TARGET - timedelta(days=3)))
    after = features(con)
    assert after["history_days"] == before["history_days"] - 6
    assert after["history_returns"] < before["history_returns"]


def test_an_expected_spike_day_no_longer_lifts_the_baseline():
    """A surge ops marked 'expected' (a live-stream day) the screening would not catch on
    its own still leaves the baseline, so the next nights are judged on normal days."""
    surge = START + timedelta(days=50)
    con = loaded(spiked_shop(SpikeSpec(surge, "shop", "*", 1.6)))
    plain = features(con)
    annotate(con, "expected", surge)
    detect_days(con, Settings(), SHOP, [TARGET])  # runs with the annotation in place
    marked = features(con)
    con.close()
    assert plain["screened_days"] == 0  # the screening alone kept the surge in the baseline
    assert marked["screened_days"] == 1 and marked["history_days"] == plain["history_days"] - 1
    assert marked["history_returns"] < plain["history_returns"]


def test_a_promotion_longer_than_the_window_keeps_its_days_in_the_baseline(con):
    """618 or 双11 with its return window covers the whole 28-day history: leaving every
    promo day out would leave no history, and the detector blind for weeks. The history
    keeps them then (and says so); with enough days outside the promotion it does not."""
    before = features(con)
    assert not before["in_promo_baseline"]
    promote(con, "618", date_range(TARGET - timedelta(days=40), TARGET - timedelta(days=8)))
    during = features(con)
    assert during["in_promo_baseline"]
    assert during["history_days"] == before["history_days"] == 28
    assert during["history_returns"] == pytest.approx(before["history_returns"])
    # a week later 14 days of the window are outside it: the promo days leave again
    after = features(con, TARGET + timedelta(days=7))
    assert not after["in_promo_baseline"]
    assert after["history_days"] == min_history() == 14


def test_a_spike_inside_a_long_promotion_still_alerts_and_says_its_baseline():
    spike_day = TARGET
    con = loaded(spiked_shop(SpikeSpec(spike_day, "shop", "*", 2.5)))
    promote(con, "双11", date_range(spike_day - timedelta(days=35), spike_day))
    detect_days(con, Settings(), SHOP, [spike_day])
    rows = con.execute(
        "SELECT baseline_used FROM anomalies WHERE dimension = 'shop' AND day = ?", [spike_day]
    ).fetchall()
    con.close()
    assert rows, "the shop-wide spike on a promo night alerted"
    assert "with its promo days" in rows[0][0]


def min_history() -> int:
    return Settings().detection.min_history_days
