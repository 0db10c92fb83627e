"""Rolling-origin evaluation of the whole engine.

Each outer window refits everything (inner windows, model choice, calibration) on the data
known at its cutoff, so its scores and its quantile coverage are out of sample.
Censored periods (stockouts, closures) are not scored: their sales are not their demand.
The plot of actuals against forecasts lives with the report
(``flows.outbound.report.backtest_plot``): drawing is not the core's business.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import pandas as pd

from forecasting.config import ForecastConfig
from forecasting.contract import DemandData
from forecasting.engine import Forecaster, origin_of, resolve_freq, resolve_horizon
from forecasting.errors import UserError
from forecasting.frequency import period_labels
from forecasting.metrics import point_metrics, quantile_label, quantile_metrics, seasonal_scale
from forecasting.training import Trainer

__all__ = ["BacktestResult", "NotEnoughHistoryError", "backtest"]


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
             products: pd.DataFrame | None = None, *, executor: Executor | None = None,
             n_jobs: int = -1, trainer: Trainer | None = None) -> BacktestResult:
    """Refit the engine at ``windows`` cutoffs ``horizon`` periods apart and score each
    (``executor``, ``n_jobs`` and ``trainer`` as for :class:`~forecasting.engine.Forecaster`)."""
    config = config or ForecastConfig()
    freq = resolve_freq(data, config)
    origin = origin_of(data, freq, as_of)
    _check_history(data, origin, windows, resolve_horizon(config, freq), freq)
    truth = Forecaster(config.model_copy(update={"freq": freq})).prepare(
        data, as_of=origin, products=products).observed()
    frames = []
    for k in range(windows, 0, -1):
        cutoff = pd.date_range(end=origin, periods=k * resolve_horizon(config, freq) + 1,
                               freq=freq)[0]
        fitted = Forecaster(config.model_copy(update={"freq": freq}), executor=executor,
                            n_jobs=n_jobs, trainer=trainer).fit(data, as_of=cutoff,
                                                                products=products)
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


class NotEnoughHistoryError(UserError):
    """The backtest's first cutoff comes before anything was sold."""


def _check_history(data: DemandData, origin: pd.Timestamp, windows: int, horizon: int,
                   freq: str) -> None:
    """Every outer window needs sales before its cutoff (the engine then forecasts even a
    catalogue only days old, see :mod:`forecasting.coldstart`)."""
    first_cutoff = pd.date_range(end=origin, periods=windows * horizon + 1, freq=freq)[0]
    first_sale = pd.Timestamp(data.sales["date"].min())
    if first_cutoff < pd.Timestamp(period_labels(pd.DatetimeIndex([first_sale]), freq)[0]):
        raise NotEnoughHistoryError(
            f"a backtest of {windows} windows of {horizon} periods ({freq}) starts at "
            f"{first_cutoff.date()}, before the first sales date {first_sale.date()}: use "
            "fewer windows or a shorter horizon")


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
