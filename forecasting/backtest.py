"""Rolling-origin evaluation of the whole engine, and a plot of actuals against forecasts.

Each outer window refits everything (inner windows, model choice, calibration) on the data
known at its cutoff, so its scores and its quantile coverage are out of sample.
Censored periods (stockouts, closures) are not scored: their sales are not their demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from forecasting.config import ForecastConfig
from forecasting.contract import DemandData
from forecasting.engine import Forecaster, origin_of, resolve_freq
from forecasting.metrics import point_metrics, quantile_label, quantile_metrics, seasonal_scale

__all__ = ["BacktestResult", "backtest", "plot_backtest"]


@dataclass(frozen=True)
class BacktestResult:
    """Scores of a rolling-origin backtest.

    - ``actuals``: ``unique_id, sku, channel, demand_class, window, cutoff, ds, y`` with every
      candidate's forecast, the chosen ``forecast``, its quantiles and ``dispersion``;
    - ``per_series``: WAPE, MASE, bias per series and model (``model == "forecast"`` is the
      chosen combination), with pinball loss and coverage for the combination;
    - ``overall``: the same over all series, per model;
    - ``by_class``: the combination's scores and coverage per demand class.
    """

    actuals: pd.DataFrame
    per_series: pd.DataFrame
    overall: pd.DataFrame
    by_class: pd.DataFrame
    quantiles: tuple[float, ...]


def backtest(data: DemandData, config: ForecastConfig | None = None, windows: int = 3,
             as_of: pd.Timestamp | str | None = None,
             products: pd.DataFrame | None = None) -> BacktestResult:
    """Refit the engine at ``windows`` cutoffs ``horizon`` periods apart and score each."""
    config = config or ForecastConfig()
    freq = resolve_freq(data, config)
    origin = origin_of(data, freq, as_of)
    truth = Forecaster(config.model_copy(update={"freq": freq})).prepare(
        data, as_of=origin, products=products).observed()
    frames = []
    for k in range(windows, 0, -1):
        cutoff = pd.date_range(end=origin, periods=k * config.horizon + 1, freq=freq)[0]
        fitted = Forecaster(config.model_copy(update={"freq": freq})).fit(
            data, as_of=cutoff, products=products)
        result = fitted.predict()
        levels = [quantile_label(q) for q in config.quantiles]
        channel = result.channel.assign(unique_id=result.channel["sku"].astype(str) + "|"
                                        + result.channel["channel"].astype(str))
        frame = result.candidates.drop(columns=["sku", "channel"]).merge(
            channel[["unique_id", "date", *levels]].rename(columns={"date": "ds"}),
            on=["unique_id", "ds"])
        frame = frame.merge(result.models[["unique_id", "demand_class"]], on="unique_id")
        frames.append(frame.assign(window=k, cutoff=cutoff))
    actuals = pd.concat(frames, ignore_index=True).merge(
        truth[["unique_id", "sku", "channel", "ds", "y", "censored"]], on=["unique_id", "ds"])
    actuals = actuals[~actuals["censored"]].drop(columns="censored").reset_index(drop=True)
    models = [c for c in result.candidates.columns
              if c not in ("unique_id", "ds", "sku", "channel", "forecast", "dispersion")]
    season = config.season_length or fitted.season_
    scale = seasonal_scale(truth[truth["ds"] <= actuals["cutoff"].min()], season)
    return _score(actuals, [*models, "forecast"], scale, config.quantiles)


def _score(actuals: pd.DataFrame, models: list[str], scale: pd.Series,
           levels: tuple[float, ...]) -> BacktestResult:
    per_series = point_metrics(actuals, models, scale)
    quantile = quantile_metrics(actuals, levels)
    per_series = per_series.merge(quantile.assign(model="forecast"),
                                  on=["unique_id", "model"], how="left")
    whole = actuals.assign(_all="all")
    overall = point_metrics(whole, models, scale, by=["_all"]).merge(
        quantile_metrics(whole, levels, by=["_all"]).assign(model="forecast"),
        on=["_all", "model"], how="left").drop(columns="_all")
    by_class = point_metrics(actuals, ["forecast"], scale, by=["demand_class"]).merge(
        quantile_metrics(actuals, levels, by=["demand_class"]), on="demand_class")
    by_class["rows"] = by_class["demand_class"].map(actuals["demand_class"].value_counts())
    return BacktestResult(actuals, per_series, overall, by_class, tuple(levels))


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
