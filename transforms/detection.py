"""Spike detection: which slice-days of `daily_return_rates` become `anomalies`.

Two modes (`[detection] mode`):

- `literal`: exactly the rule "baseline_days >= min_history_days and return_rate >
  (1 + lift_threshold) x baseline_rate", read from `daily_return_rates`.
- `default`: the literal rule stays a necessary condition; on top, a slice-day must carry
  at least `min_extra_returns` returns above its expected returns, be fed by at least
  `min_order_lines` order lines a day, and be significant under a negative-binomial
  upper-tail test whose p-values are controlled for false discoveries (Benjamini–Hochberg
  at `fdr_alpha`) across every slice tested in the shop that night. Expected returns
  follow the lag-weighted order lines feeding the day over a history cleared of earlier
  spikes. A SKU spike that explains its region's or the shop's excess folds them in
  (`explained_by`), so one cause is one alert.

This module is pure: SQL (`sql/detection_features.sql`, `sql/literal_anomalies.sql`)
builds the features set-based, and the functions here turn frames handed to them into
anomaly rows — the tail probabilities (scipy), the FDR step, the folding and the wording.
`warehouse.detection` runs the SQL and replaces the days' rows. docs/detection.md has the
full method.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import special

from returnwatch.settings import DetectionSettings
from returnwatch.transforms.rates import STORED_LAG_DAYS, reach_days

ANOMALY_COLUMNS = [
    "shop_id",
    "day",
    "dimension",
    "key",
    "return_rate",
    "baseline_rate",
    "lift",
    "order_lines",
    "returns",
    "exposure_lines",
    "detector_rate",
    "expected_returns",
    "extra_returns",
    "dispersion",
    "p_value",
    "q_value",
    "score",
    "severity",
    "explained_by",
    "related",
    "reason",
    "mode",
    "detected_at",
    "test",
    "baseline_used",
    "test_lift",
    "quality_returns",
    "buyers",
    "top_buyer_returns",
    "top2_buyer_returns",
]
# The anomalies table's column types (warehouse/migrations/0002): every hand-over of the
# anomaly rows to DuckDB is cast to these, never left to type inference. DuckDB infers a
# DataFrame's column types from a sample of rows: a `related` column whose sampled lists
# are all empty becomes NULL[] and the insert fails on the one long list (issue 15).
ANOMALY_TYPES = {
    "shop_id": "VARCHAR",
    "day": "DATE",
    "dimension": "VARCHAR",
    "key": "VARCHAR",
    "return_rate": "DOUBLE",
    "baseline_rate": "DOUBLE",
    "lift": "DOUBLE",
    "order_lines": "BIGINT",
    "returns": "BIGINT",
    "exposure_lines": "DOUBLE",
    "detector_rate": "DOUBLE",
    "expected_returns": "DOUBLE",
    "extra_returns": "DOUBLE",
    "dispersion": "DOUBLE",
    "p_value": "DOUBLE",
    "q_value": "DOUBLE",
    "score": "DOUBLE",
    "severity": "VARCHAR",
    "explained_by": "VARCHAR",
    "related": "VARCHAR[]",
    "reason": "VARCHAR",
    "mode": "VARCHAR",
    "detected_at": "TIMESTAMP",
    "test": "VARCHAR",
    "baseline_used": "VARCHAR",
    "test_lift": "DOUBLE",
    "quality_returns": "BIGINT",
    "buyers": "BIGINT",
    "top_buyer_returns": "BIGINT",
    "top2_buyer_returns": "BIGINT",
}
DIMENSION_ORDER = ("shop", "region", "sku", "product", "category", "carrier", "carrier_region")
# "Exceeds" in the literal rule means by more than this: a rate equal to the threshold in
# exact arithmetic must not fire or not depending on how a mean was summed.
TIE_TOLERANCE = 1e-12
MAX_SCORE = 50.0


@dataclass
class DetectionSummary:
    """What one detection run did, for logs and the CLI."""

    mode: str
    days: list[date] = field(default_factory=list)
    shops: list[str] = field(default_factory=list)
    anomalies: int = 0
    primary: int = 0
    tested: int = 0
    by_dimension: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)

    def merge(self, other: DetectionSummary) -> DetectionSummary:
        return DetectionSummary(
            mode=self.mode,
            days=sorted(set(self.days) | set(other.days)),
            shops=sorted(set(self.shops) | set(other.shops)),
            anomalies=self.anomalies + other.anomalies,
            primary=self.primary + other.primary,
            tested=self.tested + other.tested,
            by_dimension=dict(Counter(self.by_dimension) + Counter(other.by_dimension)),
            by_severity=dict(Counter(self.by_severity) + Counter(other.by_severity)),
        )

    def __str__(self) -> str:
        if self.days:
            span = f"{self.days[0]}..{self.days[-1]}" if len(self.days) > 1 else f"{self.days[0]}"
        else:
            span = "no days"
        dims = ", ".join(
            f"{d} {self.by_dimension.get(d, 0)}"
            for d in DIMENSION_ORDER
            if d in ("shop", "region", "sku") or self.by_dimension.get(d)
        )
        sev = ", ".join(
            f"{s} {self.by_severity[s]}"
            for s in ("critical", "warning", "info")
            if self.by_severity.get(s)
        )
        shops = f"{len(self.shops)} shop{'s' if len(self.shops) != 1 else ''}"
        text = (
            f"{self.mode} detection, {len(self.days)} days ({span}), {shops}: "
            f"{self.anomalies} anomalies, {self.primary} primary ({dims})"
        )
        if sev:
            text += f"; {sev}"
        if self.mode == "default":
            text += f"; {self.tested} slice-days tested"
        return text


# --------------------------------------------------------------------------------------
# Literal mode


def literal_params(detection: DetectionSettings, shop_id: str, days: list[date]) -> dict:
    """The parameters of `sql/literal_anomalies.sql` for one cluster of days."""
    return {
        "shop_id": shop_id,
        "days": days,
        "dimensions": list(detection.dimensions),
        "min_history_days": detection.min_history_days,
        "lift_threshold": detection.lift_threshold,
        "tie_tolerance": TIE_TOLERANCE,
    }


def literal_frame(fired: pd.DataFrame, detection: DetectionSettings) -> pd.DataFrame:
    """The literal rule's rows (`sql/literal_anomalies.sql`) as anomaly rows."""
    frame = fired.copy()
    frame["exposure_lines"] = np.nan
    frame["detector_rate"] = np.nan
    frame["dispersion"] = np.nan
    frame["p_value"] = np.nan
    frame["q_value"] = np.nan
    frame["score"] = np.nan
    frame["explained_by"] = None
    frame["related"] = [[] for _ in range(len(frame))]
    frame["severity"] = severities(frame, detection)
    frame["reason"] = [literal_reason(row, detection) for row in frame.itertuples()]
    frame["test"] = "literal"
    frame["baseline_used"] = "literal baseline"
    frame["test_lift"] = frame["lift"]
    return frame


