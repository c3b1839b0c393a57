"""Incidents today's spike test could not see, injected into a generated shop (issue 17).

`generate_shop` draws a shop and its one-day spikes of shop, region and SKU. This module
adds, on top of its frames and from its own seeded stream (so a shop without scenarios is
exactly what it was), the incidents of issue 17 whose truth the detection benchmark and
the demo need:

- `carrier_region`: one carrier breaking parcels in one province for a day (物流破损);
- `product`: a defective batch spread over every SKU of one product for a day (质量问题);
- `size`: one SKU (a size) returned for 尺码不合适 for a day;
- `cold_start`: a new product launched on `day`, returning `multiplier` x its category's
  rate from its first order (new order lines and their returns);
- `drift`: one product's return rate rising linearly from `day` over `days` days to
  `multiplier` x normal, then staying there;
- `serial_returner`: one buyer who returns most of what they buy from `day` on.

Expected returns of a slice on a day are estimated from the shop's own refunds (the
slice's mean daily returns over the 28 days before), the way a reader of the data would;
the extra refunds are picked among the slice's shipped, not yet refunded lines paid in the
7 days before, with the generator's lag profile.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from returnwatch.demo.reference import LAG_PMF, MAX_LAG_DAYS, SKU_CATEGORIES
from returnwatch.demo.shop import SyntheticShop

ScenarioKind = Literal[
    "carrier_region", "product", "size", "cold_start", "drift", "serial_returner"
]
_CAUSES = {
    "carrier_region": "物流破损",
    "product": "质量问题",
    "size": "尺码不合适",
    "cold_start": "质量问题",
    "drift": "商品与描述不符",
    "serial_returner": "不想要了",
}
_DIMENSION = {
    "carrier_region": "carrier_region",
    "product": "product",
    "size": "sku",
    "cold_start": "product",
    "drift": "product",
    "serial_returner": "customer",
}
BASELINE_DAYS = 28
COLD_START_CATEGORY = "连衣裙"


@dataclass(frozen=True)
class Scenario:
    """An incident to inject. `key` "" lets the generator choose the slice (a big one)."""

    kind: ScenarioKind
    day: datetime.date
    key: str = ""
    multiplier: float = 3.0
    days: int = 21  # drift: ramp length; cold start: days its lines are sold
    lines_per_day: int = 60  # cold start: the new product's order lines a day


@dataclass(frozen=True)
class Incident:
    """An injected incident as it came out: what a detector is scored against."""

    kind: ScenarioKind
    dimension: str
    key: str
    first_day: datetime.date
    last_day: datetime.date  # the last day an alert still counts as finding it
    extra_returns: int
    expected_returns: float
    reason: str
    skus: tuple[str, ...] = ()  # the product's SKUs (product-level incidents)


@dataclass
class ScenarioShop:
    """A generated shop with the incidents of `inject` on top."""

    shop: SyntheticShop
    incidents: list[Incident] = field(default_factory=list)


def inject(shop: SyntheticShop, scenarios: list[Scenario], seed: int = 0) -> ScenarioShop:
    """The shop with every scenario injected, in order, from one seeded stream."""
    rng = np.random.default_rng([shop.seed, seed, 17])
    state = _State.of(shop)
    incidents = [_inject_one(rng, state, s) for s in scenarios]
    out = replace(shop, order_lines=state.lines_frame(), refunds=state.refunds_frame())
    return ScenarioShop(out, incidents)


class _State:
    """The shop's frames being extended: new lines and refunds are appended to lists."""

    def __init__(self, shop: SyntheticShop) -> None:
        self.shop = shop
        self.lines = shop.order_lines.reset_index(drop=True)
        self.refunds = shop.refunds.reset_index(drop=True)
        self.new_lines: list[pd.DataFrame] = []
        self.new_refunds: list[pd.DataFrame] = []
        self.refunded = set(self.refunds["line_id"])
        self.next_refund = int(self.refunds["refund_id"].astype("int64").max()) + 1
        self.next_line = int(self.lines["line_id"].astype("int64").max()) + 1
        self.next_order = int(self.lines["order_id"].astype("int64").max()) + 1

    @classmethod
    def of(cls, shop: SyntheticShop) -> _State:
        return cls(shop)

    def all_lines(self) -> pd.DataFrame:
        return pd.concat([self.lines, *self.new_lines], ignore_index=True)

    def all_refunds(self) -> pd.DataFrame:
        return pd.concat([self.refunds, *self.new_refunds], ignore_index=True)

    def lines_frame(self) -> pd.DataFrame:
        return self.all_lines().astype({c: "str" for c in _text_columns(self.lines)})

    def refunds_frame(self) -> pd.DataFrame:
        frame = self.all_refunds().sort_values("requested_at", kind="stable")
        return frame.reset_index(drop=True).astype({c: "str" for c in _text_columns(self.refunds)})


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if frame[c].dtype == "str" or frame[c].dtype == object]


