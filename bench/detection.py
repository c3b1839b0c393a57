"""Detection benchmark: recall on detectable spikes and false alerts per 30 nights.

    .venv/bin/python bench/detection.py            # the full benchmark (a few minutes)
    .venv/bin/python bench/detection.py --quick    # two small shops
    .venv/bin/python bench/detection.py --perf     # timings on a big shop (no scoring)

Shops come from the seeded generator (`returnwatch.synthetic`): weekday volume, promo days,
return lags of 0–7 days, SKUs and provinces of very different sizes, a shop-wide day factor
on returns, and injected spikes whose truth is known. 30% of refunds lose their province,
so regions come through the `refunds` view as in production.

Scoring, per detector (the default one and the literal rule):

- an alert is a primary anomaly (explained_by NULL); a folded anomaly is part of its
  primary's message and not counted again;
- a hit is an alert on an injected spike's (day, dimension, key);
- a collateral alert is on a spike's day and on a slice nested with the spike's slice (the
  shop around anything; a region holding >= 30% of a spiked SKU's returns that day; a SKU
  with >= 30% of its returns that day in a spiked region) — a symptom of the spike, not a
  false alarm, but reported;
- every other alert is false.
- A spike is *detectable* when a statistician with the true expected count mu0 (the
  generator's) would call its injected excess significant across the night's slices:
  the slice-day's observed returns are significant against mu0 (the generator's expected
  returns of that slice and day, which a real detector must estimate) across the night's
  slices, P(Poisson(mu0) >= observed) <= 0.01 / active slices that night (Bonferroni),
  with at least 3 returns above mu0, and the literal rule fires on it (the product's
  necessary condition; significant spikes it misses are counted apart).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from returnwatch.demo import shop as synthetic
from returnwatch.demo.exports import insert_frames
from returnwatch.demo.reference import MIN_BASELINE_DAYS
from returnwatch.demo.shop import SyntheticShop, generate_shop
from returnwatch.settings import Settings
from returnwatch.warehouse.detection import detect_days, detect_dirty
from returnwatch.warehouse.migrate import migrate
from returnwatch.warehouse.rates import date_range, refresh_rates

NESTED_SHARE = 0.30

DETECTABLE_FWER = 0.01


def memory_warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the full schema: the detection work without file I/O."""
    con = duckdb.connect(":memory:")
    migrate(con)
    return con


@dataclass(frozen=True)
class ShopSpec:
    seed: int
    n_skus: int
    lines_per_day: int
    days: int = 150
    n_random_spikes: int = 12


FULL = [
    ShopSpec(11, 60, 800),
    ShopSpec(12, 60, 800),
    ShopSpec(13, 150, 1500),
    ShopSpec(14, 150, 1500),
    ShopSpec(15, 400, 3000),
    ShopSpec(16, 400, 3000),
    ShopSpec(17, 400, 6000),
    ShopSpec(18, 1000, 8000),
]
QUICK = [ShopSpec(21, 60, 800, days=100, n_random_spikes=8), ShopSpec(22, 200, 2000, days=100)]


def load_shop(con: duckdb.DuckDBPyConnection, shop: SyntheticShop, seed: int) -> None:
    """Insert the generator's frames (no importer), 30% of refunds without a province."""
    refunds = shop.refunds.copy()
    rng = np.random.default_rng(seed)
    refunds.loc[rng.random(len(refunds)) < 0.3, "province"] = None
    insert_frames(con, shop.order_lines, refunds)


def run_detector(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop: SyntheticShop, nights: list[date]
) -> tuple[pd.DataFrame, float]:
    started = time.perf_counter()
    refresh_rates(con, settings, shop.shop_id, start=shop.start, end=shop.end - timedelta(1))
    detect_days(con, settings, shop.shop_id, nights)
    elapsed = time.perf_counter() - started
    found = con.execute(
        "SELECT * FROM anomalies WHERE shop_id = ? ORDER BY day, dimension, key",
        [shop.shop_id],
    ).df()
    found["day"] = pd.to_datetime(found["day"]).dt.date
    return found, elapsed


