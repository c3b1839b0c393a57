"""Numbers as the report writes them, the same in the charts and in the HTML."""

from __future__ import annotations

import math

NA = "n/a"
SEVERITY_LABELS = {"critical": "严重", "warning": "警告", "info": "提示"}
DIMENSION_LABELS = {"shop": "全店", "region": "地区", "sku": "SKU"}
STATUS_LABELS = {"good": "健康", "bad": "需关注", "none": "—", "na": NA}
# A slice in a chart or a table cell (`returnwatch.slices.slice_label`): SKU ids by their
# last digits, product names cut short.
SLICE_KEY_CHARS = 6
SLICE_NAME_CHARS = 16


def missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def rate(value: float | None, digits: int = 1) -> str:
    return NA if missing(value) else f"{value:.{digits}%}"


def points(value: float | None) -> str:
    """A change of rates, in percentage points."""
    return NA if missing(value) else f"{value * 100:+.1f}pp"


def relative(value: float | None) -> str:
    return NA if missing(value) else f"{value:+.0%}"


def money(value: float | None) -> str:
    return NA if missing(value) else f"¥{value:,.0f}"


def hours(value: float | None) -> str:
    if missing(value):
        return NA
    return f"{value * 60:.0f} 分钟" if value < 1 else f"{value:.1f} 小时"


def ratio(value: float | None) -> str:
    return NA if missing(value) else f"{value:.2f}"


def count(value: float | None) -> str:
    return NA if missing(value) else f"{value:,.0f}"


def value(unit: str, number: float | None) -> str:
    return {"rate": rate, "money": money, "hours": hours, "ratio": ratio}[unit](number)


def change(unit: str, number: float | None) -> str:
    return points(number) if unit == "rate" else relative(number)


def benchmark(bounds: tuple[float, float] | None) -> str:
    return "—" if bounds is None else f"{bounds[0]:.0%}–{bounds[1]:.0%}"


def short(text: object, limit: int = 14) -> str:
    """A product name cut for an axis label."""
    text = "" if missing(text) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