def literal_reason(row, detection: DetectionSettings) -> str:
    factor = 1 + detection.lift_threshold
    lift = "new returns" if _missing(row.lift) else f"{row.lift:+.0%}"
    return (
        f"return rate {row.return_rate:.1%} > {factor:g} x baseline {row.baseline_rate:.1%} "
        f"({lift}; {row.returns} returns / {row.order_lines} order lines, "
        f"baseline over {row.baseline_days} days)"
    )


# --------------------------------------------------------------------------------------
# Default mode


def features_params(detection: DetectionSettings, shop_id: str, days: list[date]) -> dict:
    """The parameters of `sql/detection_features.sql` for one cluster of days: the
    settings and the constant day bounds its scans read (docs/detection.md)."""
    reach = reach_days(detection)
    return {
        "shop_id": shop_id,
        "days": days,
        "dimensions": list(detection.dimensions),
        "window_days": detection.window_days,
        "lag_days": detection.return_lag_days,
        "stored_lags": detection.return_lag_days <= STORED_LAG_DAYS,
        "min_lag_refunds": detection.min_lag_refunds,
        "min_history_days": detection.min_history_days,
        "min_order_lines": detection.min_order_lines,
        "lift_threshold": detection.lift_threshold,
        "min_extra_returns": detection.min_extra_returns,
        "screen_z": detection.screen_z,
        "first_feed_day": days[0] - timedelta(days=detection.return_lag_days),
        "first_day": days[0] - timedelta(days=reach),
        "first_series_day": days[0] - timedelta(days=3 * detection.window_days),
        "first_c1_day": days[0] - timedelta(days=2 * detection.window_days),
        "first_clean_day": days[0] - timedelta(days=detection.window_days),
        "last_day": days[-1],
    }


def flagged_skus(scored: pd.DataFrame) -> list[str]:
    """The SKUs among the anomalies, whose returns `sql/sku_region_returns.sql` splits
    over provinces for `fold`."""
    flagged = scored[scored["is_anomaly"]]
    return flagged.loc[flagged["dimension"] == "sku", "key"].unique().tolist()