def _inject_one(rng: np.random.Generator, state: _State, spec: Scenario) -> Incident:
    if spec.kind == "cold_start":
        return _cold_start(rng, state, spec)
    if spec.kind == "drift":
        return _drift(rng, state, spec)
    if spec.kind == "serial_returner":
        return _serial_returner(rng, state, spec)
    lines = state.all_lines()
    key = spec.key or _choose_key(rng, state, spec.kind, spec.day)
    mask = _slice_mask(lines, spec.kind, key)
    expected = _expected_returns(state, lines, mask, spec.day)
    wanted = max(3, round((spec.multiplier - 1) * expected))
    extra = _add_returns(rng, state, lines, mask, spec.day, wanted, _CAUSES[spec.kind])
    return Incident(
        kind=spec.kind,
        dimension=_DIMENSION[spec.kind],
        key=key,
        first_day=spec.day,
        last_day=spec.day,
        extra_returns=extra,
        expected_returns=round(expected, 3),
        reason=_CAUSES[spec.kind],
        skus=_skus_of(lines, spec.kind, key),
    )


def _slice_mask(lines: pd.DataFrame, kind: str, key: str) -> np.ndarray:
    if kind == "carrier_region":
        carrier, _, province = key.partition("|")
        return ((lines["carrier"] == carrier) & (lines["province"] == province)).to_numpy()
    if kind in ("product", "drift"):
        return (lines["product_id"] == key).to_numpy()
    return (lines["sku_id"] == key).to_numpy()


def _skus_of(lines: pd.DataFrame, kind: str, key: str) -> tuple[str, ...]:
    if kind in ("product", "drift", "cold_start"):
        return tuple(sorted(lines.loc[lines["product_id"] == key, "sku_id"].unique()))
    return ()


def _choose_key(rng: np.random.Generator, state: _State, kind: str, day: datetime.date) -> str:
    """A slice big enough to be tested (the detector's floor is 20 order lines a day):
    drawn among the five biggest, weighted by volume."""
    lines = state.lines
    recent = lines[lines["paid_at"] < pd.Timestamp(day)]
    if kind == "carrier_region":
        keys = recent["carrier"].astype(str) + "|" + recent["province"].astype(str)
        keys = keys[recent["carrier"].notna().to_numpy()]
    elif kind == "product":
        # a product spread over its SKUs: no SKU holds more than 80% of its lines (a batch
        # "spread thin over a product's sizes" is not one size's)
        per_sku = recent.groupby(["product_id", "sku_id"]).size()
        top_share = per_sku.groupby(level=0).max() / per_sku.groupby(level=0).sum()
        spread = top_share[(top_share <= 0.8) & (per_sku.groupby(level=0).size() > 1)].index
        keys = recent.loc[recent["product_id"].isin(spread), "product_id"]
    elif kind == "drift":
        keys = recent["product_id"]
    else:
        keys = recent["sku_id"]
    counts = keys.value_counts().head(5)
    return str(rng.choice(counts.index.to_numpy(), p=(counts / counts.sum()).to_numpy()))


def _expected_returns(
    state: _State, lines: pd.DataFrame, mask: np.ndarray, day: datetime.date
) -> float:
    """The slice's mean daily returns over the BASELINE_DAYS before `day`."""
    refunds = state.all_refunds()
    in_slice = refunds["line_id"].isin(set(lines.loc[mask, "line_id"]))
    returns = refunds["refund_type"].isin(("return_refund", "refund_only"))
    start = pd.Timestamp(day - datetime.timedelta(days=BASELINE_DAYS))
    window = (refunds["requested_at"] >= start) & (refunds["requested_at"] < pd.Timestamp(day))
    return float((in_slice & returns & window).sum()) / BASELINE_DAYS


