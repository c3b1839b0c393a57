"""ReportData → one self-contained HTML file and one PNG per chart.

Order of work: build the figures and a draft of the page, gather every character either
shows, cut the CJK font down to those characters (`fonts.subset`), draw the figures with
it and embed font and PNGs in the final page, so the page shows exactly the images pasted
into chat. The page has no script and fetches nothing: it reads offline and prints to A4
(the PNGs are 150 dpi at full width, ~190 dpi on an A4 page).
"""

from __future__ import annotations

import base64
import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from returnwatch.report import charts, fmt, fonts
from returnwatch.report.metrics import CUSTOMER_ID_CHARS, ReportData
from returnwatch.report.reasons import class_order
from returnwatch.settings import Settings
from returnwatch.slices import parse_slice_id, slice_label

if TYPE_CHECKING:
    from jinja2 import Template

# Chart name → builder. The names are the PNG suffixes and the template's image keys.
CHARTS: dict[str, Callable[[ReportData, Settings], object]] = {
    "kpis": lambda data, settings: charts.kpi_card(data),
    "trend": lambda data, settings: charts.trend(
        data, settings.report, settings.detection.window_days
    ),
    "top_skus": lambda data, settings: charts.top_skus(data),
    "heatmap": lambda data, settings: charts.heatmap(data, settings.report),
    "reasons": lambda data, settings: charts.reasons(data),
    "carriers": lambda data, settings: charts.carriers(data),
}
# System CJK fonts after the embedded one, for text a viewer adds (a translation, a note).
FONT_STACK = (
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif'
)
FALLBACK_FAMILIES = ["DejaVu Sans"]
DECIDED_BY = {"label": "平台原因", "keywords": "售后说明关键词", "default": "未识别，归入其他"}
ALERT_KINDS = {
    "digest": "异常摘要",
    "all_clear": "一切正常",
    "failure": "任务失败",
    "data_health": "数据健康",
    "serial_returners": "高频退货买家",
}
ALERT_STATUS = {"sent": "已发送", "pending": "待发送", "failed": "发送失败"}


@dataclass(frozen=True)
class Rendered:
    html: str
    pngs: dict[str, bytes]
    font_characters: int


def render(data: ReportData, settings: Settings, *, generated_at: datetime) -> Rendered:
    """The page and the PNGs of one report (nothing is written)."""
    from matplotlib import font_manager, rc_context

    figures = {name: build(data, settings) for name, build in CHARTS.items()}
    draft = page(data, settings, generated_at=generated_at, font_css="", images={})
    text = charts.texts(figures.values()) + draft
    with tempfile.TemporaryDirectory(prefix="returnwatch-font-") as tmp:
        font = fonts.subset(text, Path(tmp))
        font_manager.fontManager.addfont(str(font.path))
        try:
            families = [font.family, *FALLBACK_FAMILIES]
            charts.apply_font(figures.values(), families)
            with rc_context({"font.family": families}):
                pngs = {name: charts.png(figure) for name, figure in figures.items()}
        finally:
            _forget_font(font_manager, font.path)
    images = {
        name: "data:image/png;base64," + base64.b64encode(body).decode("ascii")
        for name, body in pngs.items()
    }
    html = page(data, settings, generated_at=generated_at, font_css=font_face(font), images=images)
    return Rendered(html=html, pngs=pngs, font_characters=font.characters)


def page(
    data: ReportData,
    settings: Settings,
    *,
    generated_at: datetime,
    font_css: str,
    images: dict[str, str],
) -> str:
    """The HTML of the report (images and font as given: empty in the draft)."""
    from markupsafe import Markup

    template = _template()
    through = data.kpis.data_through
    return template.render(
        data=replace(data, alerts=labelled_alerts(data.alerts)),
        report=settings.report,
        window_days=settings.detection.window_days,
        fmt=fmt,
        images={name: images.get(name, "") for name in CHARTS},
        # CSS we write ourselves (no data in it): not to be HTML-escaped inside <style>.
        font_css=Markup(font_css),
        font_stack=Markup(FONT_STACK if not font_css else f'"{FONT_FAMILY_CSS}", {FONT_STACK}'),
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M"),
        data_through=through.strftime("%Y-%m-%d") if through else "n/a",
        primary_anomalies=int(data.anomalies["is_primary"].sum()) if len(data.anomalies) else 0,
        reason_labels=reason_labels(data),
        reasons_text=reasons_text,
        category_verdict=category_verdict,
        day_text=day_text,
        date_text=date_text,
        place_text=place_text,
        id_chars=CUSTOMER_ID_CHARS,
        anomaly_scope=anomaly_scope,
        anomaly_links=anomaly_links,
        DECIDED_BY=DECIDED_BY,
        ALERT_KINDS=ALERT_KINDS,
        ALERT_STATUS=ALERT_STATUS,
    )


