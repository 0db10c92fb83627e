"""Report charts as inline SVG (matplotlib, Agg backend: no display, no external files).

Charts carry no text from the input files (SKU names and titles are in the HTML, escaped by
the template), so an SVG can be embedded as markup as it is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from flows.i18n import Language, language
from flows.outbound.report.series import ARRIVAL_KINDS

__all__ = ["CJK_FONTS", "COLORS", "accuracy_chart", "chart_language", "cjk_font", "sku_chart"]

# Fonts with Simplified Chinese glyphs, most common first: Debian/Ubuntu (fonts-noto-cjk,
# fonts-wqy-microhei), Adobe's Source Han, macOS, Windows.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC",
             "Microsoft YaHei", "SimHei")
_LANGUAGE: ContextVar[Language] = ContextVar("chart_language")


_CJK_FILES = ("cjk", "wqy", "sourcehan", "pingfang", "msyh", "simhei")


def _find(family: str) -> bool:
    try:
        font_manager.findfont(font_manager.FontProperties(family=family),
                              fallback_to_default=False)
    except ValueError:
        return False
    return True


@cache
def cjk_font() -> str | None:
    """The first of :data:`CJK_FONTS` matplotlib's font manager finds, or None.

    Matplotlib caches the font list the first time it runs; a CJK font installed later (the
    usual order: pip install, then apt-get install fonts-noto-cjk) is not in that cache, so
    the system's CJK font files are added once before giving up."""
    found = next((family for family in CJK_FONTS if _find(family)), None)
    if found is not None:
        return found
    for path in font_manager.findSystemFonts():
        if any(key in Path(path).name.lower() for key in _CJK_FILES):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # an unreadable font file
                continue
    return next((family for family in CJK_FONTS if _find(family)), None)


@contextmanager
def chart_language(lang: Language) -> Iterator[None]:
    """Chart titles, axis labels and legends in ``lang`` while the block runs."""
    token = _LANGUAGE.set(lang)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def _t(message: str, **fields: object) -> str:
    return _LANGUAGE.get(language("en")).gettext(message, **fields)


def _style() -> dict[RcKeyType, Any]:
    """The chart style, with a CJK font first so Chinese names and labels are not boxes (and
    name it in the SVG, so the browser picks the same family)."""
    found = cjk_font()
    if found is None:
        return _STYLE
    return {**_STYLE, "font.sans-serif": [found, *matplotlib.rcParams["font.sans-serif"]]}

COLORS = {
    "history": "#94a3b8",
    "stockout": "#dc2626",
    "forecast": "#ea580c",
    "inventory": "#2563eb",
    "safety_stock": "#16a34a",
    "reorder_point": "#a16207",
    ARRIVAL_KINDS[0]: "#64748b",
    ARRIVAL_KINDS[1]: "#7c3aed",
    "wape": "#2563eb",
    "bias": "#ea580c",
}
_MAX_RUN_TICKS = 12  # more runs than this: a date axis rather than a tick per run
_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller files, the browser's own sans-serif
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
}