def sku_region_shares(con: duckdb.DuckDBPyConnection, shop_id: str) -> pd.DataFrame:
    """Each SKU's share of its returns per province and day (for the nesting test)."""
    frame = con.execute(
        """
        SELECT day, sku_id, province, n / sum(n) OVER (PARTITION BY day, sku_id) AS share
        FROM (
            SELECT requested_at::date AS day, sku_id, province, count(*) AS n
            FROM refunds
            WHERE shop_id = ? AND refund_type IN ('return_refund', 'refund_only')
            GROUP BY 1, 2, 3
        )
        """,
        [shop_id],
    ).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame.set_index(["day", "sku_id", "province"])["share"]


def nested(
    alert: tuple[str, str], spike: tuple[str, str], day: date, shares, products=None
) -> bool:
    """Is the alert's slice nested with the spike's (a symptom of it that day)? Products
    hold their SKUs; a carrier x province slice sits in its province (issue 17)."""
    (a_dim, a_key), (s_dim, s_key) = alert, spike
    if a_dim == "shop" or s_dim == "shop":
        return True
    if a_dim == "product":
        return s_dim == "sku" and (products or {}).get(s_key) == a_key
    if a_dim == "carrier_region":
        a_dim, a_key = "region", a_key.partition("|")[2]
    if a_dim == s_dim:
        return a_key == s_key and a_dim == "region"
    if {a_dim, s_dim} != {"sku", "region"}:
        return False
    sku, province = (s_key, a_key) if s_dim == "sku" else (a_key, s_key)
    return float(shares.get((day, sku, province), 0.0)) >= NESTED_SHARE


def score_shop(found: pd.DataFrame, shop: SyntheticShop, shares, nights: set[date]) -> dict:
    spikes = {(s.day, s.dimension, s.key): s for s in shop.spikes}
    products = dict(zip(shop.order_lines["sku_id"], shop.order_lines["product_id"], strict=True))
    primary = found[found["explained_by"].isna()]
    hits, collateral, false = set(), 0, []
    for row in primary.itertuples():
        key = (row.day, row.dimension, row.key)
        if key in spikes:
            hits.add(key)
        elif any(
            s.day == row.day
            and nested((row.dimension, row.key), (s.dimension, s.key), row.day, shares, products)
            for s in shop.spikes
        ):
            collateral += 1
        else:
            false.append(key)
    return {
        "hits": hits,
        "alerts": len(primary),
        "folded": int(found["explained_by"].notna().sum()),
        "collateral": collateral,
        "false": false,
        "nights": len(nights),
    }


def detectability(con: duckdb.DuckDBPyConnection, shop: SyntheticShop, settings: Settings):
    """Which spikes a statistician would call detectable (see the module docstring).

    The generator's expected count covers every refund type; returns are only
    return_refund and refund_only, so mu0 is scaled by the shop's share of those.
    """
    rates = con.execute(
        "SELECT day, dimension, key, returns, return_rate, baseline_rate, baseline_days "
        "FROM daily_return_rates WHERE shop_id = ?",
        [shop.shop_id],
    ).df()
    rates["day"] = pd.to_datetime(rates["day"]).dt.date
    slices_per_night = rates.groupby("day").size().median()
    rates = rates.set_index(["day", "dimension", "key"])
    share = con.execute(
        "SELECT avg((refund_type IN ('return_refund', 'refund_only'))::int) "
        "FROM refund_records WHERE shop_id = ?",
        [shop.shop_id],
    ).fetchone()[0]
    detection = settings.detection
    out = {}
    for spike in shop.spikes:
        key = (spike.day, spike.dimension, spike.key)
        mu0 = spike.expected_returns * share
        row = rates.loc[key] if key in rates.index else None
        observed = int(row["returns"]) if row is not None else 0
        p = float(stats.poisson.sf(observed - 1, mu0)) if mu0 > 0 else 0.0
        significant = observed - mu0 >= 3 and p <= DETECTABLE_FWER / slices_per_night
        literal = row is not None and bool(
            row["baseline_days"] >= detection.min_history_days
            and row["return_rate"] > (1 + detection.lift_threshold) * row["baseline_rate"]
        )
        out[key] = {
            "significant": bool(significant),
            "literal": literal,
            "p_oracle": p,
            "observed": observed,
            "mu0": mu0,
        }
    return out


