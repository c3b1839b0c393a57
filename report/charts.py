"""The report's charts as matplotlib figures, drawn without a browser, a display or a network.

Each function takes the collected `ReportData` and returns a `Figure` (the object-oriented
API with the Agg canvas: no pyplot, no global figure state). Fonts are applied afterwards
by `apply_font`, once the report knows every character it shows (see `fonts.py`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
import pandas as pd
from matplotlib import colormaps, patches
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator, PercentFormatter

from returnwatch.report import fmt
from returnwatch.report.metrics import ReportData
from returnwatch.report.reasons import class_order
from returnwatch.settings import ReportSettings
from returnwatch.slices import slice_label

# Colours: one accent per meaning, so a chart reads the same in every section.
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
RATE = "#2f6fb3"
BAND = "#cfe0f3"
BASELINE = "#52606d"
THRESHOLD = "#c0392b"
PREVIOUS = "#bcccdc"
SEVERITY_COLORS = {"critical": "#c0392b", "warning": "#e67e22", "info": "#2f6fb3"}
STATUS_COLORS = {"good": "#2e8b57", "bad": "#c0392b", "none": "#9aa5b1", "na": "#9aa5b1"}
LOW_VOLUME = "#d9dde1"
WIDTH = 9.6  # inches: ~A4 content width at print size
DPI = 150  # PNG resolution for chat


def _figure(height: float, width: float = WIDTH) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _style(ax, *, grid_axis: str = "y") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _empty(figure: Figure, message: str) -> Figure:
    ax = figure.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize=12)
    return figure


# --------------------------------------------------------------------------------------
# KPI card


def kpi_card(data: ReportData) -> Figure:
    """The headline KPIs as tiles: value, last month and change, threshold and status."""
    rows = data.scorecard
    columns = 3
    lines = (len(rows) + columns - 1) // columns
    figure = _figure(1.05 + 1.55 * lines)
    figure.suptitle(
        f"{data.shop_id} · {data.period.month} 退货月报", fontsize=15, color=INK, x=0.01, ha="left"
    )
    grid = figure.add_gridspec(lines, columns)
    for index, row in enumerate(rows):
        ax = figure.add_subplot(grid[index // columns, index % columns])
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        color = STATUS_COLORS[row.status]
        ax.add_patch(
            patches.FancyBboxPatch(
                (0.01, 0.02), 0.98, 0.96, boxstyle="round,pad=0,rounding_size=0.04",
                facecolor="#f8fafc", edgecolor=GRID, linewidth=1,
            )
        )  # fmt: skip
        ax.add_patch(patches.Rectangle((0.01, 0.02), 0.025, 0.96, color=color, linewidth=0))
        ax.text(0.07, 0.84, row.label, fontsize=10.5, color=MUTED, va="center")
        ax.text(0.07, 0.6, fmt.value(row.unit, row.value), fontsize=22, color=INK, va="center")
        ax.text(
            0.07, 0.36, f"上月 {fmt.value(row.unit, row.previous)}  变化 "
            f"{fmt.change(row.unit, row.change)}", fontsize=9, color=INK, va="center",
        )  # fmt: skip
        bench = f"行业 {fmt.benchmark(row.benchmark)}  " if row.benchmark else ""
        health = f"健康 {row.threshold}" if row.threshold else "无健康阈值"
        ax.text(0.07, 0.16, f"{bench}{health}", fontsize=8.5, color=MUTED, va="center")
        ax.text(
            0.95, 0.84, fmt.STATUS_LABELS[row.status], fontsize=9, color=color, va="center",
            ha="right",
        )  # fmt: skip
    return figure


# --------------------------------------------------------------------------------------
# Daily trend


def trend(data: ReportData, report: ReportSettings, window_days: int) -> Figure:
    """Daily return rate with its baseline, the ±2σ band, the threshold and the anomalies.

    The baseline and band are the detector's: the window's daily rates without the days
    it flagged on the shop (report_trend.sql), so a spike does not widen the band after it.

    An anomaly is marked on its day's shop rate: a dot for the shop itself, a diamond for
    a region or SKU (whose own rate is in the anomalies table), labelled with the slice.
    """
    figure = _figure(4.2)
    frame = data.trend
    if frame.empty:
        return _empty(figure, "本月没有日退货率（先运行 returnwatch detect 计算退货率）")
    ax = figure.add_subplot()
    _style(ax)
    days = pd.to_datetime(frame["day"])
    x = np.arange(len(frame))
    ax.fill_between(
        x, frame["band_low"].astype(float), frame["band_high"].astype(float), color=BAND,
        linewidth=0, label=f"基线 ±2σ（前 {window_days} 天，不含异常日）",
    )  # fmt: skip
    ax.plot(x, frame["baseline_rate"], color=BASELINE, linestyle="--", linewidth=1.2, label="基线")
    ax.plot(
        x, frame["return_rate"], color=RATE, linewidth=2, marker="o", markersize=3, label="日退货率"
    )
    ax.axhline(
        report.healthy_return_rate, color=THRESHOLD, linestyle=":", linewidth=1.2,
        label=f"健康阈值 {report.healthy_return_rate:.0%}",
    )  # fmt: skip
    _mark_anomalies(ax, data, frame, x)
    ax.set_xticks(x[:: max(1, len(x) // 16)])
    ax.set_xticklabels([f"{d.month}/{d.day}" for d in days.iloc[:: max(1, len(x) // 16)]])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    ax.set_title(f"每日退货率 · {data.period.month}", loc="left", fontsize=13, color=INK)
    ax.legend(loc="upper left", fontsize=8.5, frameon=False, ncols=5)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.18)  # room for the legend and the labels
    return figure


def _mark_anomalies(ax, data: ReportData, frame: pd.DataFrame, x: np.ndarray) -> None:
    anomalies = data.anomalies
    if anomalies.empty:
        return
    primary = anomalies[anomalies["is_primary"]]
    position = {pd.Timestamp(d).date(): i for i, d in zip(x, frame["day"], strict=True)}
    rates = frame["return_rate"].to_numpy(dtype=float)
    top = np.nanmax(np.r_[rates, frame["band_high"].to_numpy(dtype=float)])
    labelled: dict[int, int] = {}
    for row in primary.itertuples():
        i = position.get(pd.Timestamp(row.day).date())
        if i is None:
            continue
        color = SEVERITY_COLORS.get(row.severity, THRESHOLD)
        marker = "o" if row.dimension == "shop" else "D"
        ax.scatter([i], [rates[i]], s=70, marker=marker, color=color, zorder=5, edgecolor="white")
        stack = labelled.get(i, 0)
        labelled[i] = stack + 1
        ax.annotate(
            slice_label(
                row.dimension, row.key, row.product_name,
                key_chars=fmt.SLICE_KEY_CHARS, name_chars=fmt.SLICE_NAME_CHARS,
            ),
            xy=(i, rates[i]), xytext=(i, top * (1.02 + 0.07 * stack)), fontsize=8, color=color,
            ha="center", arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.8},
        )  # fmt: skip


# --------------------------------------------------------------------------------------
# Top SKUs


def top_skus(data: ReportData) -> Figure:
    """Returns of the top SKUs (bars), with each one's rate and its change from last month."""
    frame = data.top_skus
    figure = _figure(max(2.2, 0.8 + 0.3 * len(frame)))
    if frame.empty:
        return _empty(figure, "本月没有退货")
    ax = figure.add_subplot()
    _style(ax, grid_axis="x")
    y = np.arange(len(frame))[::-1]
    ax.barh(y, frame["returns"], color=RATE, height=0.65)
    ax.set_yticks(y)
    ax.set_yticklabels([fmt.short(n, 18) for n in frame["product_name"]], fontsize=8.5)
    for yi, row in zip(y, frame.itertuples(), strict=True):
        ax.text(
            row.returns, yi, f"  {row.returns} 件 · {fmt.rate(row.return_rate)}"
            f"（{fmt.points(row.rate_change)}）", va="center", fontsize=8, color=INK,
        )  # fmt: skip
    ax.set_xlim(0, frame["returns"].max() * 1.45)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(
        f"退货最多的 {len(frame)} 个 SKU · 退货件数、退货率（较上月）", loc="left", fontsize=13,
        color=INK,
    )  # fmt: skip
    return figure