def default_frame(
    scored: pd.DataFrame, breakdown: pd.DataFrame, detection: DetectionSettings
) -> pd.DataFrame:
    """The anomalies of `score`'s output, folded (`fold`, with the SKUs' province split),
    with severity and reason."""
    flagged = scored[scored["is_anomaly"]].copy()
    if len(flagged):
        flagged = fold(flagged, breakdown, detection)
    flagged["severity"] = severities(flagged, detection)
    flagged["reason"] = [default_reason(row) for row in flagged.itertuples()]
    flagged["test"] = "spike"
    flagged["baseline_used"] = baselines_used(flagged, detection)
    with np.errstate(divide="ignore", invalid="ignore"):
        flagged["test_lift"] = flagged["returns"] / flagged["expected_returns"] - 1
    return flagged


def baselines_used(flagged: pd.DataFrame, detection: DetectionSettings) -> list[str]:
    """What each spike alert was measured against: the window's clean history — or, during
    a promotion longer than the window, its history with the promo days kept
    (detection_features.sql, `in_promo_baseline`) — and, where only the rate per order line
    feeding the returns beats the baseline (a promo day's), that it is read that way: the
    same-day rate the digest shows is below it."""
    same_day = rate_rule(
        flagged["returns"].to_numpy(float),
        flagged["order_lines"].to_numpy(float),
        np.full(len(flagged), np.nan),
        flagged["baseline_rate"].to_numpy(float),
        detection,
    )
    promo = (
        flagged["in_promo_baseline"].fillna(False).to_numpy(bool)
        if "in_promo_baseline" in flagged
        else np.zeros(len(flagged), bool)
    )
    return [
        f"{detection.window_days}-day "
        + ("history with its promo days" if kept else "clean history")
        + ("" if own else ", per order line feeding the returns")
        for kept, own in zip(promo, same_day, strict=True)
    ]


def empty_breakdown() -> pd.DataFrame:
    """A `sql/sku_region_returns.sql` result with no rows."""
    return pd.DataFrame(columns=["day", "key", "province", "returns"])


def score(features: pd.DataFrame, detection: DetectionSettings) -> pd.DataFrame:
    """Expected returns, dispersion, p-values and the FDR decision for every slice-day.

    Pure: takes `detection_features` rows, returns them with the test's columns added
    (`expected_returns`, `dispersion`, `is_tested`, `is_candidate`, `p_value`, `q_value`,
    `is_anomaly`, …). docs/detection.md derives each step.
    """
    f = features.copy()
    _expectation(f, detection)
    f["is_tested"] = (
        (f["history_days"] >= detection.min_history_days)
        & (f["baseline_days"] >= detection.min_history_days)
        & (f["exposure_lines"] >= detection.min_order_lines)
        & (f["order_lines"] > 0)
        & np.isfinite(f["expected_returns"])
    )
    _dispersion(f, detection)

    factor = 1 + detection.lift_threshold
    literal = (f["baseline_days"] >= detection.min_history_days) & rate_rule(
        f["returns"].to_numpy(float),
        f["order_lines"].to_numpy(float),
        f["exposure_lines"].to_numpy(float),
        f["baseline_rate"].to_numpy(float),
        detection,
    )
    f["is_candidate"] = (
        f["is_tested"]
        & literal.fillna(False)
        & (f["extra_returns"] >= detection.min_extra_returns)
        & (f["returns"] > factor * f["expected_returns"])
    )
    p = np.full(len(f), np.nan)
    cand = f["is_candidate"].to_numpy(bool)
    p[cand] = upper_tail(
        f["returns"].to_numpy(float)[cand],
        f["expected_returns"].to_numpy(float)[cand],
        f["_c"].to_numpy(float)[cand],
    )
    f["p_value"] = p
    f["q_value"] = benjamini_hochberg(f)
    f["is_anomaly"] = f["is_candidate"] & (f["q_value"] <= detection.fdr_alpha)
    f["score"] = np.minimum(-np.log10(np.maximum(f["p_value"], 1e-300)), MAX_SCORE)
    # The night's BH cut: the largest p-value it rejected (for re-testing folded counts).
    cut = f[f["is_anomaly"]].groupby("day")["p_value"].max().rename("_p_cut")
    f = f.join(cut, on="day")
    # The shop's expected returns that day size every alert's impact (severity).
    shop_exposure = f["shop_history_exposure"].where(f["shop_history_exposure"] > 0)
    f["shop_expected_returns"] = (
        f["shop_history_returns"] / shop_exposure * f["shop_exposure_lines"]
    )
    return f


