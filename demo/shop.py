"""A seeded synthetic 抖店 shop with return spikes whose truth is known.

Why it exists: the demo, the importer tests, the detection benchmark and the performance
benchmarks all need months of realistic order lines and refunds, and the benchmark needs to
know exactly which (day, slice) pairs were made abnormal. Real shop data can't be shipped
with the project (it is personal data) and has no ground truth.

What "realistic" means here is what a spike detector is sensitive to: weekday rhythm and
day-to-day volume noise, promo days, a Zipf-like catalogue (a few hits and a long tail),
skewed province and carrier mixes, refund lags of 0–7 days, statuses that depend on the
refund's age at export time, and a small shop-wide day factor on return probability (so
slices move together, as they do in real shops). Everything is drawn from one
`numpy.random.default_rng(seed)` stream in a fixed order, so a seed gives identical frames
and byte-identical export files.

Times are shop-local naive datetimes. Internally they are int64 seconds since the epoch
with `_NAT` (= numpy's NaT bit pattern) for "no time", which keeps the vectorised maths
simple and converts to `datetime64` for free.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from returnwatch.demo.reference import (
    _DAY,
    _EPOCH,
    _HOUR,
    _MINUTE,
    _NAT,
    _PHONE_MULTIPLIERS,
    _SMALL_NUMBERS,
    CARRIERS,
    CITIES,
    CLOTHING_ADJECTIVES,
    CLOTHING_VARIANTS,
    DAY_RETURN_SD,
    DAY_VOLUME_SD,
    DISCOUNTS,
    EXCHANGE,
    EXCHANGE_DONE_TEXT,
    GIVEN_NAME_CHARS,
    GOODS_ADJECTIVES,
    GOODS_VARIANTS,
    IN_PROGRESS_RECEIVING_TEXT,
    IN_PROGRESS_RESEND_TEXT,
    LAG_PMF,
    LINE_ID_BASE,
    MAX_LAG_DAYS,
    MIN_BASELINE_DAYS,
    MIN_SPIKE_RETURNS,
    MIN_SPIKE_SLICE_RETURNS_PER_DAY,
    ORDER_ID_BASE,
    ORDER_SIZE_MIX,
    OUTCOMES,
    PAID_HOUR_WEIGHTS,
    PHONE_PREFIXES,
    PRODUCT_ID_BASE,
    PROMO_DATES,
    PROMO_VOLUME,
    PROVINCE_RETURN_RANGE,
    PROVINCES,
    QUANTITY_MIX,
    RANDOM_PROMO_RATE,
    RANDOM_SPIKE_MULTIPLIER,
    REASON_DETAILS,
    REASON_MIX,
    REFUND_ID_BASE,
    REFUND_REASONS,
    REFUND_TYPES,
    REPEAT_BUYER_SD,
    REQUEST_HOUR_WEIGHTS,
    RESEND,
    RESEND_DONE_TEXT,
    RETURN_REFUND,
    ROADS,
    SHIPPED_REFUND_ONLY,
    SHIPPED_TYPE_MIX,
    SIZE_REASON,
    SKU_CATEGORIES,
    SKU_ID_BASE,
    SKU_POPULARITY_EXPONENT,
    SKUS_PER_PRODUCT,
    SPIKE_CARRIER_WEIGHT,
    SPIKE_CAUSE_SHARE,
    SPIKE_CAUSES,
    SPIKE_DIMENSION_MIX,
    SPIKE_DIMENSIONS,
    STATUS_TEXT,
    STREETS,
    SURNAMES,
    UNSHIPPED_REFUND_ONLY,
    WEEKDAY_VOLUME,
)

# ---------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeSpec:
    """A spike a caller wants injected: on `day`, returns in slice (`dimension`, `key`) ≈
    `multiplier` × normal. `key` is "*" for the shop, a province ("广东省") or a sku_id."""

    day: datetime.date
    dimension: str
    key: str
    multiplier: float


@dataclass(frozen=True)
class Spike:
    """An injected spike as it actually came out: the truth a detector is scored against."""

    day: datetime.date  # the refund REQUEST day on which the spike shows
    dimension: str  # "shop" | "region" | "sku"
    key: str  # "*" for shop, a province name like "广东省", or a sku_id
    multiplier: float  # returns that day in that slice ≈ multiplier × normal
    extra_returns: int  # how many extra refunds were actually injected
    expected_returns: float = 0.0  # normal returns expected that day in that slice
    reason: str = ""  # the 售后原因 most extra refunds carry
    carrier: str | None = None  # for region spikes: the carrier most extra refunds used


@dataclass
class SyntheticShop:
    """One generated shop: canonical frames plus the truth about what was injected.

    order_lines and refunds hold the canonical columns (see the module constants) and a few
    extra ones the 抖店 writer needs: order_lines.district/shipped_at and
    refunds.refund_type_raw/status_raw/return_shipped_at. `seed` lets the writers draw the
    export-only cosmetic columns reproducibly.
    """

    shop_id: str
    order_lines: pd.DataFrame
    refunds: pd.DataFrame
    spikes: list[Spike]
    start: datetime.date
    days: int
    promo_days: list[datetime.date] = field(default_factory=list)
    seed: int = 0

    @property
    def end(self) -> datetime.date:
        """The first day after the generated period (exports stop just before it)."""
        return self.start + datetime.timedelta(days=self.days)


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


@dataclass
class _Catalog:
    sku_id: np.ndarray  # int64
    name: np.ndarray  # object (str)
    price: np.ndarray  # float64, list unit price
    return_rate: np.ndarray  # float64
    is_clothing: np.ndarray  # bool
    popularity: np.ndarray  # float64, sums to 1
    category: np.ndarray  # int index into SKU_CATEGORIES
    product: np.ndarray  # object (str): the product a SKU is a size/colour of


@dataclass
class _Calendar:
    start_sec: int
    days: int
    orders: np.ndarray  # int64 orders per day
    return_factor: np.ndarray  # float64 shop-wide factor on return probability per day
    promo: np.ndarray  # bool


@dataclass
class _Customers:
    customer_id: np.ndarray  # object
    name: np.ndarray
    phone: np.ndarray
    province: np.ndarray  # int index into PROVINCES
    city: np.ndarray  # object
    district: np.ndarray
    street: np.ndarray
    address: np.ndarray
    activity: np.ndarray  # float64, sums to 1


@dataclass
class _Lines:
    order_id: np.ndarray  # int64
    line_id: np.ndarray  # int64
    customer: np.ndarray  # int index into _Customers
    sku: np.ndarray  # int index into _Catalog
    province: np.ndarray  # int index into PROVINCES
    carrier: np.ndarray  # int index into CARRIERS
    quantity: np.ndarray
    unit_price: np.ndarray
    amount: np.ndarray
    paid_at: np.ndarray  # int64 seconds
    paid_day: np.ndarray  # int day index from start
    shipped_at: np.ndarray  # int64 seconds, _NAT if never shipped
    return_p: np.ndarray  # base return probability (sku × province), before the day factor


@dataclass
class _Requests:
    """Refund requests before ids and lifecycle: which line, when, what, why."""

    line: np.ndarray
    requested_at: np.ndarray
    type_raw: np.ndarray  # int index into REFUND_TYPES
    reason: np.ndarray  # int index into REFUND_REASONS


def generate_shop(
    *,
    seed: int = 7,
    start: datetime.date = datetime.date(2026, 7, 1),
    days: int = 120,
    n_skus: int = 60,
    lines_per_day: int = 800,
    spikes: list[SpikeSpec] | None = None,
    n_random_spikes: int = 6,
    shop_id: str = "demo-shop",
) -> SyntheticShop:
    """Generate a shop's order lines and refunds with return spikes of known truth.

    With `spikes` given, exactly those are injected; otherwise `n_random_spikes` are drawn
    (a mix of sku/region/shop, multipliers 1.8–4, on slices big enough to show, never in the
    first 35 days so detectors have a baseline). The same arguments give identical frames.
    """
    if days < 1 or n_skus < 1 or lines_per_day < 1:
        raise ValueError("days, n_skus and lines_per_day must be positive")
    rng = np.random.default_rng(seed)
    catalog = _make_catalog(rng, n_skus)
    calendar = _make_calendar(rng, start, days, lines_per_day)
    customers = _make_customers(rng, max(50, int(calendar.orders.sum() * 0.75)))
    lines = _make_lines(rng, calendar, catalog, customers)
    taken = np.zeros(len(lines.line_id), dtype=bool)
    natural = _draw_natural_requests(rng, lines, calendar, catalog)
    taken[natural.line] = True
    specs = (
        _draw_spike_specs(rng, n_random_spikes, start, calendar, lines, catalog)
        if spikes is None
        else [_validate_spec(spec, start, days, catalog) for spec in spikes]
    )
    truths, injected = [], [natural]
    for spec in specs:
        truth, requests = _inject_spike(rng, spec, start, lines, calendar, catalog, taken)
        truths.append(truth)
        injected.append(requests)
    requests = _concat_requests(injected)
    _unship_cancelled_lines(lines, requests)
    as_of = calendar.start_sec + days * _DAY
    refunds = _refund_frame(rng, shop_id, requests, lines, catalog, as_of)
    return SyntheticShop(
        shop_id=shop_id,
        order_lines=_order_frame(shop_id, lines, catalog, customers, as_of),
        refunds=refunds,
        spikes=sorted(truths, key=lambda s: (s.day, s.dimension, s.key)),
        start=start,
        days=days,
        promo_days=[
            start + datetime.timedelta(days=int(d)) for d in np.flatnonzero(calendar.promo)
        ],
        seed=seed,
    )


def _make_catalog(rng: np.random.Generator, n_skus: int) -> _Catalog:
    """SKUs with Zipf-like popularity, so a few hits carry the volume over a long tail."""
    names, clothing, categories = _sku_names(rng, n_skus)
    cat = np.array([SKU_CATEGORIES[c] for c in categories], dtype=object)
    lo_price, hi_price = cat[:, 2].astype(float), cat[:, 3].astype(float)
    lo_rate, hi_rate = cat[:, 4].astype(float), cat[:, 5].astype(float)
    price = np.round(rng.uniform(lo_price, hi_price)) - 0.1
    rate = rng.uniform(lo_rate, hi_rate)
    ranks = rng.permutation(n_skus) + 1
    popularity = 1.0 / ranks**SKU_POPULARITY_EXPONENT
    sku_id = _unique_ids(rng, SKU_ID_BASE, n_skus, max_gap=10**9)
    return _Catalog(
        sku_id=sku_id,
        name=names,
        price=price,
        return_rate=rate,
        is_clothing=clothing,
        popularity=popularity / popularity.sum(),
        category=categories,
        product=_products(sku_id, categories),
    )


def _products(sku_id: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Each SKU's product: a category's SKUs, in catalogue order, grouped by
    SKUS_PER_PRODUCT (the sizes/colours of one 商品ID). Drawn from nothing random, so the
    seeded stream — and every existing seed's output — stays as it was."""
    product = np.empty(len(sku_id), dtype=object)
    for category in np.unique(categories):
        members = np.flatnonzero(categories == category)
        for start in range(0, len(members), SKUS_PER_PRODUCT):
            group = members[start : start + SKUS_PER_PRODUCT]
            # A 商品ID-like number (as the 抖店 exports and API write it), never a SKU's id.
            product[group] = str(PRODUCT_ID_BASE + int(sku_id[group[0]]) - SKU_ID_BASE)
    return product


