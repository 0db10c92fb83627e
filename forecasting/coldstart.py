"""Forecasts for a catalogue too new to backtest (every SKU launched days ago).

The engine chooses and calibrates its models on backtest windows before the origin. A window
is only scored when some series has at least :data:`MIN_WINDOW_HISTORY` uncensored periods
before its cutoff (a week of daily sales: below it every per-series model is the historic
average of a few days and the global model has no level, lag or season to learn from). When
not one window qualifies (a brand's first days on a platform, a new dataset with 5 days of
sales) nothing can be chosen or calibrated, and each series is forecast at a flat rate:

- its own mean units per uncensored period, shrunk towards the mean rate of its category on
  its channel (of its channel when the category is unknown) with :data:`PRIOR_PERIODS` = 7
  pseudo-periods, so a SKU with 2 days of sales leans on its category and one with 3 weeks
  mostly on itself;
- with a negative binomial dispersion estimated by moments from the periods seen (each
  series shrunk towards the pooled value with as many pseudo-periods as the horizon), as the
  engine does from backtest errors.

Raises :class:`NoForecastError` when no period at all is usable (every one censored by a
stockout or a closure): then there is no rate to start from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.errors import UserError
from forecasting.uncertainty import estimate_dispersion

__all__ = [
    "COLD_START_MODEL",
    "MIN_WINDOW_HISTORY",
    "PRIOR_PERIODS",
    "NoForecastError",
    "backtestable",
    "cold_start_dispersion",
    "cold_start_rates",
]

COLD_START_MODEL = "cold_start"
MIN_WINDOW_HISTORY = 7
PRIOR_PERIODS = 7.0


class NoForecastError(UserError):
    """Not one period of the history can be used to forecast from."""


def _usable(history: pd.DataFrame) -> pd.DataFrame:
    if "censored" not in history:
        return history
    return history[~history["censored"].to_numpy(dtype=bool)]


def backtestable(history: pd.DataFrame, cutoff: pd.Timestamp,
                 min_periods: int = MIN_WINDOW_HISTORY) -> bool:
    """Whether some series has ``min_periods`` uncensored periods up to ``cutoff``.

    ``history`` is ``unique_id, ds, y`` (and ``censored``)."""
    before = _usable(history[history["ds"] <= cutoff])
    if before.empty:
        return False
    return bool(before.groupby("unique_id").size().max() >= min_periods)


def cold_start_rates(history: pd.DataFrame, series: pd.DataFrame,
                     prior_periods: float = PRIOR_PERIODS) -> pd.Series:
    """Units per period of each series of ``series`` (``unique_id, channel, category``):
    its own mean shrunk towards its category-on-channel (else channel) mean rate."""
    usable = _usable(history)
    own = usable.groupby("unique_id")["y"].agg(["sum", "size"])
    frame = series.set_index("unique_id")[["channel", "category"]].join(own).fillna(
        {"sum": 0.0, "size": 0.0})
    channel_rate = _rate(frame, ["channel"])
    known = frame["category"].notna()
    group_rate = pd.Series(np.nan, index=frame.index)
    if known.any():
        group_rate[known] = _rate(frame[known], ["category", "channel"])
    prior = group_rate.fillna(channel_rate).fillna(_rate(frame, []))
    if prior.isna().all():
        raise NoForecastError(
            "no sales period can be forecast from: every period of every series is censored "
            "(a stockout or a closure); send sales with at least one day in stock and open")
    rate = (frame["sum"] + prior_periods * prior) / (frame["size"] + prior_periods)
    return rate.fillna(prior).rename("rate")


def _rate(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Pooled units per period over the series of each group, aligned with ``frame``."""
    if not by:
        total = frame["size"].sum()
        return pd.Series(frame["sum"].sum() / total if total else np.nan, index=frame.index)
    sums = frame.groupby(by)[["sum", "size"]].transform("sum")
    return sums["sum"] / sums["size"].replace(0.0, np.nan)


def cold_start_dispersion(history: pd.DataFrame, rates: pd.Series,
                          prior_weight: float) -> pd.Series:
    """Negative binomial ``alpha`` per series from the periods seen around its rate."""
    usable = _usable(history)
    errors = pd.DataFrame({
        "unique_id": usable["unique_id"].to_numpy(),
        "demand_class": "new",
        "y": usable["y"].to_numpy(dtype=float),
        "mu": usable["unique_id"].map(rates).to_numpy(dtype=float),
    })
    alpha = estimate_dispersion(errors, prior_weight).set_index("unique_id")["alpha"]
    pooled = float(alpha.median()) if len(alpha) else 1.0
    return alpha.reindex(rates.index).fillna(pooled).rename("alpha")
