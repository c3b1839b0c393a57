"""The tests beside the spike test: cold start, slow drift and reason-mix shift (issue 17).

The spike test (`detection.score`) judges a slice-day against the slice's own 28-day clean
history. Three things pass it unseen: a new product bad from its first day (no history),
a rate creeping up for weeks (its history creeps with it), and quality complaints
replacing other returns at an unchanged rate. Each test here turns its SQL features
(`sql/cold_start_features.sql`, `sql/drift_features.sql`, `sql/mix_features.sql`) into
rows shaped like the spike test's — `is_tested`, `is_candidate`, `p_value`, expected and
extra returns, the baseline used and the lift against it — so one Benjamini–Hochberg step
(`detection.combine`) controls false discoveries over every test of the night.

Pure: frames in, frames out. docs/detection.md derives each test.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import special

from returnwatch.settings import DetectionSettings
from returnwatch.transforms.detection import (
    MAX_SCORE,
    benjamini_hochberg,
    severities,
    upper_tail,
)
from returnwatch.transforms.rates import reach_days

TESTS = ("spike", "cold_start", "drift", "mix_shift")


def window_params(detection: DetectionSettings, shop_id: str, days: list[date]) -> dict:
    """The parameters every incident SQL shares (constant day bounds for the scans)."""
    return {
        "shop_id": shop_id,
        "days": days,
        "dimensions": list(detection.dimensions),
        "first_day": days[0] - timedelta(days=reach_days(detection)),
        "last_day": days[-1],
    }


def cold_start_params(detection: DetectionSettings, shop_id: str, days: list[date]) -> dict:
    return window_params(detection, shop_id, days) | {
        "window_days": detection.window_days,
        "min_history_days": detection.min_history_days,
        "lag_days": detection.return_lag_days,
        "cold_start_days": detection.cold_start_days,
        "born_from": days[0] - timedelta(days=detection.cold_start_days - 1),
    }


def drift_params(detection: DetectionSettings, shop_id: str, days: list[date]) -> dict:
    return window_params(detection, shop_id, days) | {
        "recent_from": days[0] - timedelta(days=detection.drift_days + detection.return_lag_days),
        "drift_days": detection.drift_days,
        "drift_baseline_days": detection.drift_baseline_days,
        "lag_days": detection.return_lag_days,
        "min_order_lines": detection.min_order_lines,
    }


def mix_params(detection: DetectionSettings, shop_id: str, days: list[date]) -> dict:
    params = window_params(detection, shop_id, days)
    params["first_day"] = days[0] - timedelta(days=detection.window_days)
    return params | {
        "first_target_day": days[0],
        "window_days": detection.window_days,
        "mix_min_returns": detection.mix_min_returns,
    }


def _count_candidate(
    y: np.ndarray, mu: np.ndarray, min_lift: float, detection: DetectionSettings
) -> np.ndarray:
    """At least min_extra_returns above expected and more than (1 + min_lift) x it."""
    with np.errstate(invalid="ignore"):
        return (y - mu >= detection.min_extra_returns) & (y > (1 + min_lift) * mu)


def _tail(y: np.ndarray, mu: np.ndarray, c: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    p = np.full(len(y), np.nan)
    if candidate.any():
        p[candidate] = upper_tail(y[candidate], mu[candidate], c[candidate])
    return p


def score_cold_start(features: pd.DataFrame, detection: DetectionSettings) -> pd.DataFrame:
    """New slices against their parent's rate: returns since launch vs prior rate x
    lag-weighted order lines since launch (negative binomial, c = cold_start_dispersion).

    `p_before`: the same test through the day before, so a launch alerts once (the first
    day it is significant), not every day until it has a history.
    """
    f = features.copy()
    prior = f["prior_rate"].to_numpy(float)
    y = f["returns_to_date"].to_numpy(float)
    x = f["exposure_to_date"].to_numpy(float)
    mu = prior * x
    c = np.full(len(f), detection.cold_start_dispersion)
    f["is_tested"] = np.isfinite(prior) & (prior > 0) & (x >= detection.min_order_lines)
    f["is_candidate"] = f["is_tested"] & _count_candidate(
        y, mu, detection.cold_start_min_lift, detection
    )
    f["p_value"] = _tail(y, mu, c, f["is_candidate"].to_numpy(bool))
    y_b = f["returns_before"].to_numpy(float)
    mu_b = prior * f["exposure_before"].to_numpy(float)
    before = f["is_tested"].to_numpy(bool) & _count_candidate(
        y_b, mu_b, detection.cold_start_min_lift, detection
    )
    f["p_before"] = _tail(y_b, mu_b, c, before)
    return _incident_rows(
        f,
        test="cold_start",
        returns=y,
        expected=mu,
        order_lines=f["order_lines"].to_numpy(float),
        rate=prior,
        exposure=x,
        window=lambda row: f"since its first order on {row.born}",
        first_day=f["born"],
    )


def score_drift(features: pd.DataFrame, detection: DetectionSettings) -> pd.DataFrame:
    """The last drift_days against the drift_baseline_days before them: returns vs the
    base rate x the recent order lines (negative binomial, c = drift_dispersion + the base
    rate's own uncertainty). A window whose excess is one day is left to the spike test;
    `p_before` (the window one day earlier) makes a drift alert once."""
    f = features.copy()
    base_returns = f["base_returns"].to_numpy(float)
    base_lines = f["base_lines"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(base_lines > 0, base_returns / base_lines, np.nan)
        rate_before = np.where(
            f["base_lines_before"].to_numpy(float) > 0,
            f["base_returns_before"].to_numpy(float) / f["base_lines_before"].to_numpy(float),
            np.nan,
        )
    y = f["recent_returns"].to_numpy(float)
    lines = f["recent_lines"].to_numpy(float)
    mu = rate * lines
    f["is_tested"] = (
        np.isfinite(rate)
        & (base_returns > 0)
        & (f["base_days"].to_numpy(float) >= 0.8 * detection.drift_baseline_days)
        & (lines >= detection.drift_days * detection.min_order_lines)
    )
    week = week_dispersion(f, mu, detection)
    c = week + 1 / np.maximum(base_returns, 1)
    f["dispersion"] = week
    # Without its two biggest days the window must still be up: one or two spike days
    # (the spike test's) do not make a drift.
    rest = 1 - 2 / detection.drift_days
    spread = (y - f["peak_returns"].to_numpy(float)) > (
        1 + detection.drift_min_lift
    ) * rate * lines * rest
    # most days of the window above the base, not one
    steady = f["days_above"].to_numpy(float) >= detection.drift_min_days_above
    f["is_candidate"] = (
        f["is_tested"]
        & spread
        & steady
        & _count_candidate(y, mu, detection.drift_min_lift, detection)
    )
    f["p_value"] = _tail(y, mu, c, f["is_candidate"].to_numpy(bool))
    y_b = f["recent_returns_before"].to_numpy(float)
    mu_b = rate_before * f["recent_lines_before"].to_numpy(float)
    c_b = week + 1 / np.maximum(f["base_returns_before"].to_numpy(float), 1)
    before = (
        f["is_tested"].to_numpy(bool)
        & np.isfinite(mu_b)
        & _count_candidate(y_b, mu_b, detection.drift_min_lift, detection)
    )
    f["p_before"] = _tail(y_b, mu_b, c_b, before)
    days = detection.drift_days
    return _incident_rows(
        f,
        test="drift",
        returns=y,
        expected=mu,
        order_lines=lines,
        rate=rate,
        exposure=lines,
        window=lambda row: f"last {days} days vs the {detection.drift_baseline_days} before",
        first_day=pd.to_datetime(f["day"]) - pd.Timedelta(days=days - 1),
        baseline_used=f"{detection.drift_baseline_days}-day rate before the last {days} days",
    )


# Fewer tested slices than this in a dimension that night: its week-to-week dispersion
# is the night's, pooled over every dimension but the shop.
MIN_POOLED_SLICES = 20
# Slices whose week is this many standard deviations off its base (under the first
# estimate) are left out of the second: a drift is not the noise it is tested against.
POOL_TRIM_Z = 3.0


def week_dispersion(f: pd.DataFrame, mu: np.ndarray, detection: DetectionSettings) -> np.ndarray:
    """How much a week's rate wanders from its base in this shop, from the night's slices.

    Across the tested slices of a dimension, by moments: α = Σ[(y − μ)² − y − μ²/base
    returns] / Σ μ² — what the recent weeks deviate from their bases beyond Poisson noise
    and the base rate's own uncertainty (seasonality, promo weeks, a shop-wide slow
    swing). Estimated twice: the second time without the slices more than POOL_TRIM_Z
    standard deviations off under the first estimate (a drift being tested is not the
    noise it is tested against). A dimension with fewer than MIN_POOLED_SLICES tested
    slices takes the night's estimate over every dimension but the shop. At least
    `drift_dispersion`, the least week-to-week variation assumed."""
    y = f["recent_returns"].to_numpy(float)
    base = np.maximum(f["base_returns"].to_numpy(float), 1)
    tested = f["is_tested"].to_numpy(bool) & (np.nan_to_num(mu) > 0)
    floor = detection.drift_dispersion
    with np.errstate(divide="ignore", invalid="ignore"):
        num = (y - mu) ** 2 - y - mu**2 / base
    alpha = np.full(len(f), floor)
    for _ in range(2):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (y - mu) / np.sqrt(mu + (alpha + 1 / base) * mu**2)
        use = tested & (np.abs(np.nan_to_num(z, nan=np.inf)) <= POOL_TRIM_Z)
        alpha = _pooled(f, np.where(use, num, 0.0), np.where(use, mu**2, 0.0), use, floor)
    return alpha


def _pooled(
    f: pd.DataFrame, num: np.ndarray, den: np.ndarray, use: np.ndarray, floor: float
) -> np.ndarray:
    """Σ num / Σ den per night and dimension (or per night, all dimensions but the shop,
    for a dimension with too few slices), at least `floor`, for each row."""
    parts = pd.DataFrame(
        {
            "day": f["day"].to_numpy(),
            "dimension": f["dimension"].to_numpy(),
            "num": num,
            "den": den,
            "n": use.astype(int),
        }
    )

    def ratio(groups: pd.DataFrame) -> pd.Series:
        sums = groups[["num", "den", "n"]].sum()
        return (sums["num"] / sums["den"].where(sums["den"] > 0)).where(
            sums["n"] >= MIN_POOLED_SLICES
        )

    by_dim = ratio(parts.groupby(["day", "dimension"]))
    night = ratio(parts[parts["dimension"] != "shop"].groupby("day"))
    keys = pd.MultiIndex.from_arrays([parts["day"], parts["dimension"]])
    own = by_dim.reindex(keys).to_numpy(float)
    fallback = night.reindex(parts["day"]).to_numpy(float)
    alpha = np.where(np.isfinite(own), own, fallback)
    return np.maximum(np.nan_to_num(alpha, nan=floor), floor)


def score_mix(features: pd.DataFrame, detection: DetectionSettings) -> pd.DataFrame:
    """The quality share of a slice-day's returns against its window share: binomial
    upper tail P(X >= quality returns | returns, share), while its return rate does not
    break the literal rule (else it is the spike test's)."""
    f = features.copy()
    n = f["returns"].to_numpy(float)
    q = f["quality_returns"].to_numpy(float)
    hn = f["history_returns"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(hn > 0, f["history_quality_returns"].to_numpy(float) / hn, np.nan)
        rate_up = f["return_rate"].to_numpy(float) > (1 + detection.lift_threshold) * f[
            "baseline_rate"
        ].to_numpy(float)
    f["is_tested"] = (hn >= 30) & (n >= detection.mix_min_returns) & np.isfinite(share)
    expected = share * n
    f["is_candidate"] = (
        f["is_tested"]
        & ~np.nan_to_num(rate_up, nan=0).astype(bool)
        & (q - expected >= detection.min_extra_returns)
        & (q / np.maximum(n, 1) >= share + detection.mix_min_rise)
    )
    p = np.full(len(f), np.nan)
    cand = f["is_candidate"].to_numpy(bool)
    # P(X >= q) for X ~ Binomial(n, share) is the regularised incomplete beta I_share(q, n-q+1).
    p[cand] = special.betainc(q[cand], n[cand] - q[cand] + 1, share[cand])
    f["p_value"] = p
    f["p_before"] = np.nan
    out = _incident_rows(
        f,
        test="mix_shift",
        returns=q,
        expected=expected,
        order_lines=f["order_lines"].to_numpy(float),
        rate=share,
        exposure=n,
        window=lambda row: "quality share of the day's returns",
        first_day=f["day"],
        baseline_used=f"{detection.window_days}-day quality share",
    )
    # The row's rate columns stay the slice's return rates; the test's numbers are the
    # quality returns against the expected share.
    out["return_rate"] = f["return_rate"].to_numpy(float)
    out["baseline_rate"] = f["baseline_rate"].to_numpy(float)
    out["lift"] = f["lift"].to_numpy(float)
    out["quality_returns"] = q
    out["day_returns"] = n
    return out


def _incident_rows(
    f: pd.DataFrame,
    *,
    test: str,
    returns: np.ndarray,
    expected: np.ndarray,
    order_lines: np.ndarray,
    rate: np.ndarray,
    exposure: np.ndarray,
    window,
    first_day,
    baseline_used: str | None = None,
) -> pd.DataFrame:
    """The anomaly-shaped rows of one test: counts, expected, the baseline used, lift."""
    with np.errstate(divide="ignore", invalid="ignore"):
        observed_rate = np.where(order_lines > 0, returns / order_lines, np.nan)
        test_lift = np.where(expected > 0, returns / expected - 1, np.nan)
    out = pd.DataFrame(
        {
            "shop_id": f["shop_id"].to_numpy(),
            "day": f["day"].to_numpy(),
            "dimension": f["dimension"].to_numpy(),
            "key": f["key"].to_numpy(),
            "test": test,
            "order_lines": np.nan_to_num(order_lines).astype("int64"),
            "returns": np.nan_to_num(returns).astype("int64"),
            "return_rate": observed_rate,
            "baseline_rate": rate,
            "lift": test_lift,
            "exposure_lines": exposure,
            "detector_rate": rate,
            "expected_returns": expected,
            "extra_returns": returns - expected,
            "dispersion": f["dispersion"].to_numpy(float) if "dispersion" in f else np.nan,
            "p_value": f["p_value"].to_numpy(float),
            "p_before": f["p_before"].to_numpy(float),
            "is_tested": f["is_tested"].to_numpy(bool),
            "is_candidate": f["is_candidate"].to_numpy(bool),
            "test_lift": test_lift,
            "window_from": pd.to_datetime(pd.Series(first_day).to_numpy()),
        }
    )
    out["baseline_used"] = f["baseline_used"].to_numpy() if baseline_used is None else baseline_used
    out["window_text"] = [window(row) for row in f.itertuples()]
    if "parent_product" in f:
        out["parent_product"] = f["parent_product"].to_numpy()
    return out


# --------------------------------------------------------------------------------------
# One false-discovery control over every test, and the incident anomalies


def joint_fdr(
    spike: pd.DataFrame, incidents: list[pd.DataFrame], detection: DetectionSettings
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Benjamini–Hochberg per day over every slice-day every test tested that night.

    Each test adds its tested rows to m (the night's family grows with the tests run:
    the price of looking in more places). Sets `q_value`, `is_anomaly` and the night's
    cut `_p_cut` (the largest p-value rejected, for `detection.passes`) on the spike
    frame, and `q_value` / `is_anomaly` on each incident frame (`suppress_repeats` then
    keeps one alert per launch and per drift).
    """
    frames = [spike, *incidents]
    parts = [
        pd.DataFrame(
            {
                "part": i,
                "row": np.arange(len(f)),
                "day": f["day"].to_numpy(),
                "is_tested": f["is_tested"].to_numpy(bool),
                "is_candidate": f["is_candidate"].to_numpy(bool),
                "p_value": f["p_value"].to_numpy(float),
            }
        )
        for i, f in enumerate(frames)
    ]
    joined = pd.concat(parts, ignore_index=True)
    joined["q_value"] = benjamini_hochberg(joined).to_numpy(float)
    joined["is_anomaly"] = joined["is_candidate"] & (joined["q_value"] <= detection.fdr_alpha)
    cut = joined[joined["is_anomaly"]].groupby("day")["p_value"].max()
    out = []
    for i, f in enumerate(frames):
        f = f.copy()
        mine = joined[joined["part"] == i].sort_values("row")
        f["q_value"] = mine["q_value"].to_numpy()
        f["is_anomaly"] = mine["is_anomaly"].to_numpy(bool)
        f["_p_cut"] = f["day"].map(cut).astype(float)
        out.append(f)
    return out[0], out[1:]


def incident_anomalies(
    incidents: list[pd.DataFrame],
    spike_anomalies: pd.DataFrame,
    shop_expected: pd.Series,
    detection: DetectionSettings,
    *,
    earlier: pd.DataFrame | None = None,
    sku_products: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The incident tests' anomalies as anomaly rows: one per slice-day (a spike anomaly
    of the same slice-day wins, then the TESTS order), one per launch and per drift
    (`suppress_repeats`, given the `earlier` incident alerts before these days), a SKU
    folded under its product's incident of the same test and day (`sku_products`), a mix
    shift under the spike of its day; with severity and reason."""
    flagged = [f[f["is_anomaly"]] for f in incidents]
    flagged = [f for f in flagged if len(f)]
    if not flagged:
        return pd.DataFrame()
    rows = pd.concat(flagged, ignore_index=True)
    rows["_order"] = rows["test"].map({t: i for i, t in enumerate(TESTS)})
    rows = rows.sort_values(["day", "dimension", "key", "_order"], kind="stable")
    rows = rows.drop_duplicates(["day", "dimension", "key"]).drop(columns="_order")
    if len(spike_anomalies):
        taken = set(
            zip(spike_anomalies["day"], spike_anomalies["dimension"], spike_anomalies["key"],
                strict=True)
        )  # fmt: skip
        keep = [
            (d, dim, k) not in taken
            for d, dim, k in zip(rows["day"], rows["dimension"], rows["key"], strict=True)
        ]
        rows = rows[keep]
    rows = suppress_repeats(rows, earlier, sku_products or {}, detection, spike_anomalies)
    rows = rows.reset_index(drop=True)
    rows["explained_by"] = None
    rows["related"] = [[] for _ in range(len(rows))]
    _fold_skus_under_products(rows, sku_products or {})
    _fold_mix_under_spikes(rows, spike_anomalies)
    rows["score"] = np.minimum(-np.log10(np.maximum(rows["p_value"], 1e-300)), MAX_SCORE)
    rows["shop_expected_returns"] = rows["day"].map(shop_expected).astype(float)
    rows["severity"] = severities(rows, detection)
    rows["reason"] = [incident_reason(row) for row in rows.itertuples()]
    return rows


# Tests whose incident lasts (a launch, a drift): alerted once per slice within this many
# days (the setting named here).
REPEAT_WINDOW = {"cold_start": "cold_start_days", "drift": "drift_baseline_days"}


def suppress_repeats(
    rows: pd.DataFrame,
    earlier: pd.DataFrame | None,
    sku_products: dict[str, str],
    detection: DetectionSettings,
    spikes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One alert per launch and per drift: a cold start or drift anomaly is dropped when
    the same slice (or, for a new SKU, its product) raised the same test within the
    window before (`REPEAT_WINDOW`) — in `earlier` (alerts of days before these) or among
    the rows kept so far. Days are taken in order, so a backfill and nightly runs keep
    the same alerts.

    A drift is also dropped while its slice had a spike anomaly inside the drift's own
    window (in `earlier`, test 'spike', or in `spikes`, these days' spike anomalies): that
    week's excess is the spike's incident, already alerted; if the rise outlasts it, the
    drift alerts once the spike day has left the window."""
    last: dict[tuple[str, str, str], date] = {}
    spiked: dict[tuple[str, str], list[date]] = {}
    for frame in (earlier, spikes):
        if frame is None or frame.empty:
            continue
        tests = frame["test"] if "test" in frame else pd.Series("spike", index=frame.index)
        for row, test in zip(frame.itertuples(), tests, strict=True):
            day = pd.Timestamp(row.day).date()
            if test == "spike":
                spiked.setdefault((row.dimension, row.key), []).append(day)
                continue
            key = (test, row.dimension, row.key)
            last[key] = max(last.get(key, day), day)
    keep = []
    days = {i: pd.Timestamp(d).date() for i, d in rows["day"].items()}
    for row in rows.sort_values("day", kind="stable").itertuples():
        row_day = days[row.Index]
        setting = REPEAT_WINDOW.get(row.test)
        if setting is None:
            keep.append(row.Index)
            continue
        if row.test == "drift" and any(
            timedelta(0) <= row_day - d < timedelta(days=detection.drift_days)
            for d in spiked.get((row.dimension, row.key), [])
        ):
            continue
        window = timedelta(days=getattr(detection, setting))
        keys = [(row.test, row.dimension, row.key)]
        if row.dimension == "sku" and row.key in sku_products:
            keys.append((row.test, "product", sku_products[row.key]))
        seen = [last[k] for k in keys if k in last]
        if any(row_day - d <= window for d in seen if d < row_day):
            continue
        last[keys[0]] = row_day
        keep.append(row.Index)
    return rows.loc[sorted(keep)]


def _fold_skus_under_products(rows: pd.DataFrame, sku_products: dict[str, str]) -> None:
    """A SKU's incident folds under its product's incident of the same test and day."""
    index = {
        (r.day, r.test, r.key): i
        for i, r in zip(rows.index, rows.itertuples(), strict=True)
        if r.dimension == "product"
    }
    for idx, row in rows[rows["dimension"] == "sku"].iterrows():
        parent = index.get((row["day"], row["test"], sku_products.get(row["key"])))
        if parent is not None:
            rows.at[idx, "explained_by"] = f"product:{rows.at[parent, 'key']}"
            rows.at[parent, "related"].append(f"sku:{row['key']}")


def _fold_mix_under_spikes(rows: pd.DataFrame, spikes: pd.DataFrame) -> None:
    """A reason-mix shift the same day as a spike is that spike's returns showing in a
    wider slice's mix (a quality spike on one SKU shifts the shop's and its regions'):
    it is explained by the biggest primary spike whose extra returns cover its own."""
    if spikes.empty:
        return
    primary = spikes[spikes["explained_by"].isna()]
    for idx, row in rows[rows["test"] == "mix_shift"].iterrows():
        same_day = primary[(primary["day"] == row["day"]) & (primary["extra_returns"] > 0)]
        covering = same_day[same_day["extra_returns"] >= 0.5 * row["extra_returns"]]
        if len(covering):
            top = covering.sort_values("extra_returns").iloc[-1]
            rows.at[idx, "explained_by"] = f"{top['dimension']}:{top['key']}"


def incident_reason(row) -> str:
    """The English explanation of an incident anomaly (the digest words it per language)."""
    lift = "n/a" if not np.isfinite(row.test_lift) else f"{row.test_lift:+.0%}"
    base = "n/a" if not np.isfinite(row.detector_rate) else f"{row.detector_rate:.1%}"
    if row.test == "cold_start":
        text = (
            f"cold start: {row.returns} returns {row.window_text} vs {row.expected_returns:.1f} "
            f"expected at {row.baseline_used}'s rate {base} ({lift})"
        )
    elif row.test == "drift":
        text = (
            f"drift: {row.returns} returns in the {row.window_text} vs "
            f"{row.expected_returns:.1f} expected at rate {base} ({lift})"
        )
    else:
        text = (
            f"reason mix: {row.returns} of {row.day_returns:.0f} returns quality or not as "
            f"described vs {row.expected_returns:.1f} expected at the {row.baseline_used} "
            f"{base} ({lift}), return rate not up"
        )
    text += f", p={row.p_value:.1g}"
    if row.explained_by:
        text += f"; part of the {row.explained_by} {row.test.replace('_', ' ')}"
    elif len(row.related):
        text += f"; also {', '.join(row.related)}"
    return text


def merge_anomalies(spikes: pd.DataFrame, others: pd.DataFrame) -> pd.DataFrame:
    """The spike test's and the incident tests' anomalies as one frame, each primary's
    `related` listing every row explained by it (the incident rows folded under a spike
    included)."""
    frames = [f for f in (spikes, others) if len(f)]
    if not frames:
        return spikes
    rows = pd.concat(frames, ignore_index=True)
    rows["related"] = [list(r) for r in rows["related"]]
    index = {(r.day, f"{r.dimension}:{r.key}"): i for i, r in enumerate(rows.itertuples())}
    for row in rows.itertuples():
        target = index.get((row.day, row.explained_by)) if row.explained_by else None
        label = f"{row.dimension}:{row.key}"
        if target is not None and label not in rows.at[target, "related"]:
            rows.at[target, "related"].append(label)
    return rows


def buyer_note(returns: int, top: int, top2: int, share: float) -> str | None:
    """ "17 returns, 17 from one buyer" when one buyer (or two) made most of them."""
    if returns <= 0:
        return None
    if top >= max(2, share * returns):
        return f"{returns} returns, {top} from one buyer"
    if top2 >= max(3, min(1.0, share + 0.2) * returns):
        return f"{returns} returns, {top2} from two buyers"
    return None