def _sku_names(rng: np.random.Generator, n_skus: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct Chinese product names (adjective + category + variant), drawn without repeats."""
    combos = [
        (f"{adjective}{stem} {variant}", clothing, index)
        for index, (stem, clothing, *_) in enumerate(SKU_CATEGORIES)
        for adjective in (CLOTHING_ADJECTIVES if clothing else GOODS_ADJECTIVES)
        for variant in (CLOTHING_VARIANTS if clothing else GOODS_VARIANTS)
    ]
    picks = rng.permutation(len(combos))[: min(n_skus, len(combos))]
    chosen = [combos[i] for i in picks]
    for extra in range(n_skus - len(chosen)):  # more SKUs than names: number the repeats
        name, clothing, index = combos[extra % len(combos)]
        chosen.append((f"{name} 第{extra // len(combos) + 2}款", clothing, index))
    names = np.array([c[0] for c in chosen], dtype=object)
    return names, np.array([c[1] for c in chosen]), np.array([c[2] for c in chosen])


def _make_calendar(
    rng: np.random.Generator, start: datetime.date, days: int, lines_per_day: int
) -> _Calendar:
    """Orders per day (weekday rhythm × lognormal noise × promos) and the day return factor."""
    dates = [start + datetime.timedelta(days=d) for d in range(days)]
    weekday = np.array(WEEKDAY_VOLUME)[[d.weekday() for d in dates]] / np.mean(WEEKDAY_VOLUME)
    noise = rng.lognormal(0.0, DAY_VOLUME_SD, days)
    on_calendar = np.array([(d.month, d.day) in PROMO_DATES for d in dates])
    promo = on_calendar | (rng.random(days) < RANDOM_PROMO_RATE)
    boost = np.where(promo, rng.uniform(*PROMO_VOLUME, days), 1.0)
    mean_order_size = float(np.dot(np.arange(1, len(ORDER_SIZE_MIX) + 1), ORDER_SIZE_MIX))
    orders = rng.poisson(lines_per_day * weekday * noise * boost / mean_order_size)
    return _Calendar(
        start_sec=(start - _EPOCH).days * _DAY,
        days=days,
        orders=orders.astype(np.int64),
        return_factor=rng.lognormal(0.0, DAY_RETURN_SD, days),
        promo=promo,
    )


def _make_customers(rng: np.random.Generator, n: int) -> _Customers:
    """Buyers with one stable phone and address each (抖店 identifies a buyer by phone)."""
    province = rng.choice(len(PROVINCES), size=n, p=_shares(PROVINCES))
    city, district = _pick_cities(rng, province)
    name = _pick(rng, SURNAMES, n) + _pick(rng, GIVEN_NAME_CHARS, n)
    two_chars = rng.random(n) < 0.6
    name[two_chars] = name[two_chars] + _pick(rng, GIVEN_NAME_CHARS, int(two_chars.sum()))
    activity = rng.lognormal(0.0, REPEAT_BUYER_SD, n)
    return _Customers(
        customer_id=_prefixed("u", np.arange(100_001, 100_001 + n)),
        name=name,
        phone=_phones(rng, n),
        province=province,
        city=city,
        district=district,
        street=_pick(rng, STREETS, n),
        address=_addresses(rng, n),
        activity=activity / activity.sum(),
    )


def _pick_cities(rng: np.random.Generator, province: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A city and district of each buyer's province, uniformly among those listed."""
    n = len(province)
    city, district = np.empty(n, dtype=object), np.empty(n, dtype=object)
    u_city, u_district = rng.random(n), rng.random(n)
    for index, (name, _) in enumerate(PROVINCES):
        cities = [(c, d) for p, c, d in CITIES if p == name]
        rows = np.flatnonzero(province == index)
        city_index = (u_city[rows] * len(cities)).astype(int)
        for c, (city_name, districts) in enumerate(cities):
            in_city = rows[city_index == c]
            district_index = (u_district[in_city] * len(districts)).astype(int)
            city[in_city] = city_name
            district[in_city] = np.array(districts, dtype=object)[district_index]
    return city, district


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct 11-digit mobile numbers: a random affine map of 0..n-1 is a bijection mod 10^8."""
    multiplier = int(rng.choice(_PHONE_MULTIPLIERS))
    offset = int(rng.integers(0, 10**8))
    suffix = (np.arange(n, dtype=np.int64) * multiplier + offset) % 10**8
    return _pick(rng, PHONE_PREFIXES, n) + np.char.zfill(suffix.astype(str), 8).astype(object)


def _addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Street-level addresses like 建设路128号5栋2单元603室."""
    number = _SMALL_NUMBERS[rng.integers(1, 400, n)]
    building = _SMALL_NUMBERS[rng.integers(1, 30, n)]
    unit = _SMALL_NUMBERS[rng.integers(1, 6, n)]
    room = _SMALL_NUMBERS[rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)]
    return _pick(rng, ROADS, n) + number + "号" + building + "栋" + unit + "单元" + room + "室"


