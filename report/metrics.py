"""The monthly report's figures: SQL over the warehouse, returned as small frames and dataclasses.

Every number comes from one query in `report/sql/` (each file states its grain and its
definitions, which follow docs/detection.md for the return rate and docs/report.md for the
rest) run for one shop and one calendar month. Nothing here draws or writes files:
`collect` reads, `scorecard` compares with the config's thresholds and benchmarks, and
`charts`/`render` turn the result into pictures and HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

import duckdb
import pandas as pd

from returnwatch.report.reasons import category_rules, reason_params
from returnwatch.settings import ReportSettings, Settings
from returnwatch.slices import PSEUDONYM_CHARS
from returnwatch.sql import read_sql
from returnwatch.transforms.rates import RETURN_TYPES, with_return_item

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


SQL_PACKAGE = "returnwatch.report"  # the KPI queries are report/sql/*.sql
# Table sizes of the issue-17 sections, and how much of a buyer pseudonym the page shows
# (enough to find the buyer in v_serial_returners, short enough to read on a phone; the
# chat digest cuts it the same way: returnwatch.slices.PSEUDONYM_CHARS).
SERIAL_RETURNERS_SHOWN = 20
CARRIER_REGIONS_SHOWN = 15
CUSTOMER_ID_CHARS = PSEUDONYM_CHARS


# --------------------------------------------------------------------------------------
# Periods


@dataclass(frozen=True)
class Period:
    """A calendar month: `start` inclusive, `end` (the next month's first day) exclusive."""

    month: str  # YYYY-MM
    start: date
    end: date

    @classmethod
    def parse(cls, month: str) -> Period:
        match = MONTH_PATTERN.match(month.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"month must look like 2026-08, not {month!r}")
        return cls.of(date(int(match.group(1)), int(match.group(2)), 1))

    @classmethod
    def of(cls, day: date) -> Period:
        """The month containing `day`."""
        start = day.replace(day=1)
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return cls(f"{start.year:04d}-{start.month:02d}", start, end)

    def previous(self) -> Period:
        return Period.of(date.fromordinal(self.start.toordinal() - 1))

    def params(self) -> dict[str, datetime]:
        return {
            "start": datetime.combine(self.start, datetime.min.time()),
            "end": datetime.combine(self.end, datetime.min.time()),
        }


# --------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Kpis:
    """One month's headline numbers (`report_kpis.sql`); None where undefined."""

    order_lines: int
    returns: int
    return_rate: float | None
    sales_amount: float
    refunded_amount: float
    requested_amount: float
    has_arbitration_data: bool
    disputes: int
    dispute_rate: float | None  # None: no arbitration data, or no returns
    reviewed: int
    review_median_hours: float | None
    review_p90_hours: float | None
    review_within_target: float | None
    decision_within_target: float | None
    finished: int
    finish_median_hours: float | None
    finish_p90_hours: float | None
    data_through: datetime | None


@dataclass(frozen=True)
class Repurchase:
    """One month's buyers and how often they came back (`report_repurchase.sql`)."""

    buyers: int
    repurchasers: int
    returners: int
    returner_repurchasers: int
    repurchase_rate: float | None
    returner_repurchase_rate: float | None
    coefficient: float | None


Status = Literal["good", "bad", "none", "na"]
Unit = Literal["rate", "money", "hours", "ratio"]


@dataclass(frozen=True)
class KpiRow:
    """One line of the headline table: a value against last month, a benchmark and the
    health threshold. `status` is good/bad against the threshold, "none" when the KPI has
    no threshold and "na" when there is no value."""

    key: str
    label: str
    unit: Unit
    value: float | None
    previous: float | None
    benchmark: tuple[float, float] | None
    threshold: str | None
    status: Status
    detail: str = ""  # a second value (p90, counts) shown under the main one
    previous_detail: str = ""

    @property
    def change(self) -> float | None:
        """Percentage points for rates, relative change for the rest."""
        if self.value is None or self.previous is None:
            return None
        if self.unit == "rate":
            return self.value - self.previous
        return self.value / self.previous - 1 if self.previous else None


@dataclass
class ReportData:
    """Everything one shop's monthly report shows, for one month."""

    shop_id: str
    period: Period
    previous: Period
    kpis: Kpis
    previous_kpis: Kpis
    repurchase: Repurchase
    previous_repurchase: Repurchase
    categories: pd.DataFrame  # report_categories + benchmark_low/high
    trend: pd.DataFrame  # report_trend
    anomalies: pd.DataFrame  # report_anomalies
    alerts: pd.DataFrame  # report_alerts
    top_skus: pd.DataFrame  # report_skus
    top_products: pd.DataFrame  # report_products (products above their SKUs)
    heatmap: pd.DataFrame  # report_heatmap (long: one row per cell)
    reasons: pd.DataFrame  # report_reasons (long)
    carriers: pd.DataFrame  # report_carriers
    carrier_regions: pd.DataFrame  # report_carrier_regions
    serial_returners: pd.DataFrame  # report_serial_returners (v_serial_returners)
    benchmark: tuple[float, float] | None  # the shop's category mix of benchmarks
    scorecard: list[KpiRow]

    @property
    def is_empty(self) -> bool:
        return self.kpis.order_lines == 0 and self.kpis.returns == 0


# --------------------------------------------------------------------------------------
# Queries


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    cursor = con.execute(sql, params)
    row = cursor.fetchone()
    names = [d[0] for d in cursor.description]
    return dict(zip(names, row, strict=True))


def _frame(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run `report/sql/<name>.sql`, with the rates' definition of the item a return counts
    under spliced in where it names it (`with_return_item`), so the report's SKU, product
    and category tables count each return where `daily_return_rates` does."""
    return con.execute(with_return_item(read_sql(SQL_PACKAGE, name)), params).df()


def month_kpis(
    con: duckdb.DuckDBPyConnection, report: ReportSettings, shop_id: str, period: Period
) -> Kpis:
    row = _one(
        con,
        read_sql(SQL_PACKAGE, "report_kpis"),
        {
            "shop_id": shop_id,
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "no_dispute_values": list(report.no_dispute_values),
            "review_target_hours": report.review_target_hours,
            "decision_target_hours": report.decision_target_hours,
        },
    )
    row["order_lines"] = int(row["order_lines"] or 0)
    row["returns"] = int(row["returns"] or 0)
    return Kpis(**{f.name: row[f.name] for f in fields(Kpis)})


def repurchase(
    con: duckdb.DuckDBPyConnection, report: ReportSettings, shop_id: str, period: Period
) -> Repurchase:
    row = _one(
        con,
        read_sql(SQL_PACKAGE, "report_repurchase"),
        {
            "shop_id": shop_id,
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "window_days": report.repurchase_window_days,
        },
    )
    return Repurchase(**{f.name: row[f.name] for f in fields(Repurchase)})


def categories(
    con: duckdb.DuckDBPyConnection, report: ReportSettings, shop_id: str, period: Period
) -> pd.DataFrame:
    """Return rate per industry category, with the category's benchmark range."""
    frame = _frame(
        con,
        "report_categories",
        {
            "shop_id": shop_id,
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "category_rules": category_rules(report) or None,
            "default_category": report.shop_category,
        },
    )
    bounds = [report.benchmarks.get(c) for c in frame["category"]]
    frame["benchmark_low"] = [b[0] if b else None for b in bounds]
    frame["benchmark_high"] = [b[1] if b else None for b in bounds]
    return frame


def shop_benchmark(frame: pd.DataFrame) -> tuple[float, float] | None:
    """The shop's benchmark range: its categories' ranges weighted by their order lines."""
    known = frame[frame["benchmark_low"].notna() & (frame["order_lines"] > 0)]
    total = known["order_lines"].sum()
    if not total:
        return None
    weights = known["order_lines"] / total
    return (
        float((weights * known["benchmark_low"]).sum()),
        float((weights * known["benchmark_high"]).sum()),
    )


def trend(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, period: Period
) -> pd.DataFrame:
    return _frame(
        con,
        "report_trend",
        {
            "shop_id": shop_id,
            "start": period.start,
            "end": period.end,
            "window_days": settings.detection.window_days,
        },
    )


def anomalies(con: duckdb.DuckDBPyConnection, shop_id: str, period: Period) -> pd.DataFrame:
    return _frame(
        con, "report_anomalies", {"shop_id": shop_id, "start": period.start, "end": period.end}
    )


def alerts(con: duckdb.DuckDBPyConnection, shop_id: str, period: Period) -> pd.DataFrame:
    return _frame(
        con, "report_alerts", {"shop_id": shop_id, "start": period.start, "end": period.end}
    )


def top_skus(
    con: duckdb.DuckDBPyConnection,
    report: ReportSettings,
    shop_id: str,
    period: Period,
    *,
    top_reasons: int = 3,
) -> pd.DataFrame:
    previous = period.previous().params()
    return _frame(
        con,
        "report_skus",
        {
            "shop_id": shop_id,
            "prev_start": previous["start"],
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "limit": report.top_skus,
            "top_reasons": top_reasons,
        },
    )


def top_products(
    con: duckdb.DuckDBPyConnection, report: ReportSettings, shop_id: str, period: Period
) -> pd.DataFrame:
    """The products with most returns, each over all its SKUs (`skus` of them)."""
    return _frame(
        con,
        "report_products",
        {
            "shop_id": shop_id,
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "limit": report.top_skus,
        },
    )


def heatmap(
    con: duckdb.DuckDBPyConnection, report: ReportSettings, shop_id: str, period: Period
) -> pd.DataFrame:
    frame = _frame(
        con,
        "report_heatmap",
        {
            "shop_id": shop_id,
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "regions": report.heatmap_regions,
            "skus": report.heatmap_skus,
        },
    )
    frame["is_low_volume"] = frame["order_lines"] < report.min_cell_order_lines
    return frame


def reasons(
    con: duckdb.DuckDBPyConnection, report: ReportSettings, shop_id: str, period: Period
) -> pd.DataFrame:
    params = reason_params(report)
    previous = period.previous().params()
    return _frame(
        con,
        "report_reasons",
        {
            "shop_id": shop_id,
            "prev_start": previous["start"],
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "label_map": params["label_map"] or None,
            "vague_labels": params["vague_labels"],
            "keyword_rules": params["keyword_rules"] or None,
            "other_class": params["other_class"],
        },
    )


def carriers(
    con: duckdb.DuckDBPyConnection, report: ReportSettings, shop_id: str, period: Period
) -> pd.DataFrame:
    return _frame(
        con,
        "report_carriers",
        {
            "shop_id": shop_id,
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "damage_labels": list(report.damage_reasons),
            "damage_keywords": list(report.damage_keywords),
        },
    )


def carrier_regions(
    con: duckdb.DuckDBPyConnection, shop_id: str, period: Period, *, limit: int
) -> pd.DataFrame:
    """Carrier × province pairs with most returns in the month, from the nightly mart."""
    return _frame(
        con,
        "report_carrier_regions",
        {"shop_id": shop_id, "start": period.start, "end": period.end, "limit": limit},
    )


def serial_returners(
    con: duckdb.DuckDBPyConnection, shop_id: str, period: Period, *, limit: int
) -> pd.DataFrame:
    """The shop's serial returners as `v_serial_returners` has them, pseudonyms shortened."""
    return _frame(
        con,
        "report_serial_returners",
        {
            "shop_id": shop_id,
            **period.params(),
            "return_types": list(RETURN_TYPES),
            "id_chars": CUSTOMER_ID_CHARS,
            "limit": limit,
        },
    )


# --------------------------------------------------------------------------------------
# Assembly


def collect(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, month: str
) -> ReportData:
    """Read every figure of one shop's report for `month` (YYYY-MM)."""
    report = settings.report
    period = Period.parse(month)
    previous = period.previous()
    kpis = month_kpis(con, report, shop_id, period)
    previous_kpis = month_kpis(con, report, shop_id, previous)
    buyers = repurchase(con, report, shop_id, period)
    previous_buyers = repurchase(con, report, shop_id, previous)
    category_frame = categories(con, report, shop_id, period)
    benchmark = shop_benchmark(category_frame)
    return ReportData(
        shop_id=shop_id,
        period=period,
        previous=previous,
        kpis=kpis,
        previous_kpis=previous_kpis,
        repurchase=buyers,
        previous_repurchase=previous_buyers,
        categories=category_frame,
        trend=trend(con, settings, shop_id, period),
        anomalies=anomalies(con, shop_id, period),
        alerts=alerts(con, shop_id, period),
        top_skus=top_skus(con, report, shop_id, period),
        top_products=top_products(con, report, shop_id, period),
        heatmap=heatmap(con, report, shop_id, period),
        reasons=reasons(con, report, shop_id, period),
        carriers=carriers(con, report, shop_id, period),
        carrier_regions=carrier_regions(con, shop_id, period, limit=CARRIER_REGIONS_SHOWN),
        serial_returners=serial_returners(con, shop_id, period, limit=SERIAL_RETURNERS_SHOWN),
        benchmark=benchmark,
        scorecard=scorecard(kpis, previous_kpis, buyers, previous_buyers, benchmark, report),
    )


def report_shop(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str | None) -> str:
    """The shop a report is for: the one asked for; else the only shop in the warehouse;
    else the configured `shop_id` if the warehouse has it."""
    shops = [
        row[0]
        for row in con.execute(
            "SELECT shop_id FROM order_lines UNION SELECT shop_id FROM refund_records ORDER BY 1"
        ).fetchall()
    ]
    if shop_id is not None:
        if shop_id not in shops:
            raise LookupError(f"shop {shop_id!r} has no data in the warehouse")
        return shop_id
    if len(shops) == 1:
        return shops[0]
    if settings.shop_id in shops:
        return settings.shop_id
    if not shops:
        raise LookupError("the warehouse has no order lines or refunds yet")
    raise LookupError(f"the warehouse has several shops ({', '.join(shops)}): name one")


# --------------------------------------------------------------------------------------
# Scorecard


def scorecard(
    kpis: Kpis,
    previous: Kpis,
    buyers: Repurchase,
    previous_buyers: Repurchase,
    benchmark: tuple[float, float] | None,
    report: ReportSettings,
) -> list[KpiRow]:
    """The headline KPIs against last month, the benchmark and the health thresholds."""

    def below(value: float | None, limit: float) -> Status:
        return "na" if value is None else ("good" if value < limit else "bad")

    review_ok: Status = "na"
    if kpis.review_median_hours is not None and kpis.review_p90_hours is not None:
        review_ok = (
            "good"
            if kpis.review_median_hours <= report.review_target_hours
            and kpis.review_p90_hours <= report.decision_target_hours
            else "bad"
        )
    coefficient = buyers.coefficient
    return [
        KpiRow(
            key="return_rate",
            label="退货率",
            unit="rate",
            value=kpis.return_rate,
            previous=previous.return_rate,
            benchmark=benchmark,
            threshold=f"< {report.healthy_return_rate:.0%}",
            status=below(kpis.return_rate, report.healthy_return_rate),
            detail=f"退货 {kpis.returns:,} / 订单行 {kpis.order_lines:,}",
            previous_detail=f"退货 {previous.returns:,} / 订单行 {previous.order_lines:,}",
        ),
        KpiRow(
            key="refunded_amount",
            label="退款金额",
            unit="money",
            value=kpis.refunded_amount,
            previous=previous.refunded_amount,
            benchmark=None,
            threshold=None,
            status="none",
            detail=_share_of_sales(kpis),
            previous_detail=_share_of_sales(previous),
        ),
        KpiRow(
            key="dispute_rate",
            label="纠纷率（仲裁/退货）",
            unit="rate",
            value=kpis.dispute_rate,
            previous=previous.dispute_rate,
            benchmark=None,
            threshold=f"< {report.healthy_dispute_rate:.0%}",
            status=below(kpis.dispute_rate, report.healthy_dispute_rate),
            detail=_disputes(kpis),
            previous_detail=_disputes(previous),
        ),
        KpiRow(
            key="review_hours",
            label="申请→同意（中位数）",
            unit="hours",
            value=kpis.review_median_hours,
            previous=previous.review_median_hours,
            benchmark=None,
            threshold=(
                f"中位 ≤ {report.review_target_hours:g} 小时，"
                f"P90 ≤ {report.decision_target_hours:g} 小时"
            ),
            status=review_ok,
            detail=_p90(kpis.review_p90_hours, kpis.review_within_target, report),
            previous_detail=_p90(previous.review_p90_hours, previous.review_within_target, report),
        ),
        KpiRow(
            key="finish_hours",
            label="申请→完结（中位数）",
            unit="hours",
            value=kpis.finish_median_hours,
            previous=previous.finish_median_hours,
            benchmark=None,
            threshold=None,
            status="none" if kpis.finish_median_hours is not None else "na",
            detail=_p90(kpis.finish_p90_hours, None, report),
            previous_detail=_p90(previous.finish_p90_hours, None, report),
        ),
        KpiRow(
            key="repurchase_coefficient",
            label="复购影响系数",
            unit="ratio",
            value=coefficient,
            previous=previous_buyers.coefficient,
            benchmark=None,
            threshold=f"≥ {report.healthy_repurchase_coefficient:g}",
            status=(
                "na"
                if coefficient is None
                else "good"
                if coefficient >= report.healthy_repurchase_coefficient
                else "bad"
            ),
            detail=_repurchase_detail(buyers),
            previous_detail=_repurchase_detail(previous_buyers),
        ),
    ]


def _disputes(kpis: Kpis) -> str:
    return f"仲裁 {kpis.disputes:,} 单" if kpis.has_arbitration_data else "无仲裁状态数据"


def _share_of_sales(kpis: Kpis) -> str:
    if not kpis.sales_amount:
        return ""
    return f"占销售额 {kpis.refunded_amount / kpis.sales_amount:.1%}"


def _p90(hours: float | None, within: float | None, report: ReportSettings) -> str:
    if hours is None:
        return ""
    text = f"P90 {hours:.1f} 小时"
    if within is not None:
        text += f"，{within:.0%} 在 {report.review_target_hours:g} 小时内"
    return text


def _repurchase_detail(buyers: Repurchase) -> str:
    if buyers.repurchase_rate is None:
        return ""
    returners = (
        f"{buyers.returner_repurchase_rate:.1%}"
        if buyers.returner_repurchase_rate is not None
        else "n/a"
    )
    return f"退货买家复购 {returners} / 全部买家 {buyers.repurchase_rate:.1%}"
