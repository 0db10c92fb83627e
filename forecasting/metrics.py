"""Accuracy and calibration metrics over long frames of actuals and forecasts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.uncertainty import pit_coverage

__all__ = ["point_metrics", "quantile_label", "quantile_metrics", "seasonal_scale"]


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


def point_metrics(frame: pd.DataFrame, models: Sequence[str], scale: pd.Series,
                  by: Sequence[str] = ("unique_id",)) -> pd.DataFrame:
    """WAPE, MASE and bias per group and model (long frame ``*by, model, ...``).

    ``frame`` holds ``unique_id, y`` and one column per model; ``bias`` is
    ``sum(forecast - y) / sum(y)``; MASE averages the per-row scaled errors. A model that
    forecast only some series (AutoETS) is scored on those rows only; ``series`` says how many.
    """
    rows = []
    for model in models:
        scored = frame[frame[model].notna()]
        row_scale = scored["unique_id"].map(scale).to_numpy(dtype=float)
        err = scored[model].to_numpy(float) - scored["y"].to_numpy(float)
        part = scored[list(by)].assign(
            abs_err=np.abs(err), err=err, y_abs=scored["y"].abs(),
            scaled=np.abs(err) / row_scale)
        g = part.groupby(list(by), sort=True).sum(min_count=1)
        counts = part.groupby(list(by), sort=True)["scaled"].count()
        rows.append(pd.DataFrame({
            "model": model,
            "wape": g["abs_err"] / g["y_abs"].replace(0, np.nan),
            "mase": g["scaled"] / counts.replace(0, np.nan),
            "bias": g["err"] / g["y_abs"].replace(0, np.nan),
            "mae": g["abs_err"] / part.groupby(list(by), sort=True)["err"].size(),
            "series": scored.groupby(list(by), sort=True)["unique_id"].nunique(),
        }))
    return pd.concat(rows).reset_index()


def quantile_metrics(frame: pd.DataFrame, levels: Sequence[float],
                     by: Sequence[str] = ("unique_id",)) -> pd.DataFrame:
    """Pinball loss and coverage per group for the quantile columns ``p50, p90, ...``.

    ``coverage_pXX`` is the randomized-PIT coverage under the forecast's negative binomial
    (``forecast`` mean, ``dispersion``), the right measure for counts; ``below_pXX`` is the
    plain share of actuals at or below the quantile, which overstates coverage when many
    actuals tie with a quantile of 0.
    """
    y = frame["y"].to_numpy(float)
    parts = {}
    for level in levels:
        name = quantile_label(level)
        q = frame[name].to_numpy(float)
        diff = y - q
        parts[f"pinball_{name}"] = np.maximum(level * diff, (level - 1) * diff)
        parts[f"coverage_{name}"] = pit_coverage(y, frame["forecast"].to_numpy(float),
                                                 frame["dispersion"].to_numpy(float), level)
        parts[f"below_{name}"] = (y <= q).astype(float)
    long = pd.concat([frame[list(by)], pd.DataFrame(parts, index=frame.index)], axis=1)
    return long.groupby(list(by), sort=True).mean().reset_index()