def _make_lines(
    rng: np.random.Generator, calendar: _Calendar, catalog: _Catalog, customers: _Customers
) -> _Lines:
    """Orders of 1–3 lines, paid through each day's hours, with ids increasing over time."""
    n_orders = int(calendar.orders.sum())
    order_day = np.repeat(np.arange(calendar.days), calendar.orders)
    order_paid = (
        calendar.start_sec + order_day * _DAY + _times_of_day(rng, PAID_HOUR_WEIGHTS, n_orders)
    )
    order_paid = np.sort(order_paid)  # day index stays sorted too: times never cross midnight
    sizes = rng.choice(np.arange(1, len(ORDER_SIZE_MIX) + 1), size=n_orders, p=ORDER_SIZE_MIX)
    customer = rng.choice(len(customers.activity), size=n_orders, p=customers.activity)
    carrier = rng.choice(len(CARRIERS), size=n_orders, p=_shares(CARRIERS))
    order_id = _unique_ids(rng, ORDER_ID_BASE, n_orders, max_gap=2 * 10**9)
    ship_delay = rng.integers(3 * _HOUR, 46 * _HOUR, n_orders)

    n_lines = int(sizes.sum())
    of_order = np.repeat(np.arange(n_orders), sizes)
    sku = _draw_skus(rng, catalog, of_order)
    quantity = rng.choice(np.arange(1, len(QUANTITY_MIX) + 1), size=n_lines, p=QUANTITY_MIX)
    discount = rng.choice([d[0] for d in DISCOUNTS], size=n_lines, p=_shares(DISCOUNTS))
    unit_price = catalog.price[sku]
    province = customers.province[customer[of_order]]
    province_factor = rng.uniform(*PROVINCE_RETURN_RANGE, len(PROVINCES))
    paid_at = order_paid[of_order]
    return _Lines(
        order_id=order_id[of_order],
        line_id=_unique_ids(rng, LINE_ID_BASE, n_lines, max_gap=2 * 10**9),
        customer=customer[of_order],
        sku=sku,
        province=province,
        carrier=carrier[of_order],
        quantity=quantity,
        unit_price=unit_price,
        amount=np.round(unit_price * quantity * discount, 2),
        paid_at=paid_at,
        paid_day=(paid_at - calendar.start_sec) // _DAY,
        shipped_at=paid_at + ship_delay[of_order],
        return_p=catalog.return_rate[sku] * province_factor[province],
    )