def _add_returns(
    rng: np.random.Generator,
    state: _State,
    lines: pd.DataFrame,
    mask: np.ndarray,
    day: datetime.date,
    wanted: int,
    reason: str,
) -> int:
    """`wanted` return_refund refunds requested on `day` by shipped, unrefunded lines of
    the mask paid 0..MAX_LAG_DAYS days before, picked with the lag profile."""
    paid_day = (pd.Timestamp(day) - lines["paid_at"].dt.normalize()).dt.days.to_numpy()
    shipped = (
        lines["shipped_at"].notna().to_numpy()
        & (lines["shipped_at"] < pd.Timestamp(day)).to_numpy()
    )
    free = ~lines["line_id"].isin(state.refunded).to_numpy()
    ok = mask & shipped & free & (paid_day >= 0) & (paid_day <= MAX_LAG_DAYS)
    candidates = np.flatnonzero(ok)
    count = min(wanted, len(candidates))
    if count == 0:
        return 0
    weights = np.array(LAG_PMF)[paid_day[candidates]]
    chosen = rng.choice(candidates, size=count, replace=False, p=weights / weights.sum())
    seconds = rng.integers(8 * 3600, 23 * 3600, count)
    at = pd.Timestamp(day) + pd.to_timedelta(np.sort(seconds), unit="s")
    state.new_refunds.append(_refund_rows(state, lines.iloc[np.sort(chosen)], at, reason))
    return count


def _refund_rows(
    state: _State, lines: pd.DataFrame, requested_at: pd.DatetimeIndex, reason: str
) -> pd.DataFrame:
    """Completed 退货退款 refunds of these lines, requested at these times."""
    n = len(lines)
    ids = np.arange(state.next_refund, state.next_refund + n)
    state.next_refund += n
    state.refunded.update(lines["line_id"])
    at = pd.Series(requested_at, index=lines.index)
    return pd.DataFrame(
        {
            "shop_id": lines["shop_id"],
            "refund_id": ids.astype(str),
            "order_id": lines["order_id"],
            "line_id": lines["line_id"],
            "sku_id": lines["sku_id"],
            "product_id": lines["product_id"],
            "product_name": lines["product_name"],
            "refund_type": "return_refund",
            "refund_type_raw": "退货退款",
            "reason": reason,
            "reason_detail": None,
            "status": "completed",
            "status_raw": "同意退款，退款成功",
            "requested_at": at,
            "approved_at": at + pd.Timedelta(hours=2),
            "completed_at": at + pd.Timedelta(days=3),
            "refund_amount": lines["amount"],
            "quantity": lines["quantity"],
            "province": lines["province"],
            "carrier": lines["carrier"],
            "return_carrier": lines["carrier"],
            "return_shipped_at": at + pd.Timedelta(days=1),
            "arbitration_status": None,
        }
    ).reset_index(drop=True)


def _drift(rng: np.random.Generator, state: _State, spec: Scenario) -> Incident:
    """Extra returns on a product from `day`: (multiplier - 1) x t / days x its normal
    daily returns on day t of the ramp, the full excess after it."""
    lines = state.all_lines()
    key = spec.key or _choose_key(rng, state, "drift", spec.day)
    mask = _slice_mask(lines, "drift", key)
    normal = _expected_returns(state, lines, mask, spec.day)
    total, t = 0, 0
    day = spec.day
    while day < state.shop.end:
        share = min(1.0, (t + 1) / spec.days)
        want = rng.poisson((spec.multiplier - 1) * share * normal)
        total += _add_returns(rng, state, lines, mask, day, int(want), _CAUSES["drift"])
        day += datetime.timedelta(days=1)
        t += 1
    return Incident(
        kind="drift",
        dimension="product",
        key=key,
        first_day=spec.day,
        last_day=spec.day + datetime.timedelta(days=spec.days + 7),
        extra_returns=total,
        expected_returns=round(normal, 3),
        reason=_CAUSES["drift"],
        skus=_skus_of(lines, "drift", key),
    )