# The detector before issue 17: shop, region and SKU slices, the spike test only.
TODAY = Settings(detection={"dimensions": ["shop", "region", "sku"], "tests": ["spike"]})


# Scenario shops are ShopSpecs whose random spikes are left out (scenario_shop injects
# SCENARIO_PLAN instead, so every alert is either an injection or a false one).
SCENARIO_SHOPS = [
    ShopSpec(31, 150, 3000),
    ShopSpec(32, 150, 3000),
    ShopSpec(33, 400, 5000),
    ShopSpec(34, 400, 5000),
    ShopSpec(35, 1000, 8000),
    # Five more (issue 17's recall targets are 0.9: with one drift a shop, five shops gave
    # four detectable drifts, where one miss moves recall by 0.25).
    ShopSpec(36, 150, 3000),
    ShopSpec(37, 150, 3000),
    ShopSpec(38, 400, 5000),
    ShopSpec(39, 400, 5000),
    ShopSpec(40, 1000, 8000),
]
SCENARIO_QUICK = SCENARIO_SHOPS[:2]
# Day offsets from the shop's start: one-day incidents after the 35-day warm-up, a launch,
# and a drift that needs its 90-day base (issue 17's scenarios, demo/scenarios.py).
SCENARIO_PLAN = (
    ("carrier_region", 45, 3.0),
    ("product", 52, 3.5),
    ("carrier_region", 60, 2.5),
    ("size", 66, 3.0),
    ("product", 74, 3.0),
    ("cold_start", 80, 2.5),
    ("serial_returner", 40, 0.0),
    ("carrier_region", 88, 3.0),
    ("drift", 100, 1.6),
)


# Product-wide incidents whose excess shows outside the product's biggest SKU that day,
# reported beside all of them (a second line of the table, not a replacement).
BEYOND_TOP_SKU = "product (beyond top SKU)"


def scenario_shop(spec: ShopSpec):
    """A seeded shop without random spikes, with SCENARIO_PLAN injected."""
    from returnwatch.demo.scenarios import Scenario, inject

    shop = generate_shop(
        seed=spec.seed,
        n_skus=spec.n_skus,
        lines_per_day=spec.lines_per_day,
        days=spec.days,
        n_random_spikes=0,
        shop_id=f"scenario-{spec.seed}",
    )
    plan = [
        Scenario(kind, shop.start + timedelta(days=offset), multiplier=m)
        for kind, offset, m in SCENARIO_PLAN
    ]
    return inject(shop, plan, seed=spec.seed)


def incident_found(incident, primary: pd.DataFrame) -> bool:
    """A primary alert, by any test, on the incident's slice (a launch or drift: also on
    one of its SKUs) between its first and last day."""
    window = primary[(primary["day"] >= incident.first_day) & (primary["day"] <= incident.last_day)]
    keys = {(incident.dimension, incident.key)}
    if incident.kind in ("cold_start", "drift"):
        keys |= {("sku", sku) for sku in incident.skus}
    return any((row.dimension, row.key) in keys for row in window.itertuples())