def _draw_skus(rng: np.random.Generator, catalog: _Catalog, of_order: np.ndarray) -> np.ndarray:
    """A SKU per line by popularity, redrawn while an order holds the same SKU twice (the
    platform would have made that one line of quantity 2)."""
    sku = rng.choice(len(catalog.sku_id), size=len(of_order), p=catalog.popularity)
    for _ in range(20):
        repeated = _repeats_within_order(of_order, sku)
        if not repeated.any():
            break
        sku[repeated] = rng.choice(
            len(catalog.sku_id), size=int(repeated.sum()), p=catalog.popularity
        )
    return sku


def _repeats_within_order(of_order: np.ndarray, sku: np.ndarray) -> np.ndarray:
    """Lines whose SKU an earlier line of the same order already has (orders are contiguous)."""
    repeated = np.zeros(len(sku), dtype=bool)
    for back in range(1, len(ORDER_SIZE_MIX)):
        same = (of_order[back:] == of_order[:-back]) & (sku[back:] == sku[:-back])
        repeated[back:] |= same
    return repeated


def _draw_natural_requests(
    rng: np.random.Generator, lines: _Lines, calendar: _Calendar, catalog: _Catalog
) -> _Requests:
    """At most one refund per line: p = sku rate × province factor × request-day factor.

    Requests that would fall after the last generated day are dropped: the exports stop there.
    """
    n = len(lines.line_id)
    lag = rng.choice(MAX_LAG_DAYS + 1, size=n, p=LAG_PMF)
    requested_at = _request_times(rng, lines.paid_at, lag, calendar.start_sec)
    request_day = (requested_at - calendar.start_sec) // _DAY
    in_period = request_day < calendar.days
    day_factor = calendar.return_factor[np.minimum(request_day, calendar.days - 1)]
    hit = in_period & (rng.random(n) < lines.return_p * day_factor)
    line = np.flatnonzero(hit)
    requested_at = requested_at[line]
    before_shipping = requested_at < lines.shipped_at[line]
    type_raw = rng.choice(len(REFUND_TYPES), size=len(line), p=SHIPPED_TYPE_MIX)
    type_raw[before_shipping] = UNSHIPPED_REFUND_ONLY
    reason = _draw_reasons(rng, type_raw, catalog.is_clothing[lines.sku[line]])
    return _Requests(line=line, requested_at=requested_at, type_raw=type_raw, reason=reason)


