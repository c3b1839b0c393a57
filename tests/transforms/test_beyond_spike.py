"""Issue 17's tests beside the spike test — cold start, slow drift, reason-mix shift —,
their one false-discovery control, one alert per incident, and buyer concentration:
the statistics on tiny frames, then seeded shops with injected incidents."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from returnwatch.demo.scenarios import Scenario, inject
from returnwatch.demo.shop import generate_shop
from returnwatch.settings import DetectionSettings, Settings
from returnwatch.transforms.beyond_spike import (
    buyer_note,
    joint_fdr,
    score_cold_start,
    score_mix,
    suppress_repeats,
    week_dispersion,
)
from returnwatch.warehouse.detection import detect_days
from returnwatch.warehouse.rates import date_range, refresh_rates
from tests.helpers import connect_memory

from .conftest import load_frames

D0 = date(2026, 9, 1)


def test_cold_start_tests_returns_since_launch_against_the_parent_rate():
    detection = DetectionSettings()
    frame = pd.DataFrame(
        {
            "shop_id": "s",
            "day": [D0, D0],
            "dimension": ["product", "product"],
            "key": ["new-bad", "new-ok"],
            "born": [D0 - timedelta(days=4)] * 2,
            "returns_to_date": [60, 22],
            "returns_before": [45, 18],
            "exposure_to_date": [120.0, 120.0],
            "exposure_before": [100.0, 100.0],
            "order_lines": [30, 30],
            "returns": [15, 4],
            "baseline_used": ["category:连衣裙", "category:连衣裙"],
            "prior_rate": [0.18, 0.18],
        }
    )
    scored = score_cold_start(frame, detection)
    bad, ok = scored.iloc[0], scored.iloc[1]
    assert bad["expected_returns"] == pytest.approx(0.18 * 120)
    c = detection.cold_start_dispersion
    mu = 0.18 * 120
    n = 1 / c
    assert bad["p_value"] == pytest.approx(stats.nbinom.sf(59, n, n / (n + mu)), rel=1e-6)
    assert bad["test_lift"] == pytest.approx(60 / mu - 1)
    assert bad["baseline_used"] == "category:连衣裙"
    assert bool(bad["is_candidate"]) and not bool(ok["is_candidate"])  # 22 vs 21.6: no


def test_mix_shift_is_the_quality_share_while_the_rate_is_not_up():
    detection = DetectionSettings()
    frame = pd.DataFrame(
        {
            "shop_id": "s",
            "day": [D0] * 3,
            "dimension": ["sku"] * 3,
            "key": ["shift", "spike", "calm"],
            "order_lines": [100, 100, 100],
            "returns": [20, 40, 20],
            "quality_returns": [15, 30, 7],
            "return_rate": [0.20, 0.40, 0.20],
            "baseline_rate": [0.20, 0.20, 0.20],
            "baseline_days": [28] * 3,
            "lift": [0.0, 1.0, 0.0],
            "history_quality_returns": [150, 150, 150],
            "history_returns": [500, 500, 500],
        }
    )
    scored = score_mix(frame, detection).set_index("key")
    assert scored.loc["shift", "is_candidate"]
    assert scored.loc["shift", "p_value"] == pytest.approx(stats.binom.sf(14, 20, 0.3))
    assert not scored.loc["spike", "is_candidate"]  # the rate doubled: the spike test's
    assert not scored.loc["calm", "is_candidate"]


def test_one_fdr_step_counts_every_test_in_m():
    """Two tests of 100 slices each: a p-value BH would keep among 100 is judged among
    200, and the night's cut is shared."""

    def frame(p_first: float) -> pd.DataFrame:
        p = np.full(100, np.nan)
        p[0] = p_first
        cand = np.zeros(100, bool)
        cand[0] = True
        return pd.DataFrame(
            {"day": D0, "is_tested": True, "is_candidate": cand, "p_value": p,
             "p_before": np.nan}
        )  # fmt: skip

    detection = DetectionSettings(fdr_alpha=0.01)
    alone, _ = joint_fdr(frame(5e-5), [], detection)
    assert alone["is_anomaly"].iloc[0]  # 5e-5 x 100 = 0.005
    spike, (other,) = joint_fdr(frame(5e-5), [frame(1.0)], detection)
    assert spike["q_value"].iloc[0] == pytest.approx(0.01)  # 5e-5 x 200
    spike, (other,) = joint_fdr(frame(2e-4), [frame(1e-9)], detection)
    # rank 2 of 200: 2e-4 x 200 / 2 = 0.02 > 0.01
    assert other["is_anomaly"].iloc[0] and not spike["is_anomaly"].iloc[0]
    assert spike["_p_cut"].iloc[0] == pytest.approx(1e-9)