# --------------------------------------------------------------------------------------
# Region × SKU heatmap


def heatmap(data: ReportData, report: ReportSettings) -> Figure:
    """Return rate per province × SKU; cells under the volume floor are grey."""
    frame = data.heatmap
    figure = _figure(5.6)
    if frame.empty:
        return _empty(figure, "本月没有订单")
    regions = list(dict.fromkeys(frame["province"]))
    skus = list(dict.fromkeys(frame["sku_id"]))
    names = frame.drop_duplicates("sku_id").set_index("sku_id")["product_name"]
    cells = frame.set_index(["province", "sku_id"])
    rates = np.full((len(regions), len(skus)), np.nan)
    low = np.zeros_like(rates, dtype=bool)
    for r, region in enumerate(regions):
        for s, sku in enumerate(skus):
            cell = cells.loc[(region, sku)]
            low[r, s] = bool(cell["is_low_volume"])
            if not low[r, s] and not fmt.missing(cell["return_rate"]):
                rates[r, s] = cell["return_rate"]
    cmap = colormaps["OrRd"].with_extremes(bad=LOW_VOLUME)
    ax = figure.add_subplot()
    top = np.nanmax(rates) if np.isfinite(rates).any() else 1.0
    image = ax.imshow(
        np.ma.masked_invalid(rates), cmap=cmap, vmin=0, vmax=max(top, 0.05), aspect="auto"
    )
    for r in range(len(regions)):
        for s in range(len(skus)):
            if np.isfinite(rates[r, s]):
                dark = rates[r, s] > 0.6 * max(top, 0.05)
                ax.text(
                    s, r, f"{rates[r, s]:.0%}", ha="center", va="center", fontsize=7.5,
                    color="white" if dark else INK,
                )  # fmt: skip
    ax.set_xticks(range(len(skus)))
    ax.set_xticklabels(
        [fmt.short(names.get(s), 9) for s in skus], rotation=40, ha="right", fontsize=8
    )
    ax.set_yticks(range(len(regions)))
    ax.set_yticklabels(regions, fontsize=8.5)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    colorbar = figure.colorbar(image, ax=ax, shrink=0.85, format=PercentFormatter(1.0, decimals=0))
    colorbar.outline.set_visible(False)
    ax.set_title(
        f"地区 × SKU 退货率（灰色：订单行少于 {report.min_cell_order_lines}）", loc="left",
        fontsize=13, color=INK,
    )  # fmt: skip
    return figure