def _request_times(
    rng: np.random.Generator, paid_at: np.ndarray, lag: np.ndarray, start_sec: int
) -> np.ndarray:
    """Request times `lag` days after payment; same-day requests come after the payment."""
    paid_midnight = start_sec + (paid_at - start_sec) // _DAY * _DAY
    later = paid_midnight + lag * _DAY + _times_of_day(rng, REQUEST_HOUR_WEIGHTS, len(paid_at))
    earliest = paid_at + 10 * _MINUTE
    same_day_left = np.maximum(paid_midnight + _DAY - earliest, 1)
    same_day = earliest + (rng.random(len(paid_at)) * same_day_left).astype(np.int64)
    return np.where(lag == 0, same_day, later)


def _draw_reasons(
    rng: np.random.Generator, type_raw: np.ndarray, is_clothing: np.ndarray
) -> np.ndarray:
    """售后原因 given 售后类型; 尺码不合适 only for clothing-like SKUs."""
    reason = np.zeros(len(type_raw), dtype=np.int64)
    size_reason = REFUND_REASONS.index(SIZE_REASON)
    for kind in range(len(REFUND_TYPES)):
        for clothing in (True, False):
            rows = np.flatnonzero((type_raw == kind) & (is_clothing == clothing))
            weights = np.array(REASON_MIX[kind])
            if not clothing:
                weights[size_reason] = 0.0
            reason[rows] = rng.choice(
                len(REFUND_REASONS), size=len(rows), p=weights / weights.sum()
            )
    return reason


def _draw_spike_specs(
    rng: np.random.Generator,
    n: int,
    start: datetime.date,
    calendar: _Calendar,
    lines: _Lines,
    catalog: _Catalog,
) -> list[SpikeSpec]:
    """Random spikes on slices big enough to show (≥ 2 returns a day), after the baseline.

    Each of sku, region and shop appears at least once when n ≥ 3; days never repeat, so
    there are at most as many spikes as days after the baseline.
    """
    eligible_days = np.arange(MIN_BASELINE_DAYS, calendar.days)
    n = min(n, len(eligible_days))
    if n <= 0:
        return []
    kinds = list(SPIKE_DIMENSIONS[: min(n, 3)])
    kinds += list(rng.choice(SPIKE_DIMENSIONS, size=n - len(kinds), p=SPIKE_DIMENSION_MIX))
    kinds = [str(k) for k in rng.permutation(kinds)]
    day_index = rng.choice(eligible_days, size=n, replace=False)
    daily_returns = {
        "sku": np.bincount(lines.sku, lines.return_p, len(catalog.sku_id)) / calendar.days,
        "region": np.bincount(lines.province, lines.return_p, len(PROVINCES)) / calendar.days,
    }
    used: dict[str, set[int]] = {"sku": set(), "region": set()}
    specs = []
    for kind, d in zip(kinds, day_index, strict=True):
        multiplier = round(float(rng.uniform(*RANDOM_SPIKE_MULTIPLIER)), 2)
        key = "*"
        if kind != "shop":
            index = _pick_spike_slice(rng, daily_returns[kind], used[kind])
            key = str(catalog.sku_id[index]) if kind == "sku" else PROVINCES[index][0]
        specs.append(SpikeSpec(start + datetime.timedelta(days=int(d)), kind, key, multiplier))
    return specs


def _pick_spike_slice(rng: np.random.Generator, daily_returns: np.ndarray, used: set[int]) -> int:
    """A not-yet-used slice with enough daily returns to show; else the biggest unused one."""
    unused = [i for i in np.argsort(-daily_returns, kind="stable") if i not in used]
    unused = unused or [int(np.argmax(daily_returns))]
    big = [i for i in unused if daily_returns[i] >= MIN_SPIKE_SLICE_RETURNS_PER_DAY]
    index = int(rng.choice(big)) if big else int(unused[0])
    used.add(index)
    return index


def _validate_spec(
    spec: SpikeSpec, start: datetime.date, days: int, catalog: _Catalog
) -> SpikeSpec:
    """Reject specs that could never show: unknown slice, day outside the period, m ≤ 1."""
    if spec.dimension not in SPIKE_DIMENSIONS:
        raise ValueError(f"spike dimension must be one of {SPIKE_DIMENSIONS}: {spec}")
    if not 0 <= (spec.day - start).days < days:
        raise ValueError(f"spike day outside the generated period: {spec}")
    if spec.multiplier <= 1:
        raise ValueError(f"spike multiplier must be above 1: {spec}")
    known = {
        "shop": {"*"},
        "region": {p[0] for p in PROVINCES},
        "sku": {str(s) for s in catalog.sku_id},
    }[spec.dimension]
    if spec.key not in known:
        raise ValueError(f"unknown {spec.dimension} key: {spec}")
    return spec


