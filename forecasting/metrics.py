"""Accuracy and calibration metrics over long frames of actuals and forecasts.

WAPE, MAE and the pinball loss are ``utilsforecast.losses`` (``wape``, ``mae``,
``quantile_loss``), computed per group of any columns. Kept here because utilsforecast has no
equivalent: the bias as a share of demand (``sum(forecast - y) / sum(y)``; its ``bias`` is a
mean error in units), MASE pooled over groups of series each scaled by its own censoring-aware
seasonal error, the randomised-PIT coverage for count forecasts, and the plain share of
actuals at or below a quantile.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from utilsforecast.losses import mae, quantile_loss, wape

from forecasting.uncertainty import pit_coverage

__all__ = ["point_metrics", "quantile_label", "quantile_metrics", "seasonal_scale"]

_GROUP = "_group"


def quantile_label(level: float) -> str:
    """Column name of a quantile level: 0.9 -> ``p90``, 0.975 -> ``p97.5``."""
    return f"p{level * 100:g}"


def seasonal_scale(history: pd.DataFrame, season: int) -> pd.Series:
    """MASE denominator per ``unique_id``: in-sample mean absolute seasonal difference
    (uncensored periods only; lag 1 when the series is shorter than two seasons)."""
    h = history.sort_values(["unique_id", "ds"])
    y = h["y"].where(~h["censored"]) if "censored" in h else h["y"]
    grouped = y.groupby(h["unique_id"])
    seasonal = (y - grouped.shift(season)).abs().groupby(h["unique_id"]).mean()
    naive = (y - grouped.shift(1)).abs().groupby(h["unique_id"]).mean()
    return seasonal.fillna(naive).replace(0.0, np.nan)


def _groups(frame: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct ``by`` keys (row ``k`` = group ``k``, sorted) and each row's group code
    (-1 where a key is missing: such rows are not scored, as in ``groupby``)."""
    grouped = frame.groupby(list(by), sort=True)
    keys = grouped.size().index.to_frame(index=False)
    return keys, grouped.ngroup().to_numpy()


def _per_group(result: pd.DataFrame, column: str, n_groups: int) -> np.ndarray:
    """A utilsforecast result (one row per ``_GROUP``) as an array in group order."""
    return result.set_index(_GROUP)[column].reindex(range(n_groups)).to_numpy(dtype=float)


def point_metrics(frame: pd.DataFrame, models: Sequence[str], scale: pd.Series,
                  by: Sequence[str] = ("unique_id",)) -> pd.DataFrame:
    """WAPE, MASE, bias and MAE per group and model (long frame ``*by, model, ...``).

    ``frame`` holds ``unique_id, y`` and one column per model; ``bias`` is
    ``sum(forecast - y) / sum(y)``; MASE averages the per-row errors scaled by their series'
    ``scale``. A model that forecast only some series (AutoETS) is scored on those rows only;
    ``series`` says how many.
    """
    columns = [*by, "model", "wape", "mase", "bias", "mae", "series"]
    parts = [_point_metrics_of(frame[frame[model].notna()], model, scale, by)
             for model in models]
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _point_metrics_of(scored: pd.DataFrame, model: str, scale: pd.Series,
                      by: Sequence[str]) -> pd.DataFrame:
    keys, codes = _groups(scored, by)
    keep = codes >= 0
    scored, codes = scored[keep], codes[keep]
    if scored.empty:
        return pd.DataFrame()
    n = len(keys)
    y = scored["y"].to_numpy(float)
    forecast = scored[model].to_numpy(float)
    slim = pd.DataFrame({_GROUP: codes, "y": y, model: forecast})
    err = forecast - y
    scaled = pd.Series(np.abs(err) / scored["unique_id"].map(scale).to_numpy(dtype=float))
    sums = pd.DataFrame({"err": err, "y_abs": np.abs(y)}).groupby(codes).sum().reindex(range(n))
    scaled_mean = scaled.groupby(codes).mean().reindex(range(n))
    return keys.assign(
        model=model,
        wape=_per_group(wape(slim, [model], id_col=_GROUP), model, n),
        mase=scaled_mean.to_numpy(),
        bias=(sums["err"] / sums["y_abs"].replace(0, np.nan)).to_numpy(),
        mae=_per_group(mae(slim, [model], id_col=_GROUP), model, n),
        series=scored.groupby(codes)["unique_id"].nunique().reindex(range(n)).to_numpy(),
    )


def quantile_metrics(frame: pd.DataFrame, levels: Sequence[float],
                     by: Sequence[str] = ("unique_id",)) -> pd.DataFrame:
    """Pinball loss and coverage per group for the quantile columns ``p50, p90, ...``.

    ``coverage_pXX`` is the randomized-PIT coverage under the forecast's negative binomial
    (``forecast`` mean, ``dispersion``), the right measure for counts; ``below_pXX`` is the
    plain share of actuals at or below the quantile, which overstates coverage when many
    actuals tie with a quantile of 0.
    """
    keys, codes = _groups(frame, by)
    keep = codes >= 0
    frame, codes = frame[keep], codes[keep]
    n = len(keys)
    y = frame["y"].to_numpy(float)
    out = keys.copy()
    for level in levels:
        name = quantile_label(level)
        q = frame[name].to_numpy(float)
        slim = pd.DataFrame({_GROUP: codes, "y": y, name: q})
        out[f"pinball_{name}"] = _per_group(
            quantile_loss(slim, {name: name}, q=level, id_col=_GROUP), name, n)
        shares = pd.DataFrame({
            "coverage": pit_coverage(y, frame["forecast"].to_numpy(float),
                                     frame["dispersion"].to_numpy(float), level),
            "below": (y <= q).astype(float),
        }).groupby(codes).mean().reindex(range(n))
        out[f"coverage_{name}"] = shares["coverage"].to_numpy()
        out[f"below_{name}"] = shares["below"].to_numpy()
    return out
