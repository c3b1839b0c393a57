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
from returnwatch.warehouse.connection import connect_memory
from returnwatch.warehouse.detection import detect_days, detect_dirty
from returnwatch.warehouse.rates import date_range, refresh_rates

NESTED_SHARE = 0.30
DETECTABLE_FWER = 0.01


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


def nested(alert: tuple[str, str], spike: tuple[str, str], day: date, shares) -> bool:
    (a_dim, a_key), (s_dim, s_key) = alert, spike
    if a_dim == "shop" or s_dim == "shop":
        return True
    if a_dim == s_dim:
        return False
    sku, province = (s_key, a_key) if s_dim == "sku" else (a_key, s_key)
    return float(shares.get((day, sku, province), 0.0)) >= NESTED_SHARE


def score_shop(found: pd.DataFrame, shop: SyntheticShop, shares, nights: set[date]) -> dict:
    spikes = {(s.day, s.dimension, s.key): s for s in shop.spikes}
    primary = found[found["explained_by"].isna()]
    hits, collateral, false = set(), 0, []
    for row in primary.itertuples():
        key = (row.day, row.dimension, row.key)
        if key in spikes:
            hits.add(key)
        elif any(
            s.day == row.day
            and nested((row.dimension, row.key), (s.dimension, s.key), row.day, shares)
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
    con = connect_memory()

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
    modes = {"default": Settings(), "literal": Settings(detection={"mode": "literal"})}
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
        con = connect_memory()
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

    nights = totals["default"]["nights"]
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