# --------------------------------------------------------------------------------------
# Reasons and carriers


def reason_classes(data: ReportData) -> pd.DataFrame:
    """Returns per standard reason class, this month and last month, with shares."""
    frame = data.reasons
    order = class_order(list(frame["reason_class"]))
    table = (
        frame.pivot_table(
            index="reason_class", columns="period", values="returns", aggfunc="sum", fill_value=0
        )
        .reindex(index=order, columns=["current", "previous"], fill_value=0)
        .fillna(0)
        .astype(int)
    )
    for column in ("current", "previous"):
        total = table[column].sum()
        table[f"{column}_share"] = table[column] / total if total else np.nan
    return table


def reasons(data: ReportData) -> Figure:
    """Share of returns per standard reason class, this month against last month."""
    figure = _figure(3.6)
    table = reason_classes(data)
    if not table["current"].sum():
        return _empty(figure, "本月没有退货")
    ax = figure.add_subplot()
    _style(ax, grid_axis="x")
    y = np.arange(len(table))[::-1]
    ax.barh(y + 0.18, table["current_share"], height=0.36, color=RATE, label=data.period.month)
    ax.barh(
        y - 0.18, table["previous_share"].fillna(0), height=0.36, color=PREVIOUS,
        label=data.previous.month,
    )  # fmt: skip
    for yi, (current, share) in zip(
        y, zip(table["current"], table["current_share"], strict=True), strict=True
    ):
        ax.text(share, yi + 0.18, f"  {share:.0%}（{current}）", va="center", fontsize=8, color=INK)
    ax.set_yticks(y)
    ax.set_yticklabels(table.index, fontsize=9)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlim(0, max(table["current_share"].max(), table["previous_share"].max()) * 1.3)
    ax.legend(loc="lower right", fontsize=8.5, frameon=False)
    ax.set_title("退货原因（标准分类）· 占退货比例", loc="left", fontsize=13, color=INK)
    return figure


def carriers(data: ReportData) -> Figure:
    """Per outbound carrier: return rate, and the share of its returns damaged in transit."""
    frame = data.carriers[data.carriers["carrier"].notna()]
    figure = _figure(3.4)
    if frame.empty:
        return _empty(figure, "本月没有快递信息")
    left, right = figure.subplots(1, 2, sharey=True)
    y = np.arange(len(frame))[::-1]
    for ax, column, color, title in (
        (left, "return_rate", RATE, "退货率"),
        (right, "damaged_share", THRESHOLD, "运输破损占其退货比例"),
    ):
        _style(ax, grid_axis="x")
        values = frame[column].astype(float).fillna(0)
        ax.barh(y, values, color=color, height=0.6)
        for yi, v in zip(y, values, strict=True):
            ax.text(v, yi, f" {v:.1%}", va="center", fontsize=8, color=INK)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlim(0, max(values.max(), 0.01) * 1.35)
        ax.set_title(title, loc="left", fontsize=11, color=INK)
    left.set_yticks(y)
    left.set_yticklabels(
        [f"{c}（{n:,}）" for c, n in zip(frame["carrier"], frame["order_lines"], strict=True)],
        fontsize=8.5,
    )
    figure.suptitle("快递公司（括号内为发货订单行）", x=0.01, ha="left", fontsize=13, color=INK)
    return figure


# --------------------------------------------------------------------------------------
# Fonts and output


def texts(figures: Iterable[Figure]) -> str:
    """Every character the figures will draw (tick labels included once realised)."""
    parts = []
    for figure in figures:
        for artist in figure.findobj(Text):
            parts.append(artist.get_text())
    return "".join(parts)


def apply_font(figures: Iterable[Figure], families: list[str]) -> None:
    """Draw every text of the figures with `families` (the first font that has a glyph)."""
    for figure in figures:
        for artist in figure.findobj(Text):
            artist.set_fontfamily(families)


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()