def _inject_spike(
    rng: np.random.Generator,
    spec: SpikeSpec,
    start: datetime.date,
    lines: _Lines,
    calendar: _Calendar,
    catalog: _Catalog,
    taken: np.ndarray,
) -> tuple[Spike, _Requests]:
    """Extra refunds requested on the spike day by lines of the slice paid in the week before.

    count = round((m − 1) × expected normal returns of the slice that day), at least 3. Lines
    are picked with the usual lag profile among lines already shipped and not yet refunded;
    region spikes concentrate on one carrier, and most extra refunds share one cause.
    """
    d = (spec.day - start).days
    day_start = calendar.start_sec + d * _DAY
    lag = d - lines.paid_day
    in_window = _slice_mask(spec, lines, catalog) & (lag >= 0) & (lag <= MAX_LAG_DAYS)
    lag_p = np.array(LAG_PMF)[np.clip(lag, 0, MAX_LAG_DAYS)]
    expected = (
        float(np.sum(lines.return_p[in_window] * lag_p[in_window])) * calendar.return_factor[d]
    )
    wanted = max(MIN_SPIKE_RETURNS, round((spec.multiplier - 1) * expected))
    shipped = (lines.shipped_at != _NAT) & (lines.shipped_at < day_start)
    candidates = np.flatnonzero(in_window & ~taken & shipped)
    weights = lag_p[candidates] * lines.return_p[candidates]
    carrier = None
    if spec.dimension == "region":
        carrier_index = _blamed_carrier(rng, lines.carrier[candidates])
        carrier = CARRIERS[carrier_index][0] if carrier_index is not None else None
        weights = weights * np.where(
            lines.carrier[candidates] == carrier_index, SPIKE_CARRIER_WEIGHT, 1
        )
    count = min(wanted, len(candidates))
    chosen = (
        np.sort(rng.choice(candidates, size=count, replace=False, p=weights / weights.sum()))
        if count
        else candidates[:0]
    )
    taken[chosen] = True
    cause = next(c for c in SPIKE_CAUSES if c[0] == spec.dimension)
    requests = _spike_requests(rng, chosen, day_start, cause, lines, catalog)
    truth = Spike(
        day=spec.day,
        dimension=spec.dimension,
        key=spec.key,
        multiplier=spec.multiplier,
        extra_returns=int(count),
        expected_returns=round(float(expected), 3),
        reason=cause[1],
        carrier=carrier,
    )
    return truth, requests


def _slice_mask(spec: SpikeSpec, lines: _Lines, catalog: _Catalog) -> np.ndarray:
    """Which order lines belong to the spike's slice."""
    if spec.dimension == "shop":
        return np.ones(len(lines.line_id), dtype=bool)
    if spec.dimension == "region":
        names = np.array([p[0] for p in PROVINCES], dtype=object)
        return names[lines.province] == spec.key
    return catalog.sku_id[lines.sku] == int(spec.key)


def _blamed_carrier(rng: np.random.Generator, carriers: np.ndarray) -> int | None:
    """The carrier a region spike blames: drawn by its share of the slice's parcels."""
    if len(carriers) == 0:
        return None
    counts = np.bincount(carriers, minlength=len(CARRIERS)).astype(float)
    return int(rng.choice(len(CARRIERS), p=counts / counts.sum()))


def _spike_requests(
    rng: np.random.Generator,
    chosen: np.ndarray,
    day_start: int,
    cause: tuple[str, str, tuple[float, ...]],
    lines: _Lines,
    catalog: _Catalog,
) -> _Requests:
    """Requests on the spike day; most carry the spike's cause and a 售后类型 that fits it."""
    n = len(chosen)
    requested_at = day_start + _times_of_day(rng, REQUEST_HOUR_WEIGHTS, n)
    of_cause = rng.random(n) < SPIKE_CAUSE_SHARE
    type_raw = rng.choice(len(REFUND_TYPES), size=n, p=SHIPPED_TYPE_MIX)
    type_raw[of_cause] = rng.choice(len(REFUND_TYPES), size=int(of_cause.sum()), p=cause[2])
    reason = _draw_reasons(rng, type_raw, catalog.is_clothing[lines.sku[chosen]])
    reason[of_cause] = REFUND_REASONS.index(cause[1])
    return _Requests(line=chosen, requested_at=requested_at, type_raw=type_raw, reason=reason)


def _concat_requests(parts: Sequence[_Requests]) -> _Requests:
    """All requests in request-time order (refund ids then grow with time, as on the platform)."""
    merged = _Requests(
        line=np.concatenate([p.line for p in parts]),
        requested_at=np.concatenate([p.requested_at for p in parts]),
        type_raw=np.concatenate([p.type_raw for p in parts]),
        reason=np.concatenate([p.reason for p in parts]),
    )
    order = np.lexsort((merged.line, merged.requested_at))
    return _Requests(
        line=merged.line[order],
        requested_at=merged.requested_at[order],
        type_raw=merged.type_raw[order],
        reason=merged.reason[order],
    )


def _unship_cancelled_lines(lines: _Lines, requests: _Requests) -> None:
    """A line refunded before it shipped never ships: no shipping time, no carrier."""
    unshipped = requests.line[requests.type_raw == UNSHIPPED_REFUND_ONLY]
    lines.shipped_at[unshipped] = _NAT


# ---------------------------------------------------------------------------------------
# Refund lifecycle and frames
# ---------------------------------------------------------------------------------------


@dataclass
class _Lifecycle:
    status: np.ndarray  # object: canonical status as of the export
    status_raw: np.ndarray  # object: 售后状态 text
    approved_at: np.ndarray  # int64 seconds or _NAT
    completed_at: np.ndarray  # int64 seconds or _NAT: when the refund ended, any outcome
    return_shipped_at: np.ndarray  # int64 seconds or _NAT
    return_carrier: np.ndarray  # object or None