def incident_detectable(con, incident, shop_id: str) -> bool:
    """One-day incidents: significant against the slice's expected returns (the 28-day mean
    the injection used) at a Bonferroni level over the night's slices, as for spikes.
    Launches and drifts are built detectable (60 lines a day at 2x the category's rate; a
    big product drifting to 1.6x)."""
    if incident.kind in ("cold_start", "serial_returner"):
        return True
    if incident.kind == "drift":
        return drift_detectable(con, incident, shop_id)
    row = con.execute(
        "SELECT returns, (SELECT count(*) FROM daily_return_rates WHERE shop_id = $shop "
        "AND day = $day) FROM daily_return_rates WHERE shop_id = $shop AND day = $day "
        "AND dimension = $dim AND key = $key",
        {"shop": shop_id, "day": incident.first_day, "dim": incident.dimension,
         "key": incident.key},
    ).fetchone()  # fmt: skip
    if row is None:
        return False
    observed, slices = int(row[0]), int(row[1])
    mu0 = incident.expected_returns
    p = float(stats.poisson.sf(observed - 1, mu0)) if mu0 > 0 else 0.0
    return observed - mu0 >= 3 and p <= DETECTABLE_FWER / max(slices, 1)


def beyond_top_sku(con, incident, shop_id: str) -> bool:
    """Is a product-wide incident's excess visible outside its biggest SKU that day? The
    rest of the product's returns against the rest's literal baseline (rate x order lines),
    Poisson p <= 0.05 with at least 3 extra. When it is not, the day's data cannot tell a
    batch spread over the product from a problem of its main SKU (docs/detection.md)."""
    rows = con.execute(
        "SELECT key, order_lines, returns, baseline_rate FROM daily_return_rates "
        "WHERE shop_id = $shop AND day = $day AND dimension = 'sku' "
        "AND list_contains($skus, key) ORDER BY order_lines DESC",
        {"shop": shop_id, "day": incident.first_day, "skus": list(incident.skus)},
    ).fetchall()
    rest = [r for r in rows[1:] if r[3] is not None]
    observed = sum(int(r[2]) for r in rest)
    expected = sum(float(r[1]) * float(r[3]) for r in rest)
    if expected <= 0:
        return False
    p = float(stats.poisson.sf(observed - 1, expected))
    return observed - expected >= 3 and p <= 0.05


def drift_detectable(con, incident, shop_id: str) -> bool:
    """A drift is detectable when the week after its ramp (the product's returns over
    those 7 days) is significant against 7 x its normal daily returns at a Bonferroni
    level over the night's slices."""
    start = incident.last_day - timedelta(days=7)
    row = con.execute(
        "SELECT sum(returns), (SELECT count(*) FROM daily_return_rates WHERE shop_id = $shop "
        "AND day = $start) FROM daily_return_rates WHERE shop_id = $shop AND day >= $start "
        "AND day < $start + 7 AND dimension = 'product' AND key = $key",
        {"shop": shop_id, "start": start, "key": incident.key},
    ).fetchone()
    if row is None or row[0] is None:
        return False
    observed, slices = int(row[0]), int(row[1])
    mu0 = 7 * incident.expected_returns
    p = float(stats.poisson.sf(observed - 1, mu0)) if mu0 > 0 else 0.0
    return observed - mu0 >= 3 and p <= DETECTABLE_FWER / max(slices, 1)