def _cold_start(rng: np.random.Generator, state: _State, spec: Scenario) -> Incident:
    """A new product of COLD_START_CATEGORY (three SKUs), sold from `day` for `days` days
    at `lines_per_day`, whose lines return at `multiplier` x the category's mean rate."""
    lines = state.lines
    category_rate = next(
        (lo + hi) / 2 for name, _, _, _, lo, hi in SKU_CATEGORIES if name == COLD_START_CATEGORY
    )
    rate = min(0.95, spec.multiplier * category_rate)
    # Numeric ids like the platform's, above every SKU id of the shop.
    top = int(
        pd.concat([lines["sku_id"], *[n["sku_id"] for n in state.new_lines]]).astype("int64").max()
    )
    product = spec.key or str(top + 1000)
    skus = tuple(str(top + 1000 + size) for size in (1, 2, 3))
    days = min(spec.days, (state.shop.end - spec.day).days)
    n = spec.lines_per_day * days
    template = lines.iloc[rng.integers(0, len(lines), n)].reset_index(drop=True)
    day_index = np.repeat(np.arange(days), spec.lines_per_day)
    paid = pd.Timestamp(spec.day) + pd.to_timedelta(
        day_index * 86_400 + rng.integers(8 * 3600, 23 * 3600, n), unit="s"
    )
    new = template.copy()
    new["order_id"] = np.arange(state.next_order, state.next_order + n).astype(str)
    new["line_id"] = np.arange(state.next_line, state.next_line + n).astype(str)
    state.next_order += n
    state.next_line += n
    new["sku_id"] = np.array(skus, dtype=object)[rng.integers(0, 3, n)]
    new["product_id"] = product
    new["category"] = COLD_START_CATEGORY
    sizes = {sku: size for sku, size in zip(skus, ("S", "M", "L"), strict=True)}
    new["product_name"] = "新款" + COLD_START_CATEGORY + " " + new["sku_id"].map(sizes)
    new["paid_at"] = paid
    new["shipped_at"] = paid + pd.Timedelta(hours=20)
    new["carrier"] = template["carrier"].fillna("中通快递")
    state.new_lines.append(new)
    returned = rng.random(n) < rate
    lag = rng.choice(MAX_LAG_DAYS + 1, size=n, p=LAG_PMF)
    at = (
        paid.normalize()
        + pd.to_timedelta(lag, unit="D")
        + pd.to_timedelta(rng.integers(8 * 3600, 23 * 3600, n), unit="s")
    )
    keep = returned & (at < pd.Timestamp(state.shop.end)) & (lag >= 1)
    order = np.argsort(at[keep])
    rows = new[keep].iloc[order]
    state.new_refunds.append(_refund_rows(state, rows, at[keep][order], _CAUSES["cold_start"]))
    return Incident(
        kind="cold_start",
        dimension="product",
        key=product,
        first_day=spec.day,
        last_day=spec.day + datetime.timedelta(days=13),
        extra_returns=int(keep.sum()),
        expected_returns=round(category_rate * n, 1),
        reason=_CAUSES["cold_start"],
        skus=skus,
    )


def _serial_returner(rng: np.random.Generator, state: _State, spec: Scenario) -> Incident:
    """One active buyer returns 90% of their shipped lines paid from `day` on."""
    lines = state.all_lines()
    after = lines[(lines["paid_at"] >= pd.Timestamp(spec.day)) & lines["customer_id"].notna()]
    buyer = spec.key or str(after["customer_id"].value_counts().index[0])
    mine = after[(after["customer_id"] == buyer) & after["shipped_at"].notna()]
    mine = mine[~mine["line_id"].isin(state.refunded)]
    mine = mine[rng.random(len(mine)) < 0.9]
    at = mine["paid_at"].dt.normalize() + pd.Timedelta(days=3, hours=10)
    mine, at = mine[at < pd.Timestamp(state.shop.end)], at[at < pd.Timestamp(state.shop.end)]
    state.new_refunds.append(
        _refund_rows(state, mine, pd.DatetimeIndex(at), _CAUSES["serial_returner"])
    )
    return Incident(
        kind="serial_returner",
        dimension="customer",
        key=buyer,
        first_day=spec.day,
        last_day=state.shop.end - datetime.timedelta(days=1),
        extra_returns=len(mine),
        expected_returns=0.0,
        reason=_CAUSES["serial_returner"],
    )