def rate_rule(
    returns: np.ndarray | float,
    order_lines: np.ndarray | float,
    exposure_lines: np.ndarray | float,
    baseline_rate: np.ndarray | float,
    detection: DetectionSettings,
) -> np.ndarray:
    """The literal rule, every default alert's necessary condition: the day's return rate
    beats its baseline by `lift_threshold` — per the day's own order lines, or per the
    order lines its returns come from (the exposure). On a promo day the orders triple
    while its returns are the previous week's: the same-day rate drops below the baseline
    whatever breaks, so a courier crushing parcels on 双11 could never alert on it."""
    factor = 1 + detection.lift_threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.asarray(returns, float) / np.asarray(order_lines, float)
        fed = np.asarray(returns, float) / np.asarray(exposure_lines, float)
        base = factor * np.asarray(baseline_rate, float)
        return (np.nan_to_num(own - base, nan=-1) > TIE_TOLERANCE) | (
            np.nan_to_num(fed - base, nan=-1) > TIE_TOLERANCE
        )


def _expectation(f: pd.DataFrame, detection: DetectionSettings) -> None:
    """Expected returns = rate x exposure, the rate a Gamma posterior: the clean history's
    returns and exposure plus `prior_returns` pseudo-returns at the shop's rate."""
    hy = f["history_returns"].to_numpy(float)
    hx = f["history_exposure"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        shop_rate = f["shop_history_returns"].to_numpy(float) / f["shop_history_exposure"].to_numpy(
            float
        )
        a0 = np.where(np.isfinite(shop_rate) & (shop_rate > 0), detection.prior_returns, 0.0)
        prior_exposure = np.where(a0 > 0, a0 / shop_rate, 0.0)
        rate = np.where(hx + prior_exposure > 0, (hy + a0) / (hx + prior_exposure), np.nan)
    f["_shape"] = hy + a0
    f["detector_rate"] = rate
    f["expected_returns"] = rate * f["exposure_lines"].to_numpy(float)
    f["extra_returns"] = f["returns"] - f["expected_returns"]


def _dispersion(f: pd.DataFrame, detection: DetectionSettings) -> None:
    """Day-to-day overdispersion alpha (Var = mu + alpha mu^2) by moments over the clean
    history, pulled toward the dimension's pooled value with weight `dispersion_prior`;
    then `_c`, the squared coefficient of variation of the day's Poisson mean, which adds
    the rate's own uncertainty (1 / posterior shape)."""
    hy = f["history_returns"].to_numpy(float)
    hx = f["history_exposure"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(hx > 0, hy / hx, np.nan)
        # sum((y - r x)^2 - r x) and sum((r x)^2) over the history, from its sums.
        num = (
            f["history_yy"].to_numpy(float)
            - 2 * own * f["history_xy"].to_numpy(float)
            + own**2 * f["history_xx"].to_numpy(float)
            - hy
        )
        den = own**2 * f["history_xx"].to_numpy(float)
    valid = den > 0
    f["_num"] = np.where(valid, num, 0.0)
    f["_den"] = np.where(valid, den, 0.0)
    pooled = f[f["is_tested"]].groupby(["day", "dimension"])[["_num", "_den"]].sum()
    pooled = (pooled["_num"] / pooled["_den"].where(pooled["_den"] > 0)).clip(lower=0)
    alpha_dim = (
        f.join(pooled.rename("_alpha_dim"), on=["day", "dimension"])["_alpha_dim"]
        .fillna(0.0)
        .to_numpy(float)
    )
    den = f["_den"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha_own = np.where(valid, np.clip(f["_num"].to_numpy(float) / den, 0, None), 0.0)
        weight = den / (den + detection.dispersion_prior) if detection.dispersion_prior else 1.0
        alpha = weight * alpha_own + (1 - weight) * alpha_dim
        c = (1 + 1 / f["_shape"].to_numpy(float)) * (1 + alpha) - 1
    f["dispersion"] = alpha
    f["_c"] = c
    del f["_num"], f["_den"]


def upper_tail(y: np.ndarray, mu: np.ndarray, c: np.ndarray) -> np.ndarray:
    """P(X >= y) for X negative-binomial with mean mu and variance mu + c mu^2.

    c is the squared coefficient of variation of the Poisson mean (rate uncertainty and
    day-to-day overdispersion); c = 0 is Poisson. mu = 0 gives 0 for any y > 0.
    """
    y = np.asarray(y, float)
    mu = np.asarray(mu, float)
    c = np.asarray(c, float)
    out = np.where(y <= 0, 1.0, 0.0)
    positive = (mu > 0) & (y > 0)
    poisson = positive & (c < 1e-9)
    nb = positive & ~poisson
    # The tails as regularised incomplete gamma and beta functions, which is what
    # scipy.stats' poisson.sf and nbinom.sf compute: scipy.special imports in 0.2 s,
    # scipy.stats in 0.7 s, paid by every detect and every nightly run.
    out[poisson] = special.gammainc(y[poisson], mu[poisson])  # P(X >= y), y an integer >= 1
    size = 1 / c[nb]
    out[nb] = special.betainc(y[nb], size, mu[nb] / (size + mu[nb]))
    return out


def benjamini_hochberg(f: pd.DataFrame) -> pd.Series:
    """BH-adjusted p-values per day over the slices tested that day.

    Only candidates carry a p-value; the other tested slices count in m with p = 1, which
    is conservative (BH is monotone in every p-value).
    """
    q = pd.Series(np.nan, index=f.index)
    tested = f[f["is_tested"]]
    for _, day in tested.groupby("day"):
        m = len(day)
        cand = day[day["is_candidate"]].sort_values("p_value")
        if cand.empty:
            continue
        ranks = np.arange(1, len(cand) + 1)
        adjusted = cand["p_value"].to_numpy() * m / ranks
        adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
        q.loc[cand.index] = np.minimum(adjusted, 1.0)
    return q


def passes(
    row: pd.Series,
    returns: float,
    detection: DetectionSettings,
    expected: float | None = None,
    *,
    nominal: bool = False,
) -> bool:
    """Would this slice still be an anomaly with `returns` instead of its own count (and
    `expected` instead of its expected returns)? Same conditions, same night's BH cut
    (`nominal`: p <= fdr_alpha instead, for "is there still an excess at all")."""
    factor = 1 + detection.lift_threshold
    mu = row["expected_returns"] if expected is None else expected
    if returns - mu < detection.min_extra_returns or returns <= factor * mu:
        return False
    if not rate_rule(
        returns,
        row["order_lines"],
        row.get("exposure_lines", np.nan),
        row["baseline_rate"],
        detection,
    ):
        return False
    p = upper_tail(np.array([returns]), np.array([mu]), np.array([row["_c"]]))[0]
    cut = max(row["_p_cut"], detection.fdr_alpha) if nominal else row["_p_cut"]
    return bool(p <= cut)


def fold(
    flagged: pd.DataFrame, breakdown: pd.DataFrame, detection: DetectionSettings
) -> pd.DataFrame:
    """Say one cause once: mark anomalies that another anomaly of the day explains.

    Per day, with `breakdown` splitting each SKU anomaly's returns over provinces:

    1. Shop-wide or narrow? A region/SKU anomaly is *outstanding* when it is still an
       anomaly with its expected returns scaled by the lift of the rest of the shop that
       day (returns / expected returns of the shop without that slice). If removing
       the outstanding slices' extra returns leaves the shop no anomaly, the shop is
       explained by them; otherwise the shop is primary and every anomaly that is not
       outstanding is explained by it (`shop:*`): a shop-wide excess, said once.
    2. Among outstanding slices, a region is explained by SKU anomalies when removing
       their extra returns in it (each SKU's extra split as its returns split over
       provinces) leaves it no anomaly; a SKU is explained by a region that stays primary
       when removing its share of that region's excess leaves the SKU no anomaly.

    `explained_by` names the biggest contributor, always a primary; the primary lists
    what it explains in `related`.
    """
    flagged = flagged.copy()
    flagged["explained_by"] = None
    flagged["related"] = [[] for _ in range(len(flagged))]
    by_province = breakdown
    if "carrier" in breakdown:
        by_province = breakdown.groupby(["day", "key", "province"], as_index=False)["returns"].sum()
    for day, rows in flagged.groupby("day"):
        _fold_day(flagged, rows, by_province[by_province["day"] == day], detection)
        _fold_nested_day(flagged, rows.index, breakdown[breakdown["day"] == day], detection)
    _resolve_chains(flagged)
    return flagged


def _contains(parent: pd.Series, child: pd.Series, breakdown: pd.DataFrame) -> float:
    """How many of the child's returns that day lie in the parent slice (0: not nested).

    Nesting known from the keys (carrier x province in its region and its carrier) or
    from the SKUs' breakdown (a SKU in its product, in carrier x province slices)."""
    pd_, cd = parent["dimension"], child["dimension"]
    pk, ck = str(parent["key"]), str(child["key"])
    if pd_ == "region" and cd == "carrier_region":
        return float(child["returns"]) if ck.endswith(f"|{pk}") else 0.0
    if pd_ == "carrier" and cd == "carrier_region":
        return float(child["returns"]) if ck.startswith(f"{pk}|") else 0.0
    if cd != "sku" or "carrier" not in breakdown:
        return 0.0
    mine = breakdown[breakdown["key"] == ck]
    if pd_ == "product":
        return float(mine.loc[mine["product_id"] == pk, "returns"].sum())
    if pd_ == "carrier_region":
        carrier, _, province = pk.partition("|")
        inside = (mine["carrier"] == carrier) & (mine["province"] == province)
        return float(mine.loc[inside, "returns"].sum())
    return 0.0


# Parent and child dimensions whose nesting `_fold_nested_day` settles (region vs SKU and
# the shop are `_fold_day`'s).
NESTED = (
    ("product", "sku"),
    ("region", "carrier_region"),
    ("carrier", "carrier_region"),
    ("carrier_region", "sku"),
)


def _rises(returns: float, expected: float, c: float, detection: DetectionSettings) -> bool:
    """A nominal excess (p <= fdr_alpha, the floors on impact and lift): is there still a
    rise in what is left of a slice once the explained part is taken out?"""
    if expected <= 0 or returns - expected < detection.min_extra_returns:
        return False
    if returns <= (1 + detection.lift_threshold) * expected:
        return False
    p = upper_tail(np.array([returns]), np.array([expected]), np.array([c]))[0]
    return bool(p <= detection.fdr_alpha)


# "Is the rest of the parent rising the way the child is?" — a weaker level than the
# night's cut, because it is asked of one parent already found, and only in favour of the
# wider slice when the rest looks more like the child's rise than like no rise at all.
REST_ALPHA = 0.05


def _rest_follows(child: pd.Series, rest_returns: float, rest_expected: float) -> bool:
    """Does the rest of a parent rise like its one rising child? Its returns are up at
    REST_ALPHA (Poisson) and closer to the child's lift L than to no lift: the Poisson
    likelihood ratio of "rest x L" against "rest as expected" favours the first, i.e.
    rest lift >= (L - 1) / ln L. A product batch that landed mostly on one size still
    names the product when its other sizes rose as much; a province's other couriers
    rising a little by chance do not take a courier's breakage from it."""
    if rest_expected <= 0 or child["expected_returns"] <= 0:
        return False
    lift = child["returns"] / child["expected_returns"]
    if lift <= 1 or rest_returns - rest_expected < 3:
        return False
    p = upper_tail(np.array([rest_returns]), np.array([rest_expected]), np.array([0.0]))[0]
    return bool(p <= REST_ALPHA and rest_returns / rest_expected >= (lift - 1) / np.log(lift))


def _fold_nested_day(
    flagged: pd.DataFrame, index: pd.Index, breakdown: pd.DataFrame, detection: DetectionSettings
) -> None:
    """The new slices' nesting (issue 17), the way `_fold_day` settles region vs SKU: a
    parent is explained by its one child anomaly when removing the child's extra returns
    in it leaves the parent without even a nominal excess (a carrier x province spike
    explained by one SKU folds under it); when several children rise, or the rest of the
    parent still does, the parent stays and a child is explained by it when removing its
    share of the parent's excess leaves the child no anomaly (a product-wide batch folds
    its SKUs, a province-wide problem its couriers)."""
    for parent_dim, child_dim in NESTED:
        parents = [i for i in index if flagged.at[i, "dimension"] == parent_dim]
        children = [i for i in index if flagged.at[i, "dimension"] == child_dim]
        for p in parents:
            parent = flagged.loc[p]
            if parent["explained_by"] is not None:
                continue
            inside, rest_returns, rest_expected = {}, parent["returns"], parent["expected_returns"]
            for c in children:
                child = flagged.loc[c]
                n = _contains(parent, child, breakdown)
                if n > 0:
                    share = n / child["returns"] if child["returns"] else 0.0
                    inside[c] = max(child["extra_returns"], 0.0) * share
                    rest_returns -= n
                    rest_expected -= child["expected_returns"] * share
            if not inside:
                continue
            # A SKU spike of the same night lands in the region (or carrier) too: its
            # excess there is the SKU's, not a sign that the parent's rise is spread.
            rest_returns -= _sku_excess_outside(flagged, index, parent, inside, breakdown)
            # Several children rising, or the rest of the parent (without these children's
            # returns and expectation) still rising, says the cause is spread over the
            # parent (a product-wide batch, a province's parcels whatever the courier).
            spread = len(inside) >= 2 or _rises(
                rest_returns, rest_expected, parent["_c"], detection
            )
            if not spread and len(inside) == 1:
                spread = _rest_follows(flagged.loc[next(iter(inside))], rest_returns, rest_expected)
            if not spread:
                top = max(inside, key=inside.get)
                flagged.at[p, "explained_by"] = _label(flagged.loc[top])
                continue
            # The parent stays: its excess is spread over its children as their returns are.
            excess = max(parent["extra_returns"], 0.0)
            for c in inside:
                child = flagged.loc[c]
                if child["explained_by"] is not None:
                    continue  # already folded elsewhere (its region, the shop)
                part = excess * _contains(parent, child, breakdown) / max(parent["returns"], 1)
                if part > 0 and not passes(child, child["returns"] - part, detection):
                    flagged.at[c, "explained_by"] = _label(parent)


def _sku_excess_outside(
    flagged: pd.DataFrame,
    index: pd.Index,
    parent: pd.Series,
    inside: dict,
    breakdown: pd.DataFrame,
) -> float:
    """The extra returns of the night's SKU anomalies that fall in a region or carrier
    parent outside its rising carrier x province children (each SKU's excess split as its
    returns split): the part of the parent's rise another anomaly already explains."""
    if parent["dimension"] not in ("region", "carrier") or "carrier" not in breakdown:
        return 0.0
    column = "province" if parent["dimension"] == "region" else "carrier"
    children = {str(flagged.at[c, "key"]) for c in inside}
    total = 0.0
    for i in index:
        sku = flagged.loc[i]
        if sku["dimension"] != "sku" or not sku["returns"] or sku["extra_returns"] <= 0:
            continue
        mine = breakdown[(breakdown["key"] == sku["key"]) & (breakdown[column] == parent["key"])]
        in_child = (mine["carrier"] + "|" + mine["province"].astype(str)).isin(children)
        outside = float(mine.loc[~in_child, "returns"].sum())
        total += sku["extra_returns"] * outside / sku["returns"]
    return total


def _rest_of_shop_lift(shop: pd.Series, narrow: pd.DataFrame) -> list[float]:
    """For each slice, the shop's lift without that slice (at least 1): the shop-wide factor
    it is judged against, so a SKU that is most of the shop is not measured by itself."""
    rest_returns = shop["returns"] - narrow["returns"]
    rest_expected = shop["expected_returns"] - narrow["expected_returns"]
    lifts = []
    for returns, expected in zip(rest_returns, rest_expected, strict=True):
        lifts.append(max(returns / expected, 1.0) if expected > 0 else 1.0)
    return lifts


def _label(row: pd.Series) -> str:
    return f"{row['dimension']}:{row['key']}"


def _fold_day(
    flagged: pd.DataFrame,
    rows: pd.DataFrame,
    breakdown: pd.DataFrame,
    detection: DetectionSettings,
) -> None:
    shops = rows[rows["dimension"] == "shop"]
    narrow = rows[rows["dimension"] != "shop"]
    outstanding = narrow
    shop_explained = False
    if len(shops) and len(narrow):
        shop = shops.iloc[0]
        keep = [
            passes(row, row["returns"], detection, expected=row["expected_returns"] * lift)
            for (_, row), lift in zip(
                narrow.iterrows(), _rest_of_shop_lift(shop, narrow), strict=True
            )
        ]
        outstanding = narrow[keep]
        extra = outstanding["extra_returns"].clip(lower=0)
        removed = max(
            extra[outstanding["dimension"] == "region"].sum(),
            extra[outstanding["dimension"] == "sku"].sum(),
        )
        if len(outstanding) and not passes(shop, shop["returns"] - removed, detection):
            shop_explained = True
            outstanding = narrow
        else:
            for idx in narrow.index.difference(outstanding.index):
                flagged.at[idx, "explained_by"] = "shop:*"

    skus = outstanding[outstanding["dimension"] == "sku"]
    regions = outstanding[outstanding["dimension"] == "region"]
    sku_extra_in: dict[str, dict[str, float]] = {}
    sku_returns_in: dict[str, dict[str, float]] = {}
    for _, sku in skus.iterrows():
        split = breakdown[breakdown["key"] == sku["key"]]
        counts = dict(zip(split["province"], split["returns"], strict=True))
        total = sum(counts.values())
        sku_returns_in[sku["key"]] = counts
        sku_extra_in[sku["key"]] = {
            province: max(sku["extra_returns"], 0) * n / total for province, n in counts.items()
        }

    contribution = {_label(s): max(s["extra_returns"], 0.0) for _, s in skus.iterrows()}
    region_residual: dict[str, tuple[float, float]] = {}
    for idx, region in regions.iterrows():
        parts = {f"sku:{key}": split.get(region["key"], 0.0) for key, split in sku_extra_in.items()}
        parts = {label: v for label, v in parts.items() if v > 0}
        adjusted = region["returns"] - sum(parts.values())
        if parts and not passes(region, adjusted, detection):
            flagged.at[idx, "explained_by"] = max(parts, key=parts.get)
        else:
            residual = max(adjusted - region["expected_returns"], 0.0)
            region_residual[region["key"]] = (residual, region["returns"])
            contribution[_label(region)] = residual

    for idx, sku in skus.iterrows():
        parts = {
            f"region:{province}": sku_returns_in[sku["key"]].get(province, 0) * residual / total
            for province, (residual, total) in region_residual.items()
            if total
        }
        parts = {label: v for label, v in parts.items() if v > 0}
        if parts and not passes(sku, sku["returns"] - sum(parts.values()), detection):
            top = max(parts, key=parts.get)
            flagged.at[idx, "explained_by"] = top
            contribution[top] = contribution.get(top, 0.0) + contribution.pop(_label(sku), 0.0)

    if shop_explained:
        parts = {label: v for label, v in contribution.items() if v > 0}
        if parts:
            flagged.at[shops.index[0], "explained_by"] = max(parts, key=parts.get)


def _resolve_chains(flagged: pd.DataFrame) -> None:
    """Point every explained anomaly at a primary one and fill the primaries' `related`."""
    index = {(row.day, f"{row.dimension}:{row.key}"): idx for idx, row in flagged.iterrows()}
    for idx, row in flagged.iterrows():
        target = row["explained_by"]
        seen = set()
        while target is not None and target not in seen:
            seen.add(target)
            parent = index.get((row["day"], target))
            if parent is None or flagged.at[parent, "explained_by"] is None:
                break
            target = flagged.at[parent, "explained_by"]
        flagged.at[idx, "explained_by"] = target
        if target is not None and (row["day"], target) in index:
            flagged.at[index[(row["day"], target)], "related"].append(
                f"{row['dimension']}:{row['key']}"
            )


def default_reason(row) -> str:
    rate = "n/a" if _missing(row.return_rate) else f"{row.return_rate:.1%}"
    base = "n/a" if _missing(row.baseline_rate) else f"{row.baseline_rate:.1%}"
    lift = "new returns" if _missing(row.lift) else f"{row.lift:+.0%}"
    text = (
        f"{row.returns} returns vs {row.expected_returns:.1f} expected "
        f"(rate {rate} vs baseline {base}, {lift}), p={row.p_value:.1g}"
    )
    if row.explained_by:
        text += f"; part of the {row.explained_by} spike"
    elif len(row.related):
        text += f"; also lifts {', '.join(row.related)}"
    return text


def severities(frame: pd.DataFrame, detection: DetectionSettings) -> list[str]:
    """'critical' | 'warning' | 'info' by impact: extra returns, absolute and as a share of
    the shop's expected returns that day."""
    out = []
    for extra, shop_expected in zip(
        frame["extra_returns"], frame["shop_expected_returns"], strict=True
    ):
        extra = 0.0 if _missing(extra) else float(extra)
        share = extra / shop_expected if not _missing(shop_expected) and shop_expected > 0 else 0
        if extra >= detection.critical_extra_returns or share >= detection.critical_share:
            out.append("critical")
        elif extra >= detection.warning_extra_returns or share >= detection.warning_share:
            out.append("warning")
        else:
            out.append("info")
    return out


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


# --------------------------------------------------------------------------------------
# The hand-over to DuckDB


def handover_frame(anomalies: pd.DataFrame) -> pd.DataFrame:
    """The anomaly rows in a shape whose DuckDB types do not depend on sampling.

    Text columns become pandas string columns (DuckDB reads them as VARCHAR whatever they
    hold, also when every sampled value is missing), numbers float64 or nullable Int64,
    days and timestamps datetime64, and each `related` list a JSON array in the text
    column `related_json`; `handover_select` casts every column to ANOMALY_TYPES.
    """
    out = pd.DataFrame(index=anomalies.index)
    for column, kind in ANOMALY_TYPES.items():
        values = anomalies[column] if column in anomalies else pd.Series([None] * len(anomalies))
        if column == "related":
            out["related_json"] = pd.array(
                [json.dumps(list(v), ensure_ascii=False) for v in values], dtype="string"
            )
        elif kind == "VARCHAR":
            out[column] = pd.array(
                [None if _missing(v) else str(v) for v in values], dtype="string"
            )
        elif kind == "DOUBLE":
            out[column] = pd.to_numeric(values, errors="raise").astype("float64")
        elif kind == "BIGINT":
            out[column] = pd.array([None if _missing(v) else int(v) for v in values], dtype="Int64")
        else:  # DATE, TIMESTAMP
            out[column] = pd.to_datetime(values)
    return out.reset_index(drop=True)


def handover_select(relation: str) -> str:
    """SELECT every anomalies column from the registered `handover_frame`, cast to its
    type (`related` parsed from its JSON text)."""
    exprs = [
        f"CAST(related_json AS JSON)::VARCHAR[] AS {column}"
        if column == "related"
        else f"CAST({column} AS {kind}) AS {column}"
        for column, kind in ANOMALY_TYPES.items()
    ]
    return f"SELECT {', '.join(exprs)} FROM {relation}"