def _svg(fig: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element; ``salt`` keeps element ids unique per chart when
    several charts share one HTML page, and makes the output repeatable."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))


def _demand_panel(ax: Axes, history: pd.DataFrame, forecast: pd.DataFrame,
                  as_of: pd.Timestamp) -> None:
    if not history.empty:
        # One stairs artist rather than a bar per day: far cheaper to draw and to write.
        # ``history`` has every day, so the day boundaries are a plain daily range.
        edges = pd.date_range(history["date"].iloc[0] - pd.Timedelta(hours=12),
                              periods=len(history) + 1, freq="D")
        ax.stairs(history["units"].to_numpy(float), mdates.date2num(edges), fill=True,
                  color=COLORS["history"], label=_t("units sold"))
    out = history[history["stockout"]]
    for day in out["date"]:
        ax.axvspan(day - pd.Timedelta(hours=12), day + pd.Timedelta(hours=12),
                   color=COLORS["stockout"], alpha=0.18, linewidth=0)
    if not out.empty:
        ax.plot([], [], color=COLORS["stockout"], alpha=0.35, linewidth=6, label=_t("stockout day"))
    if not forecast.empty:
        ax.fill_between(forecast["date"], forecast["p50"], forecast["p95"], step="mid",
                        color=COLORS["forecast"], alpha=0.22, linewidth=0, label="p50-p95")
        ax.step(forecast["date"], forecast["forecast"], where="mid", color=COLORS["forecast"],
                linewidth=1.6, label=_t("forecast mean"))
    ax.axvline(float(mdates.date2num(as_of)), color="#111827", linewidth=0.8, linestyle="--")
    ax.set_title(_t("Units sold per day and forecast"), loc="left", fontsize=9, color="#374151")
    ax.set_ylabel(_t("units / day"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", ncols=4)
    _date_axis(ax)


def _stock_panel(ax: Axes, projection: pd.DataFrame, receipts: pd.DataFrame,
                 safety_stock: float, reorder_point: float) -> None:
    ax.fill_between(projection["date"], projection["inventory"], step="post",
                    color=COLORS["inventory"], alpha=0.12, linewidth=0)
    ax.step(projection["date"], projection["inventory"], where="post",
            color=COLORS["inventory"], linewidth=1.6, label=_t("projected stock"))
    ax.axhline(reorder_point, color=COLORS["reorder_point"], linestyle=":", linewidth=1.4,
               label=_t("reorder point {value}", value=f"{reorder_point:,.0f}"))
    ax.axhline(safety_stock, color=COLORS["safety_stock"], linestyle="--", linewidth=1.2,
               label=_t("safety stock {value}", value=f"{safety_stock:,.0f}"))
    short = projection[projection["short"] > 0]
    if not short.empty:
        ax.scatter(short["date"], [0.0] * len(short), marker="s", s=14,
                   color=COLORS["stockout"], label=_t("projected stockout"), zorder=3)
    top = max(float(projection["inventory"].max()), reorder_point, safety_stock, 1.0)
    for kind in ARRIVAL_KINDS:
        part = receipts[receipts["kind"] == kind]
        if part.empty:
            continue
        ax.scatter(part["date"], [0.0] * len(part), marker="^", s=70, color=COLORS[kind],
                   label=_t(kind), zorder=4, clip_on=False)
        for when, qty in zip(part["date"], part["qty"], strict=True):
            ax.annotate(f"+{qty:,.0f}", (when, 0.0), xytext=(0, 8), textcoords="offset points",
                        ha="center", fontsize=8, color=COLORS[kind])
    ax.set_ylim(0, top * 1.25)
    ax.set_title(_t("Projected stock, end of day"), loc="left", fontsize=9, color="#374151")
    ax.set_ylabel(_t("units in stock"))
    ax.legend(loc="upper right", ncols=3)
    _date_axis(ax)


def sku_chart(history: pd.DataFrame, forecast: pd.DataFrame, projection: pd.DataFrame,
              receipts: pd.DataFrame, safety_stock: float, reorder_point: float,
              as_of: pd.Timestamp, salt: str) -> str:
    """Two panels as one SVG: daily sales with stockout days and the forecast (mean and
    p50-p95 band) on top; projected stock with safety stock, reorder point and arrivals
    below. ``salt`` must differ between charts of one page."""
    with plt.style.context("default"), matplotlib.rc_context(_style()):
        # Fixed margins: constrained layout would double the drawing time of a chart.
        fig, (demand_ax, stock_ax) = plt.subplots(
            2, 1, figsize=(11, 5.4), height_ratios=(1.1, 1.0),
            gridspec_kw={"left": 0.06, "right": 0.99, "top": 0.95, "bottom": 0.06,
                         "hspace": 0.3},
        )
        _demand_panel(demand_ax, history, forecast, as_of)
        _stock_panel(stock_ax, projection, receipts, safety_stock, reorder_point)
        if not projection.empty:
            end = max(projection["date"].max(), receipts["date"].max() if len(receipts)
                      else projection["date"].max())
            stock_ax.set_xlim(as_of - pd.Timedelta(days=1), end + pd.Timedelta(days=2))
        return _svg(fig, salt)


def accuracy_chart(accuracy: pd.DataFrame, salt: str = "accuracy") -> str:
    """WAPE and bias of earlier runs by as-of date, as an SVG (percent)."""
    with plt.style.context("default"), matplotlib.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(11, 2.6), gridspec_kw={
            "left": 0.06, "right": 0.99, "top": 0.95, "bottom": 0.14})
        when = pd.to_datetime(accuracy["as_of"])
        wape = accuracy["wape"].to_numpy(float) * 100
        bias = accuracy["bias"].to_numpy(float) * 100
        ax.plot(when, wape, marker="o", color=COLORS["wape"], label="WAPE")
        ax.plot(when, bias, marker="s", color=COLORS["bias"],
                label=_t("bias (+ = forecast too high)"))
        ax.axhline(0, color="#111827", linewidth=0.6)
        ax.set_ylabel(_t("% of units sold"))
        values = [v for v in (*wape, *bias) if v == v]  # NaN != NaN
        low, high = min([0.0, *values]), max([1.0, *values])
        ax.set_ylim(low - 0.1 * (high - low), high + 0.35 * (high - low))  # room for the legend
        ax.legend(loc="upper left", ncols=2)
        if len(when) <= _MAX_RUN_TICKS:
            ax.set_xticks(mdates.date2num(pd.DatetimeIndex(when)))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))
            ax.set_xlim(*mdates.date2num([when.min() - pd.Timedelta(days=1),
                                          when.max() + pd.Timedelta(days=1)]))
        else:
            _date_axis(ax)
        return _svg(fig, salt)