def _lifecycle(
    rng: np.random.Generator, type_raw: np.ndarray, requested_at: np.ndarray, as_of: int
) -> _Lifecycle:
    """Where each refund is at export time: old ones have ended, recent ones are still open.

    Each refund has a destined outcome and timeline (approval median ~2 h with a tail to
    48 h; returns shipped back, received and refunded within 1–10 days; 仅退款 paid on
    approval); the export shows whatever of it happened before `as_of`.
    """
    n = len(type_raw)
    outcome = _pick(rng, [o[0] for o in OUTCOMES], n, _shares(OUTCOMES))
    goes_back = np.isin(type_raw, (RETURN_REFUND, EXCHANGE))
    outcome[(outcome == "closed") & ~goes_back] = "cancelled"  # only a return can time out
    approve_delay = np.clip(rng.lognormal(np.log(2 * _HOUR), 1.1, n), 2 * _MINUTE, 48 * _HOUR)
    approved = requested_at + approve_delay.astype(np.int64)
    ship_back = approved + rng.integers(8 * _HOUR, 3 * _DAY, n)
    received = ship_back + rng.integers(36 * _HOUR, 4 * _DAY, n)
    finished = np.select(
        [goes_back, type_raw == RESEND],
        [received + rng.integers(1 * _HOUR, 1 * _DAY, n) + np.where(type_raw == EXCHANGE, _DAY, 0),
         approved + rng.integers(2 * _DAY, 5 * _DAY, n)],
        default=approved,
    )  # fmt: skip
    finished = np.minimum(finished, requested_at + 10 * _DAY - _MINUTE)
    ends = np.select(
        [outcome == "completed", outcome == "closed", outcome == "rejected"],
        [finished, approved + rng.integers(7 * _DAY, 9 * _DAY, n), approved],
        default=requested_at + (approve_delay * rng.uniform(0.2, 0.9, n)).astype(np.int64),
    )
    was_approved = np.isin(outcome, ("completed", "closed"))
    approved = np.where(was_approved, approved, _NAT)
    ships_back = goes_back & (outcome == "completed")
    ship_back = np.where(ships_back, ship_back, _NAT)

    ended = ends <= as_of
    is_approved = was_approved & (approved <= as_of)
    status = outcome.copy()
    status[~ended] = np.where(is_approved[~ended], "in_progress", "requested")
    shipped_back = ships_back & (ship_back <= as_of)
    return_carrier = _pick(rng, [c[0] for c in CARRIERS], n, _shares(CARRIERS))
    return _Lifecycle(
        status=status,
        status_raw=_status_text(status, type_raw, shipped_back),
        approved_at=np.where(is_approved, approved, _NAT),
        completed_at=np.where(ended, ends, _NAT),
        return_shipped_at=np.where(shipped_back, ship_back, _NAT),
        return_carrier=np.where(shipped_back, return_carrier, None),
    )


def _status_text(status: np.ndarray, type_raw: np.ndarray, shipped_back: np.ndarray) -> np.ndarray:
    """售后状态 as the 抖店 export words it, which depends on the 售后类型 too."""
    text = pd.Series(status).map(dict(STATUS_TEXT)).to_numpy(dtype=object)
    in_progress = status == "in_progress"
    text[in_progress & shipped_back] = IN_PROGRESS_RECEIVING_TEXT
    text[in_progress & (type_raw == RESEND)] = IN_PROGRESS_RESEND_TEXT
    completed = status == "completed"
    text[completed & (type_raw == EXCHANGE)] = EXCHANGE_DONE_TEXT
    text[completed & (type_raw == RESEND)] = RESEND_DONE_TEXT
    return text


def _refund_frame(
    rng: np.random.Generator,
    shop_id: str,
    requests: _Requests,
    lines: _Lines,
    catalog: _Catalog,
    as_of: int,
) -> pd.DataFrame:
    """The canonical refunds frame, one row per refund, in request-time order."""
    n = len(requests.line)
    line = requests.line
    life = _lifecycle(rng, requests.type_raw, requests.requested_at, as_of)
    line_qty = lines.quantity[line]
    partial = (line_qty > 1) & (rng.random(n) < 0.2)
    quantity = np.where(partial, rng.integers(1, np.maximum(line_qty, 2)), line_qty)
    pays_money = np.isin(
        requests.type_raw, (RETURN_REFUND, SHIPPED_REFUND_ONLY, UNSHIPPED_REFUND_ONLY)
    )
    refund_amount = np.where(pays_money, np.round(lines.amount[line] * quantity / line_qty, 2), 0.0)
    carrier_names = [c[0] for c in CARRIERS]
    has_carrier = lines.shipped_at[line] != _NAT
    return pd.DataFrame(
        {
            "shop_id": shop_id,
            "refund_id": _ids_to_str(_unique_ids(rng, REFUND_ID_BASE, n, max_gap=10**10)),
            "order_id": _ids_to_str(lines.order_id[line]),
            "line_id": _ids_to_str(lines.line_id[line]),
            "sku_id": _ids_to_str(catalog.sku_id)[lines.sku[line]],
            "product_id": catalog.product[lines.sku[line]],
            "product_name": catalog.name[lines.sku[line]],
            "refund_type": _lookup([t[1] for t in REFUND_TYPES], requests.type_raw),
            "refund_type_raw": _lookup([t[0] for t in REFUND_TYPES], requests.type_raw),
            "reason": _lookup(REFUND_REASONS, requests.reason),
            "reason_detail": _reason_details(rng, requests.reason),
            "status": life.status,
            "status_raw": life.status_raw,
            "requested_at": _to_datetime(requests.requested_at),
            "approved_at": _to_datetime(life.approved_at),
            "completed_at": _to_datetime(life.completed_at),
            "refund_amount": refund_amount,
            "quantity": quantity.astype(np.int64),
            "province": _lookup([p[0] for p in PROVINCES], lines.province[line]),
            "carrier": np.where(has_carrier, _lookup(carrier_names, lines.carrier[line]), None),
            "return_carrier": life.return_carrier,
            "return_shipped_at": _to_datetime(life.return_shipped_at),
            "arbitration_status": _arbitration(rng, life.status, requests.requested_at, as_of),
        }
    ).astype(_STRING_DTYPES_REFUNDS)


