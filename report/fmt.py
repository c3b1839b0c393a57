"""Numbers as the report writes them, the same in the charts and in the HTML."""

from __future__ import annotations

import math

NA = "n/a"
SEVERITY_LABELS = {"critical": "严重", "warning": "警告", "info": "提示"}
DIMENSION_LABELS = {"shop": "全店", "region": "地区", "sku": "SKU"}
STATUS_LABELS = {"good": "健康", "bad": "需关注", "none": "—", "na": NA}


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


def slice_label(dimension: str, key: str, product_name: object = None) -> str:
    """A slice named for a person: 全店, a province, or a SKU's product name."""
    if dimension == "shop":
        return "全店"
    if dimension == "sku":
        name = short(product_name, 16) if not missing(product_name) else ""
        return f"SKU …{str(key)[-6:]} {name}".strip()
    return str(key)
