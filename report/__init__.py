"""The monthly return report: "how did returns go this month, and why?", without SQL.

`build_report(settings, "2026-08")` reads one shop's month from the warehouse
(`metrics.collect`: SQL only), draws the charts (`charts`, matplotlib with a CJK font that
ships with the package) and writes one self-contained HTML file plus one PNG per chart
(`render`). `trend_attachment` gives the nightly flow a link to last month's report for
the month's first digest. docs/report.md describes every figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

import duckdb

from returnwatch.alerts.digest import Attachment
from returnwatch.report.metrics import Period, ReportData, collect, report_shop
from returnwatch.settings import Settings

__all__ = [
    "Period",
    "ReportData",
    "ReportResult",
    "build_report",
    "default_report_path",
    "open_published",
    "trend_attachment",
]


@dataclass
class ReportResult:
    """What `build_report` wrote, and the figures it wrote them from."""

    shop_id: str
    month: str
    html_path: Path
    png_paths: dict[str, Path] = field(default_factory=dict)
    data: ReportData | None = None
    seconds: float = 0.0
    font_characters: int = 0

    def line(self) -> str:
        pngs = ", ".join(p.name for p in self.png_paths.values())
        return (
            f"{self.shop_id} {self.month}: {self.html_path} and {len(self.png_paths)} PNGs "
            f"({pngs}) in {self.seconds:.1f}s"
        )


def default_report_path(settings: Settings, shop_id: str, month: str) -> Path:
    """<out_dir>/<shop>/<YYYY-MM>/returnwatch-<shop>-<YYYY-MM>.html"""
    return settings.report.out_dir / shop_id / month / f"returnwatch-{shop_id}-{month}.html"


def png_path(html_path: Path, chart: str) -> Path:
    """The PNG of one chart, beside the HTML: report.html → report-trend.png."""
    return html_path.with_name(f"{html_path.stem}-{chart.replace('_', '-')}.png")


def build_report(
    settings: Settings,
    month: str,
    shop_id: str | None = None,
    out: Path | None = None,
    *,
    now: datetime | None = None,
) -> ReportResult:
    """Write one shop's report for `month` (YYYY-MM): `out` (default under
    `[report] out_dir`) and one PNG per chart beside it. Returns what it wrote.

    `shop_id` None means the warehouse's only shop (or the configured one). The report
    reads the published warehouse, read-only, like an analyst: it never waits on a
    writer and shows what the last import or nightly run published.
    """
    from returnwatch.report.render import CHARTS, render

    started = time.perf_counter()
    period = Period.parse(month)
    con = open_published(settings)
    try:
        shop = report_shop(con, settings, shop_id)
        data = collect(con, settings, shop, period.month)
    finally:
        con.close()
    rendered = render(data, settings, generated_at=now or datetime.now())
    html_path = Path(out) if out is not None else default_report_path(settings, shop, period.month)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(rendered.html, encoding="utf-8")
    pngs = {}
    for chart in CHARTS:
        pngs[chart] = png_path(html_path, chart)
        pngs[chart].write_bytes(rendered.pngs[chart])
    return ReportResult(
        shop_id=shop,
        month=period.month,
        html_path=html_path,
        png_paths=pngs,
        data=data,
        seconds=time.perf_counter() - started,
        font_characters=rendered.font_characters,
    )


def open_published(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (`settings.db`)."""
    path = Path(settings.db)
    if not path.exists():
        raise LookupError(f"no warehouse at {path}: import the shop's exports first")
    return duckdb.connect(str(path), read_only=True, config={"memory_limit": settings.memory_limit})


def trend_attachment(settings: Settings, shop_id: str, day: date) -> Attachment | None:
    """For the month's first digest: a link to the previous month's report.

    None unless `[report] public_base_url` is set (where `[report] out_dir` is published).
    Builds the report into out_dir first if it is not there yet, so the link works once
    out_dir is synced; `[report] attachment = "image"` links the trend PNG instead of the
    page. The caller decides which digest is the month's first.
    """
    base = settings.report.public_base_url
    if not base:
        return None
    month = Period.of(day).previous().month
    path = default_report_path(settings, shop_id, month)
    if not path.exists():
        build_report(settings, month, shop_id)
    target = png_path(path, "trend") if settings.report.attachment == "image" else path
    relative = quote(target.relative_to(settings.report.out_dir).as_posix())
    return Attachment(
        url=f"{base.rstrip('/')}/{relative}",
        title=f"{month} 退货月报 · {shop_id}",
        kind=settings.report.attachment,
    )