def test_a_launch_or_a_drift_alerts_once():
    detection = DetectionSettings()
    rows = pd.DataFrame(
        {
            "day": [D0 + timedelta(days=i) for i in (0, 1, 5, 40, 91, 2, 20, 26)],
            "test": ["drift"] * 5 + ["cold_start", "drift", "drift"],
            "dimension": ["product"] * 5 + ["sku", "region", "region"],
            "key": ["P1"] * 5 + ["P2-S", "R1", "R1"],
        }
    )
    earlier = pd.DataFrame(
        {"day": [D0 - timedelta(days=3)], "test": ["cold_start"], "dimension": ["product"],
         "key": ["P2"]}
    )  # fmt: skip
    # R1 spiked on day 14 (an alert of these days): its drift on day 20 is that spike's
    # week; on day 26 the spike has left the 7-day window and the drift alerts.
    spikes = pd.DataFrame(
        {"day": [D0 + timedelta(days=14)], "dimension": ["region"], "key": ["R1"],
         "test": ["spike"]}
    )  # fmt: skip
    rows["day"] = pd.to_datetime(rows["day"])  # as the features' frames hold them
    kept = suppress_repeats(rows, earlier, {"P2-S": "P2"}, detection, spikes)
    # P1 on day 0 and again only after its 90-day base (day 91): a drift that stays is the
    # same incident; the new SKU's product already alerted.
    assert sorted(((r.day.date() - D0).days, r.key) for r in kept.itertuples()) == [
        (0, "P1"),
        (26, "R1"),
        (91, "P1"),
    ]


def _weeks(recent: np.ndarray, mu: float = 100.0) -> tuple[pd.DataFrame, np.ndarray]:
    """One night's drift rows: 60 products expecting `mu` returns this week, on a base of
    1,300 returns each."""
    frame = pd.DataFrame(
        {"day": D0, "dimension": "product", "recent_returns": recent, "base_returns": 1300.0,
         "is_tested": True}
    )  # fmt: skip
    return frame, np.full(len(frame), mu)


def test_the_week_to_week_dispersion_is_the_shops_own():
    """Weeks that differ from their base by Poisson noise only: the floor. Weeks that
    swing ~20% (a seasonal shop): about 0.2² — a 1.3x week is then ordinary. One product
    drifting 2x does not widen the noise it is tested against (left out, second pass)."""
    rng = np.random.default_rng(5)
    detection = DetectionSettings()
    steady = rng.poisson(100, 60).astype(float)
    alpha = week_dispersion(*_weeks(steady), detection)
    assert np.allclose(alpha, detection.drift_dispersion)
    swinging = rng.poisson(100 * rng.lognormal(0, 0.2, 60)).astype(float)
    alpha = week_dispersion(*_weeks(swinging), detection)
    assert 0.02 < alpha[0] < 0.08
    drifting = steady.copy()
    drifting[0] = 200
    assert week_dispersion(*_weeks(drifting), detection)[0] < 0.005


def test_buyer_notes():
    assert buyer_note(17, 17, 17, 0.5) == "17 returns, 17 from one buyer"
    assert buyer_note(157, 101, 110, 0.5) == "157 returns, 101 from one buyer"
    assert buyer_note(20, 8, 16, 0.5) == "20 returns, 16 from two buyers"
    assert buyer_note(20, 3, 5, 0.5) is None


# ---------------------------------------------------------------------------------------
# Seeded shops with injected incidents


@pytest.fixture(scope="module")
def incident_shop():
    shop = generate_shop(
        seed=41, n_skus=90, lines_per_day=2500, days=140, n_random_spikes=0, shop_id="inc"
    )
    plan = [
        Scenario("carrier_region", shop.start + timedelta(days=50), multiplier=3.5),
        Scenario("cold_start", shop.start + timedelta(days=70), multiplier=2.5),
        Scenario("drift", shop.start + timedelta(days=100), multiplier=1.7),
    ]
    built = inject(shop, plan, seed=1)
    con = connect_memory()
    load_frames(con, built.shop.order_lines, built.shop.refunds)
    settings = Settings()
    nights = date_range(shop.start + timedelta(days=35), shop.end - timedelta(days=1))
    refresh_rates(con, settings, "inc", start=shop.start, end=nights[-1])
    detect_days(con, settings, "inc", nights)
    found = con.execute("SELECT * FROM anomalies WHERE explained_by IS NULL").df()
    found["day"] = pd.to_datetime(found["day"]).dt.date
    yield built, found, con
    con.close()


def _alerts_on(found: pd.DataFrame, incident) -> pd.DataFrame:
    keys = {incident.key, *incident.skus}
    return found[
        found["key"].isin(keys)
        & (found["day"] >= incident.first_day)
        & (found["day"] <= incident.last_day)
    ]


