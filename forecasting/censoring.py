"""Censored demand: periods with a stockout or a closure record sales, not demand.

Their sales are lower than the demand that would have been served, so the per-series models
see an imputed value instead (never below the units actually sold) and the global model drops
those rows from its training set while its lags read the imputed values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["impute_censored"]


def impute_censored(history: pd.DataFrame, window: int) -> pd.Series:
    """``y`` with censored periods replaced by the mean of the previous ``window`` uncensored
    periods of the same series (only the past, so backtests do not peek), or the series'
    uncensored mean when there are none before it; never below the observed units.

    ``history`` is sorted by ``unique_id`` then ``ds`` and has ``y`` and ``censored``.
    """
    censored = history["censored"].to_numpy(dtype=bool)
    y = history["y"].to_numpy(dtype="float64")
    if not censored.any():
        return history["y"].copy()
    codes = pd.factorize(history["unique_id"], sort=False)[0]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    first_of_row = starts[np.cumsum(np.r_[True, codes[1:] != codes[:-1]]) - 1]
    values = np.where(censored, 0.0, y)
    counts = (~censored).astype("float64")
    csum = np.r_[0.0, np.cumsum(values)]
    ccount = np.r_[0.0, np.cumsum(counts)]
    rows = np.arange(len(y))
    lower = np.maximum(first_of_row, rows - window)
    total = csum[rows] - csum[lower]
    count = ccount[rows] - ccount[lower]
    trailing = np.divide(total, count, out=np.full(len(y), np.nan), where=count > 0)
    frame = pd.DataFrame({"code": codes, "v": np.where(censored, np.nan, y)})
    series_mean = frame.groupby("code")["v"].transform("mean").to_numpy()
    estimate = np.where(np.isnan(trailing), series_mean, trailing)
    estimate = np.where(np.isnan(estimate), y, estimate)
    imputed = np.where(censored, np.maximum(y, estimate), y)
    return pd.Series(imputed, index=history.index, name="y")