def run_scenarios(quick: bool, verbose: bool, only: str | None = None) -> int:
    """Recall per issue-17 scenario, before (today's detector) and after, and the false
    alerts of the scenario shops (alerts matching no incident nor nested in one)."""
    specs = SCENARIO_QUICK if quick else SCENARIO_SHOPS
    modes = {"before": TODAY, "after": Settings()}
    modes = {m: s for m, s in modes.items() if only in (None, m)}
    recall: dict[str, dict[str, list[int]]] = {m: {} for m in modes}
    false = dict.fromkeys(modes, 0)
    seconds = dict.fromkeys(modes, 0.0)
    nights_total = 0
    for spec in specs:
        built = scenario_shop(spec)
        shop = built.shop
        con = memory_warehouse()
        load_shop(con, shop, spec.seed)
        first_night = shop.start + timedelta(days=MIN_BASELINE_DAYS)
        nights = date_range(first_night, shop.end - timedelta(days=1))
        nights_total += len(nights)
        line = f"scenario shop seed={spec.seed} skus={spec.n_skus} lines/day={spec.lines_per_day}:"
        for mode, settings in modes.items():
            con.execute("DELETE FROM anomalies")
            found, elapsed = run_detector(con, settings, shop, nights)
            seconds[mode] += elapsed
            primary = found[found["explained_by"].isna()]
            serial = set(
                con.execute("SELECT customer_id FROM v_serial_returners").df()["customer_id"]
            )
            matched = set()
            for incident in built.incidents:
                if incident.kind == "serial_returner":
                    hit = incident.key in serial
                else:
                    # an alert on an injected incident is never false, detectable or not
                    matched |= {
                        i for i in primary.index if incident_found(incident, primary.loc[[i]])
                    }
                    if not incident_detectable(con, incident, shop.shop_id):
                        continue
                    hit = incident_found(incident, primary)
                kinds = [incident.kind]
                if incident.kind == "product" and beyond_top_sku(con, incident, shop.shop_id):
                    kinds.append(BEYOND_TOP_SKU)
                for kind in kinds:
                    recall[mode].setdefault(kind, [0, 0])
                    recall[mode][kind][0] += int(hit)
                    recall[mode][kind][1] += 1
                if verbose and not hit:
                    print(f"  {mode} missed {incident}")
            unmatched = primary.drop(index=list(matched))
            nested_days = {
                i.first_day for i in built.incidents if i.kind not in ("serial_returner",)
            }
            lasting = [i for i in built.incidents if i.kind in ("cold_start", "drift")]
            n_false = 0
            for row in unmatched.itertuples():
                if row.day in nested_days and row.dimension in ("shop", "region", "carrier"):
                    continue  # the incident's wider slices that day
                if any(row.day == i.first_day and row.dimension == "sku" and row.key in i.skus
                       for i in built.incidents):  # fmt: skip
                    continue  # a SKU of the product hit that day
                if any(i.first_day <= row.day <= i.last_day and row.dimension == "shop"
                       for i in lasting):  # fmt: skip
                    continue
                n_false += 1
                if verbose and mode == "after":
                    print(f"  {mode} false {row.day} {row.dimension}:{row.key} {row.reason}")
            false[mode] += n_false
            line += f" {mode}: {len(primary)} alerts, {n_false} false, {elapsed:.1f}s;"
        print(line, flush=True)
        con.close()
    print()
    kinds = sorted({k for m in recall.values() for k in m})
    print(f"{len(specs)} scenario shops, {nights_total} nights")
    print(f"{'scenario':<25} " + " ".join(f"{m + ' recall':>16}" for m in modes))
    for kind in kinds:
        cells = []
        for mode in modes:
            hit, n = recall[mode].get(kind, [0, 0])
            cells.append(f"{hit / max(n, 1):>8.2f} ({hit}/{n})".rjust(16))
        print(f"{kind:<25} " + " ".join(cells))
    print(
        f"{'false/30 nights':<25} "
        + " ".join(f"{30 * false[m] / nights_total:>16.2f}" for m in modes)
    )
    print(f"{'seconds':<25} " + " ".join(f"{seconds[m]:>16.1f}" for m in modes))
    return 0


PERF_SHOP = "big"
PERF_ORDERS = """
INSERT INTO order_lines BY NAME
SELECT
    'big' AS shop_id,
    'o' || i AS order_id,
    'l' || i AS line_id,
    'sku' || floor($skus * pow(random(), 3))::INTEGER AS sku_id,
    1 AS quantity,
    10.0 AS amount,
    $start::TIMESTAMP + to_days((i // $lines_per_day)::INTEGER)
        + to_seconds(floor(random() * 86400)::BIGINT) AS paid_at,
    'p' || floor(31 * pow(random(), 2))::INTEGER AS province,
    'synthetic' AS source_format,
    0 AS load_batch_id,
    now()::TIMESTAMP AS loaded_at
FROM range($first, $last) AS t(i)
"""
PERF_REFUNDS = """
INSERT INTO refund_records BY NAME
SELECT
    shop_id,
    'r' || line_id AS refund_id,
    order_id,
    line_id,
    sku_id,
    'return_refund' AS refund_type,
    'completed' AS status,
    paid_at + to_days(floor(random() * 8)::INTEGER) AS requested_at,
    'synthetic' AS source_format,
    0 AS load_batch_id,
    now()::TIMESTAMP AS loaded_at
FROM order_lines
WHERE shop_id = 'big' AND paid_at >= $from AND random() < 0.12
"""


