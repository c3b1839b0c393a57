"""Daily return rates: the SQL and the pure date arithmetic of recomputing them.

`daily_return_rates` is replaced day by day: the target days' rows are deleted and
recomputed by one set-based statement (`sql/daily_return_rates.sql`) that reads only the
order lines and refunds of those days and of the baseline window before them. A changed day
feeds the baselines of the days after it, so every entry point widens the changed days by
`feed_days(settings)` before recomputing; the work grows with the changed days, never with
the history.

This module is pure (no connection, no table written): the SQL text and the functions
that decide which days a statement covers. `warehouse.rates` runs the statements.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date, timedelta

from returnwatch import sql as sql_text
from returnwatch.settings import CategoryMapping, DetectionSettings, Settings
from returnwatch.sql import lit

RETURN_TYPES = ("return_refund", "refund_only")

# 售后原因 classes (issue 17), matched as regular expressions on the reason text. Quality
# returns are those the platform's 品质退货率 counts against the shop: quality problems and
# goods not as described (抖店 售后原因 "质量问题", "商品与描述不符", and the labels
# 做工/瑕疵/材质/假冒 under them). Damage in transit is the logistics' fault, not the
# product's: "物流破损" and its wordings (破损, 压坏, 漏液), counted apart so a carrier x
# province spike shows its damaged share (`damage_pattern`: the report's own rule).
QUALITY_REASON_PATTERN = "质量|描述不符|与描述|做工|瑕疵|材质|假冒|假货|不符"


def damage_pattern(settings: Settings) -> str:
    """Damaged in transit, as the monthly report counts it (`[report] damage_reasons`
    labels and `damage_keywords`), as one regular expression over the 售后原因."""
    report = settings.report
    exact = [f"^{re.escape(r)}$" for r in report.damage_reasons]
    words = [re.escape(w) for w in report.damage_keywords]
    return "|".join(exact + words) or "$^"


# A carrier slice of lines without a carrier ('unknown', 'unknown|<province>') is not a
# carrier: no test tests it. One definition, `{carrier_unknown}` in the detection SQL over
# one table's `dimension` and `key` (filled in by `read_sql`).
CARRIER_UNKNOWN_SQL = (
    "(dimension in ('carrier', 'carrier_region') and (key = 'unknown' or key like 'unknown|%'))"
)


def read_sql(name: str) -> str:
    """The text of `transforms/sql/<name>.sql` (returnwatch.sql.read_sql, cached), with
    `{carrier_unknown}` filled in."""
    text = sql_text.read_sql("returnwatch.transforms", name)
    return text.replace("{carrier_unknown}", CARRIER_UNKNOWN_SQL)


def category_rule_sql(
    mappings: list[CategoryMapping],
    *,
    product: str = "product_id",
    sku: str = "sku_id",
    name: str = "product_name",
) -> str:
    """The `[[categories]]` mapping as one SQL expression over an item's product id, SKU
    id and product name: the first entry that matches names the category; NULL when none
    does (the rates then say 'unknown', counted like any slice)."""
    branches = []
    for mapping in mappings:
        tests = [f"{col} IN ({', '.join(lit(i) for i in mapping.ids)})"
                 for col in (product, sku) if mapping.ids]  # fmt: skip
        tests += [
            f"starts_with({col}, {lit(p)})" for p in mapping.prefixes for col in (product, sku)
        ]
        tests += [f"contains(coalesce({name}, ''), {lit(k)})" for k in mapping.keywords]
        if tests:
            branches.append(f"WHEN {' OR '.join(tests)} THEN {lit(mapping.category)}")
    if not branches:
        return "NULL::VARCHAR"
    return f"(CASE {' '.join(branches)} END)"


# Up to this many target days, `daily_return_rates.sql` joins each target day to its
# window's rates; above, one moving window over every day read is cheaper (measured on a
# year of 20,000 lines a day: 1 day 25% faster joined, 16 days slower).
JOINED_BASELINE_MAX_DAYS = 3


def joins_baselines(target_days: int) -> bool:
    """Whether `daily_rates_sql` joins each target day to its window (few target days)."""
    return target_days <= JOINED_BASELINE_MAX_DAYS


# The slices an order line or a return falls into, one struct each: the one definition of
# the dimensions and their keys (carrier_region's key is `<carrier>|<province>`), spliced
# into every SQL file that counts by slice as `{slices}` (daily_return_rates.sql,
# anomaly_buyers.sql). Needs the columns province, sku_id, product_id, own_category and
# carrier, and `{category_rule}` replaced after it.
SLICES_SQL = """[
            {'dimension': 'shop', 'key': '*'},
            {'dimension': 'region', 'key': province},
            {'dimension': 'sku', 'key': sku_id},
            {'dimension': 'product', 'key': product_id},
            {'dimension': 'category', 'key': coalesce(own_category, {category_rule}, 'unknown')},
            {'dimension': 'carrier', 'key': carrier},
            {'dimension': 'carrier_region', 'key': carrier || '|' || province}
        ]"""


def with_slices(sql: str, category_rule: str) -> str:
    """`sql` with `{slices}` (SLICES_SQL) and its `{category_rule}` filled in."""
    return sql.replace("{slices}", SLICES_SQL).replace("{category_rule}", category_rule)


# The item a return counts under: the one definition shared by the rates
# (daily_return_rates.sql, anomaly_buyers.sql) and the monthly report's SKU, product,
# category and heatmap tables (report/sql/). A return's SKU is its order line's when the
# line is loaded, else its own: a 抖店 售后 export row without 商家编码 names only the
# product (its 商品名称 seldom carries the spec), its order line the SKU. Its product is
# its line's product, as the order side counts it (product_id, else the SKU), when the
# line is loaded — a return and the order line it refunds always fall in the same product
# slice, even when only one of the two files carried 商品ID — else its own product_id,
# else its own SKU; its product name its line's, else its own; its own category (before
# the [[categories]] rule) its line's.
# `{refund}` and `{line}` are column-name prefixes (see `with_return_item`).
RETURN_ITEM_SQL = {
    "return_sku_id": "coalesce({line}sku_id, {refund}sku_id)",
    "return_product_id": (
        "coalesce({line}product_id, {line}sku_id, {refund}product_id, {refund}sku_id)"
    ),
    "return_product_name": "coalesce({line}product_name, {refund}product_name)",
    "return_category": "{line}category",
}


def with_return_item(sql: str, *, refund: str = "refund.", line: str = "line.") -> str:
    """`sql` with `{return_sku_id}`, `{return_product_id}`, `{return_product_name}` and
    `{return_category}` (RETURN_ITEM_SQL) filled in. By default the refund's columns are
    read as `refund.<column>` (refund_records) and its order line's as `line.<column>`
    (order_lines, left-joined on shop_id and line_id); the staged returns of
    daily_return_rates.sql name them `staged.own_<column>` and `staged.line_<column>`."""
    for name, expression in RETURN_ITEM_SQL.items():
        filled = expression.replace("{refund}", refund).replace("{line}", line)
        sql = sql.replace("{" + name + "}", filled)
    return sql


def daily_rates_sql(
    settings: Settings, target_days: int = 1, *, stored_history: bool = False
) -> str:
    """`sql/daily_return_rates.sql` with the settings' category rule filled in, and the
    baseline computation that is cheaper for this many target days (same rows out).

    `stored_history` (only with joined baselines): the window's other days' rates are
    read from `daily_return_rates` instead of being recomputed from the order lines and
    refunds; the caller vouches that those rows are current (`rates_fingerprint`).
    """
    joined = joins_baselines(target_days)
    history = "stored_history_rates" if joined and stored_history else "daily_rates"
    rates = with_return_item(
        read_sql("daily_return_rates"), refund="staged.own_", line="staged.line_"
    )
    return (
        with_slices(rates, category_rule_sql(settings.categories))
        .replace("{baselines}", "baselines_joined" if joined else "baselines_window")
        .replace("{history_rates}", history)
    )


def rates_fingerprint(settings: Settings) -> str:
    """A short hash of what a stored `daily_return_rates` row depends on besides the data:
    the statement's text (dimensions, definitions), the `[[categories]]` rule and the
    reason patterns. Rows stored under another fingerprint may be stale: a nightly run
    then recomputes its baselines' window from the order lines and refunds."""
    text = "\n".join(
        (
            daily_rates_sql(settings),
            QUALITY_REASON_PATTERN,
            damage_pattern(settings),
            str(settings.detection.window_days),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rates_params(
    settings: Settings, shop_id: str, days: list[date], *, stored_history: bool = False
) -> dict:
    """The parameters of `daily_rates_sql` for one cluster of target days. With
    `stored_history` (joined baselines), only the target days are read from the order
    lines and refunds ($first_day = the first target day)."""
    window = settings.detection.window_days
    reads_window = not (stored_history and joins_baselines(len(days)))
    return {
        "shop_id": shop_id,
        "days": days,
        "window_days": window,
        "first_day": days[0] - timedelta(days=window if reads_window else 0),
        "last_day": days[-1],
        "quality_pattern": QUALITY_REASON_PATTERN,
        "damage_pattern": damage_pattern(settings),
    }


def feed_days(settings: Settings) -> int:
    """How many days after a changed day can see the change (see `reach_days`)."""
    return reach_days(settings.detection)


def reach_days(detection: DetectionSettings) -> int:
    """How far back a day's results read, in days.

    The literal baseline of day D reads D-window_days … D-1. The default detector reaches
    further back (docs/detection.md, "Incremental recomputation"): its clean baseline for D
    reads the history days' own screening baselines (two rounds), whose exposures read the
    lag-profile window and the return-lag days before them: 4 x window_days +
    return_lag_days.
    """
    if detection.mode == "literal":
        return detection.window_days
    reach = 4 * detection.window_days + detection.return_lag_days
    if "drift" in detection.tests:
        # the drift test's two windows, and the day before (docs/detection.md, "Slow drift")
        reach = max(reach, detection.drift_days + detection.drift_baseline_days + 1)
    return reach


def widen_days(changed: Iterable[date], horizon: date | None, reach: int) -> list[date]:
    """The changed days and every day up to `reach` days after each, none after the horizon
    (the shop's last day; a changed day later than it is its own horizon)."""
    changed = sorted(set(changed))
    if not changed:
        return []
    horizon = max(d for d in (horizon, changed[-1]) if d is not None)
    days: set[date] = set()
    for day in changed:
        end = min(day + timedelta(days=reach), max(horizon, day))
        days.update(day + timedelta(days=i) for i in range((end - day).days + 1))
    return sorted(days)


def clusters(days: Iterable[date], gap: int) -> list[list[date]]:
    """Sorted days split wherever two neighbours are more than `gap` days apart.

    Each cluster is one statement whose reads span the cluster plus its look-back, so two
    far-apart dirty days never make a statement scan the months between them.
    """
    out: list[list[date]] = []
    for day in sorted(set(days)):
        if out and (day - out[-1][-1]).days <= gap:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def date_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# How far before the first request day a refund's order line is looked for first. Most
# after-sales requests come within days of payment (7-day no-reason returns, 15-day quality
# claims); a line not found there is looked for in the whole table, so this bounds the
# usual cost, not the result.
LINE_LOOKBACK_DAYS = 31

# The lags `return_lags` keeps (days from payment to request): the staged returns hold
# every line paid that long before a target day. The detector reads its lag profile from
# that table when `return_lag_days` is within it.
STORED_LAG_DAYS = LINE_LOOKBACK_DAYS