def _reason_details(rng: np.random.Generator, reason: np.ndarray) -> np.ndarray:
    """What ~40% of buyers type as 用户售后说明; the rest leave it empty."""
    detail = np.full(len(reason), None, dtype=object)
    writes = rng.random(len(reason)) < 0.4
    pick = rng.random(len(reason))
    for index, (_, texts) in enumerate(REASON_DETAILS):
        rows = writes & (reason == index)
        detail[rows] = np.array(texts, dtype=object)[(pick[rows] * len(texts)).astype(int)]
    return detail


def _arbitration(
    rng: np.random.Generator, status: np.ndarray, requested_at: np.ndarray, as_of: int
) -> np.ndarray:
    """~2% of refunds go to platform arbitration, mostly those the merchant rejected."""
    p = np.where(status == "rejected", 0.3, 0.006)
    disputed = rng.random(len(status)) < p
    recent = requested_at > as_of - 7 * _DAY
    value = np.where(recent, "仲裁中", "仲裁完成").astype(object)
    return np.where(disputed, value, None)


def _order_frame(
    shop_id: str, lines: _Lines, catalog: _Catalog, customers: _Customers, as_of: int
) -> pd.DataFrame:
    """The canonical order-lines frame plus the buyer's personal data (抖店 export only)."""
    c = lines.customer
    shipped = (lines.shipped_at != _NAT) & (lines.shipped_at <= as_of)
    return pd.DataFrame(
        {
            "shop_id": shop_id,
            "order_id": _ids_to_str(lines.order_id),
            "line_id": _ids_to_str(lines.line_id),
            "sku_id": _ids_to_str(catalog.sku_id)[lines.sku],
            "product_id": catalog.product[lines.sku],
            "category": _lookup([c[0] for c in SKU_CATEGORIES], catalog.category[lines.sku]),
            "product_name": catalog.name[lines.sku],
            "quantity": lines.quantity.astype(np.int64),
            "unit_price": lines.unit_price,
            "amount": lines.amount,
            "paid_at": _to_datetime(lines.paid_at),
            "province": _lookup([p[0] for p in PROVINCES], lines.province),
            "city": customers.city[c],
            "district": customers.district[c],
            "carrier": np.where(shipped, _lookup([x[0] for x in CARRIERS], lines.carrier), None),
            "shipped_at": _to_datetime(np.where(shipped, lines.shipped_at, _NAT)),
            "customer_id": customers.customer_id[c],
            "buyer_name": customers.name[c],
            "buyer_phone": customers.phone[c],
            "address": customers.address[c],
            "street": customers.street[c],
        }
    ).astype(_STRING_DTYPES_ORDERS)


_STRING_DTYPES_ORDERS = {
    name: "str"
    for name in ("shop_id", "order_id", "line_id", "sku_id", "product_id", "category",
                 "product_name", "province", "city",
                 "district", "carrier", "customer_id", "buyer_name", "buyer_phone", "address",
                 "street")
}  # fmt: skip
_STRING_DTYPES_REFUNDS = {
    name: "str"
    for name in ("shop_id", "refund_id", "order_id", "line_id", "sku_id", "product_id",
                 "product_name", "refund_type", "refund_type_raw", "reason", "reason_detail", "status",
                 "status_raw", "province", "carrier", "return_carrier", "arbitration_status")
}  # fmt: skip


# ---------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------


def _times_of_day(rng: np.random.Generator, hour_weights: Sequence[float], n: int) -> np.ndarray:
    """Seconds after midnight, following an hourly profile."""
    weights = np.asarray(hour_weights, dtype=float)
    hour = rng.choice(24, size=n, p=weights / weights.sum())
    return hour * _HOUR + rng.integers(0, _HOUR, n)


def _unique_ids(rng: np.random.Generator, base: int, n: int, max_gap: int) -> np.ndarray:
    """n increasing 19-digit ids: random positive gaps, so they look unsequenced yet never repeat."""
    gaps = rng.integers(1, max_gap, n, dtype=np.int64)
    return base + np.cumsum(gaps)


def _pick(
    rng: np.random.Generator, values: Sequence[str], n: int, p: np.ndarray | None = None
) -> np.ndarray:
    """n draws from `values` as an object array (so `+` concatenates strings)."""
    return np.array(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def _lookup(values: Sequence[str], index: np.ndarray) -> np.ndarray:
    """values[index] for an index array, as an object array of str."""
    return np.array(values, dtype=object)[index]


def _prefixed(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return np.fromiter((f"{prefix}{i}" for i in numbers.tolist()), dtype=object, count=len(numbers))


def _ids_to_str(ids: np.ndarray) -> np.ndarray:
    return np.fromiter(map(str, ids.tolist()), dtype=object, count=len(ids))


def _to_datetime(seconds: np.ndarray) -> np.ndarray:
    """int64 seconds (with _NAT) → datetime64[ns] (with NaT)."""
    return np.asarray(seconds, dtype=np.int64).view("datetime64[s]").astype("datetime64[ns]")


def _shares(rows: Sequence[tuple]) -> np.ndarray:
    """Probabilities from the weights in the second field of constant rows."""
    weights = np.array([p[1] for p in rows])
    return weights / weights.sum()
