"""The backtest plot: actuals against the chosen forecast and its p50-p90 band.

Drawn here, beside the report, rather than in ``forecasting.backtest``: the core returns
frames, and choosing a plotting back-end (Agg: no display, files only) is the outside's
business.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from forecasting.backtest import BacktestResult
from forecasting.metrics import quantile_label

__all__ = ["plot_backtest"]


def plot_backtest(result: BacktestResult, top_n: int = 6) -> Figure:
    """Actuals against the chosen forecast and its p50-p90 band, for the ``top_n`` SKUs
    with the most units (all channels summed)."""
    p50, p90 = quantile_label(0.5), quantile_label(0.9)
    cols = ["y", "forecast", *(c for c in (p50, p90) if c in result.actuals)]
    per_sku = result.actuals.groupby(["sku", "window", "ds"], as_index=False)[cols].sum()
    top = per_sku.groupby("sku")["y"].sum().nlargest(top_n).index
    n = max(len(top), 1)
    ncols = 2 if n > 1 else 1
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(7 * ncols, 2.8 * nrows), squeeze=False)
    for ax, sku in zip(axes.flat, top, strict=False):
        rows = per_sku[per_sku["sku"] == sku].sort_values("ds")
        ax.plot(rows["ds"], rows["y"], color="black", lw=1, label="actual")
        for _, window in rows.groupby("window"):
            ax.plot(window["ds"], window["forecast"], color="tab:blue", lw=1.2)
            if p90 in window:
                ax.fill_between(window["ds"], window[p50], window[p90], color="tab:blue",
                                alpha=0.2, lw=0)
        ax.set_title(f"{sku}: actual vs forecast (band: p50-p90 of channel sums)",
                     fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(top):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