def perf(days: int, lines_per_day: int, skus: int) -> None:
    """Time a year's backfill and one nightly increment on a big shop built in SQL.

    The shop is crude (uniform lags, no spikes): it measures work, not detection.
    """
    settings = Settings()
    start = date(2025, 1, 1)
    con = memory_warehouse()

    def add_days(first_day: int, last_day: int) -> None:
        con.execute(
            PERF_ORDERS,
            {
                "skus": skus,
                "start": start,
                "lines_per_day": lines_per_day,
                "first": first_day * lines_per_day,
                "last": last_day * lines_per_day,
            },
        )
        con.execute(PERF_REFUNDS, {"from": start + timedelta(days=first_day)})

    started = time.perf_counter()
    add_days(0, days)
    n_lines = con.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    print(f"built {n_lines:,} order lines, {skus} SKUs, {days} days "
          f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
    last = start + timedelta(days=days - 1)
    started = time.perf_counter()
    refresh_rates(con, settings, PERF_SHOP, start=start, end=last)
    rates_seconds = time.perf_counter() - started
    started = time.perf_counter()
    summary = detect_days(con, settings, PERF_SHOP, date_range(start, last))
    print(
        f"backfill: rates {rates_seconds:.1f}s, detection {time.perf_counter() - started:.1f}s "
        f"({summary.tested:,} slice-days tested)"
    )
    # One more night: a new day of orders, refunds landing on the last 8 days.
    add_days(days, days + 1)
    con.execute(
        "INSERT INTO dirty_days SELECT DISTINCT shop_id, requested_at::DATE, 1, now() "
        "FROM refund_records WHERE requested_at >= $since",
        {"since": start + timedelta(days=days - 8)},
    )
    started = time.perf_counter()
    nightly = detect_dirty(con, settings, PERF_SHOP)
    print(f"nightly increment: {len(nightly.days)} days recomputed and detected in "
          f"{time.perf_counter() - started:.1f}s")  # fmt: skip
    con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small shops")
    parser.add_argument("--verbose", action="store_true", help="list misses and false alerts")
    parser.add_argument(
        "--day-return-sd",
        type=float,
        help="stress: the generator's shop-wide day factor on returns (lognormal sd, 0.05)",
    )
    parser.add_argument("--perf", action="store_true", help="timings on a big shop")
    parser.add_argument(
        "--scenarios", action="store_true", help="issue 17's incidents: recall per scenario"
    )
    parser.add_argument(
        "--only",
        help="one detector of the comparison: 'default' (clean shops) or 'after' (scenarios)",
    )
    parser.add_argument("--perf-days", type=int, default=365)
    parser.add_argument("--perf-lines", type=int, default=100_000, help="order lines a day")
    parser.add_argument("--perf-skus", type=int, default=5000)
    args = parser.parse_args(argv)
    if args.perf:
        perf(args.perf_days, args.perf_lines, args.perf_skus)
        return 0
    specs = QUICK if args.quick else FULL
    if args.day_return_sd is not None:
        synthetic.DAY_RETURN_SD = args.day_return_sd
    if args.scenarios:
        return run_scenarios(args.quick, args.verbose, args.only)
    modes = {
        "default": Settings(),
        "today": TODAY,
        "literal": Settings(detection={"mode": "literal"}),
    }
    modes = {m: s for m, s in modes.items() if args.only in (None, m)}
    totals = {m: {"hits": 0, "alerts": 0, "folded": 0, "collateral": 0, "false": 0,
                  "nights": 0, "seconds": 0.0, "det_hits": 0} for m in modes}  # fmt: skip
    n_spikes = n_detectable = n_not_literal = 0
    slice_nights = 0
    for spec in specs:
        shop = generate_shop(
            seed=spec.seed,
            n_skus=spec.n_skus,
            lines_per_day=spec.lines_per_day,
            days=spec.days,
            n_random_spikes=spec.n_random_spikes,
            shop_id=f"bench-{spec.seed}",
        )
        first_night = shop.start + timedelta(days=MIN_BASELINE_DAYS)
        nights = date_range(first_night, shop.end - timedelta(days=1))
        con = memory_warehouse()
        load_shop(con, shop, spec.seed)
        shares = None
        truth = None
        line = f"shop seed={spec.seed} skus={spec.n_skus} lines/day={spec.lines_per_day}:"
        for mode, settings in modes.items():
            found, seconds = run_detector(con, settings, shop, nights)
            if shares is None:
                shares = sku_region_shares(con, shop.shop_id)
                truth = detectability(con, shop, settings)
                slice_nights += con.execute(
                    "SELECT count(*) FROM daily_return_rates WHERE shop_id = ? AND day >= ?",
                    [shop.shop_id, first_night],
                ).fetchone()[0]
            result = score_shop(found, shop, shares, set(nights))
            detectable = {k for k, t in truth.items() if t["significant"] and t["literal"]}
            t = totals[mode]
            t["hits"] += len(result["hits"])
            t["det_hits"] += len(result["hits"] & detectable)
            t["alerts"] += result["alerts"]
            t["folded"] += result["folded"]
            t["collateral"] += result["collateral"]
            t["false"] += len(result["false"])
            t["nights"] += result["nights"]
            t["seconds"] += seconds
            line += (
                f" {mode}: {len(result['hits'] & detectable)}/{len(detectable)} detectable,"
                f" {len(result['false'])} false, {seconds:.1f}s;"
            )
            if args.verbose:
                for key in sorted(detectable - result["hits"]):
                    spike = next(s for s in shop.spikes if (s.day, s.dimension, s.key) == key)
                    t = truth[key]
                    print(
                        f"  {mode} missed {spike}: {t['observed']} returns vs mu0 "
                        f"{t['mu0']:.1f}, oracle p={t['p_oracle']:.2g}"
                    )
                if mode == "default":
                    for key in result["false"]:
                        row = found[
                            (found["day"] == key[0])
                            & (found["dimension"] == key[1])
                            & (found["key"] == key[2])
                        ].iloc[0]
                        print(f"  {mode} false {key}: {row['reason']}")
        n_spikes += len(shop.spikes)
        n_detectable += sum(t["significant"] and t["literal"] for t in truth.values())
        n_not_literal += sum(t["significant"] and not t["literal"] for t in truth.values())
        print(line, flush=True)
        con.close()

    nights = next(iter(totals.values()))["nights"]
    print()
    print(
        f"{len(specs)} shops, {nights} nights, {slice_nights / nights:.0f} active slices a night; "
        f"{n_spikes} spikes injected, {n_detectable} detectable "
        f"(+{n_not_literal} significant but outside the literal rule)"
    )
    print(
        f"{'detector':<9} {'recall(detectable)':>18} {'recall(all)':>11} {'alerts':>7} "
        f"{'alerts/night':>12} "
        f"{'false':>6} {'false/30 nights':>15} {'collateral':>10} {'folded':>7} {'seconds':>8}"
    )
    for mode, t in totals.items():
        print(
            f"{mode:<9} {t['det_hits'] / max(n_detectable, 1):>18.3f} "
            f"{t['hits'] / max(n_spikes, 1):>11.3f} {t['alerts']:>7} "
            f"{t['alerts'] / nights:>12.2f} {t['false']:>6} "
            f"{30 * t['false'] / nights:>15.2f} {t['collateral']:>10} {t['folded']:>7} "
            f"{t['seconds']:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