# The page's template, shipped as package data (pyproject `[tool.setuptools.package-data]`).
TEMPLATE_PACKAGE = "returnwatch.report"
TEMPLATE_NAME = "report.html.j2"


@functools.cache
def _template() -> Template:
    """The report's Jinja2 template, read from the installed package (wheel or editable).

    Autoescaping is on for every value: product names and the buyer's own words are data,
    never markup.
    """
    from jinja2 import Environment, PackageLoader

    environment = Environment(
        loader=PackageLoader(TEMPLATE_PACKAGE, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template(TEMPLATE_NAME)


# The embedded font's CSS name: one name for every report, whatever subset it carries.
FONT_FAMILY_CSS = "Returnwatch Noto Sans SC"


def font_face(font: fonts.SubsetFont) -> str:
    data = base64.b64encode(font.woff).decode("ascii")
    return (
        f'@font-face {{ font-family: "{FONT_FAMILY_CSS}"; font-style: normal; '
        "font-display: block; "
        f'src: url("data:font/woff;base64,{data}") format("woff"); }}'
    )


def reason_labels(data: ReportData) -> pd.DataFrame:
    """This month's 售后原因 labels with the class each went to and how it was decided."""
    frame = data.reasons[data.reasons["period"] == "current"]
    if frame.empty:
        return frame
    order = {c: i for i, c in enumerate(class_order(list(frame["reason_class"])))}
    frame = frame.assign(_order=frame["reason_class"].map(order))
    return frame.sort_values(["_order", "returns"], ascending=[True, False]).drop(columns="_order")


def reasons_text(top: object) -> str:
    if top is None or isinstance(top, float):  # NULL arrives as None or NaN
        return ""
    return "、".join(f"{item['reason']} {item['returns']}" for item in top)


def category_verdict(row) -> str:
    if fmt.missing(row.benchmark_low) or fmt.missing(row.return_rate):
        return "—"
    if row.return_rate > row.benchmark_high:
        return "高于行业"
    if row.return_rate < row.benchmark_low:
        return "低于行业"
    return "行业区间内"


def anomaly_scope(row) -> str:
    """全店, 地区 · 广东省 or SKU …637136 name."""
    label = slice_label(
        row.dimension,
        row.key,
        row.product_name,
        key_chars=fmt.SLICE_KEY_CHARS,
        name_chars=fmt.SLICE_NAME_CHARS,
    )
    return f"地区 · {label}" if row.dimension == "region" else label


def anomaly_links(row) -> str:
    """How an anomaly relates to the others of its day (detection's folding)."""
    if not fmt.missing(row.explained_by):
        return f"由 {_slice_text(row.explained_by)} 带动"
    related = [] if row.related is None or isinstance(row.related, float) else list(row.related)
    return f"同时带动 {'、'.join(_slice_text(r) for r in related)}" if related else ""


def labelled_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """The alert history with its slices named as everywhere else, not as stored ids."""
    if alerts.empty or "slices" not in alerts:
        return alerts
    named = [[_slice_text(s) for s in ids] if ids is not None else [] for ids in alerts["slices"]]
    return alerts.assign(slices=named)


def _slice_text(slice_id: str) -> str:
    return slice_label(*parse_slice_id(slice_id), key_chars=fmt.SLICE_KEY_CHARS)


def day_text(value: object) -> str:
    if isinstance(value, datetime | pd.Timestamp):
        return value.strftime("%m-%d")
    if isinstance(value, date):
        return value.strftime("%m-%d")
    return str(value)


def date_text(value: object) -> str:
    """A full date (serial returners' first and last returns can be a year apart)."""
    if fmt.missing(value) or value is pd.NaT:
        return "n/a"
    if isinstance(value, datetime | pd.Timestamp | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def place_text(value: object) -> str:
    """A carrier or province as stored; the mart's 'unknown' (no carrier, no province)
    is named, not hidden."""
    if fmt.missing(value) or value in ("", "unknown"):
        return "（未知）"
    return str(value)


def _forget_font(font_manager, path: Path) -> None:
    """Drop a temporary subset from matplotlib's font list once its file is gone."""
    manager = font_manager.fontManager
    manager.ttflist = [entry for entry in manager.ttflist if Path(entry.fname) != path]
    cached = getattr(manager, "_findfont_cached", None)  # private: may move between versions
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()