def test_a_courier_breaking_parcels_in_one_province_alerts_on_that_slice(incident_shop):
    built, found, _ = incident_shop
    incident = next(i for i in built.incidents if i.kind == "carrier_region")
    hit = _alerts_on(found, incident)
    assert len(hit) == 1 and hit.iloc[0]["dimension"] == "carrier_region"
    assert hit.iloc[0]["test"] == "spike"


def test_a_bad_launch_alerts_once_in_its_first_week_against_its_category(incident_shop):
    built, found, _ = incident_shop
    incident = next(i for i in built.incidents if i.kind == "cold_start")
    hit = _alerts_on(found, incident)
    assert list(hit["test"]) == ["cold_start"]
    row = hit.iloc[0]
    assert (row["day"] - incident.first_day).days <= 7
    assert row["baseline_used"] == "category:连衣裙"
    assert row["test_lift"] > 0.5
    assert row["reason"].startswith("cold start: ")


def test_a_slow_drift_alerts_once(incident_shop):
    built, found, _ = incident_shop
    incident = next(i for i in built.incidents if i.kind == "drift")
    drift = _alerts_on(found, incident)
    drift = drift[drift["test"] == "drift"]
    assert len(drift) == 1
    assert drift.iloc[0]["baseline_used"] == "90-day rate before the last 7 days"


def test_clean_nights_stay_quiet(incident_shop):
    """Outside the incidents' days, at most one alert on a shop of 105 nights."""
    built, found, _ = incident_shop
    inside = pd.Series(False, index=found.index)
    for incident in built.incidents:
        inside |= (found["day"] >= incident.first_day) & (found["day"] <= incident.last_day)
    assert (~inside).sum() <= 1


def test_every_alert_carries_its_buyers(incident_shop):
    _, found, _ = incident_shop
    assert (found["buyers"] > 0).all()
    assert (found["top_buyer_returns"] <= found["top2_buyer_returns"]).all()


# ---------------------------------------------------------------------------------------
# Buyer concentration and serial returners on a hand-made shop


def _bulk_cancellation_shop(con) -> None:
    """SKU A: 40 lines a day for 45 days, 4 returned a day; the buyer "bulk" buys 3 of
    them a day in the last 7 days, and on the last day returns 17 of those 21 lines
    beside 3 other buyers' returns."""
    lines, refunds = [], []
    start = datetime(2026, 6, 1, 10)
    for d in range(45):
        day = start + timedelta(days=d)
        for i in range(40):
            buyer = "bulk" if d >= 38 and i < 3 else f"b{d}-{i}"
            lines.append(("A", f"l{d}-{i}", f"o{d}-{i}", buyer, day))
    for d in range(3, 44):
        for i in range(4):
            refunds.append((f"r{d}-{i}", f"l{d - 3}-{i + 10}", start + timedelta(days=d)))
    last = start + timedelta(days=44, hours=5)
    bulk = [f"l{d}-{i}" for d in range(38, 44) for i in range(3)][:17]
    refunds += [(f"rb{n}", line, last) for n, line in enumerate(bulk)]
    refunds += [(f"rn{i}", f"l41-{i + 20}", last) for i in range(3)]
    line_columns = ["sku_id", "line_id", "order_id", "customer_id", "paid_at"]
    orders = pd.DataFrame(lines, columns=line_columns)
    orders["shop_id"], orders["province"], orders["carrier"] = "h", "P", "中通快递"
    returns = pd.DataFrame(refunds, columns=["refund_id", "line_id", "requested_at"])
    returns["order_id"] = "o" + returns["line_id"].str[1:]
    returns["shop_id"], returns["sku_id"] = "h", "A"
    returns["refund_type"], returns["reason"] = "return_refund", "不想要了"
    load_frames(con, orders, returns)


def test_a_spike_made_by_one_buyer_says_so(con):
    _bulk_cancellation_shop(con)
    settings = Settings()
    last = date(2026, 7, 15)
    refresh_rates(con, settings, "h", start=date(2026, 6, 1), end=last)
    detect_days(con, settings, "h", [last])
    row = con.execute(
        "SELECT returns, buyers, top_buyer_returns, reason FROM anomalies "
        "WHERE dimension = 'sku' AND key = 'A'"
    ).fetchone()
    assert row[:3] == (20, 4, 17)
    assert row[3].endswith("buyer event: 20 returns, 17 from one buyer")


def test_serial_returners_are_pseudonyms_with_their_counts(con):
    _bulk_cancellation_shop(con)
    rows = con.execute(
        "SELECT customer_id, returns, order_lines, return_rate, top_reasons FROM v_serial_returners"
    ).fetchall()
    # the bulk buyer's 21 lines (3 a day for the last 7 days), 17 returned
    assert rows == [("bulk", 17, 21, pytest.approx(17 / 21), "不想要了 17")]
