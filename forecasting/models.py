"""Candidate models: per-series statsforecast models and a global LightGBM via mlforecast.

Each function fits on a history that ends at one origin and returns the next ``h`` periods of
every series as a wide frame ``unique_id, ds, <model>...`` of mean forecasts. The engine calls
them once per backtest window and once at the real origin.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from mlforecast import MLForecast
from mlforecast.lag_transforms import RollingMean, RollingStd, SeasonalRollingMean
from statsforecast import StatsForecast
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoETS,
    CrostonSBA,
    HistoricAverage,
    SeasonalExponentialSmoothingOptimized,
    SeasonalNaive,
)

from forecasting.frequency import is_weekly

__all__ = ["GLOBAL_MODEL", "LIGHTGBM_DEFAULTS", "GlobalModel", "stats_forecast"]

_STATICS = ("channel", "category")

GLOBAL_MODEL = "lightgbm"
LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "objective": "tweedie",
    "tweedie_variance_power": 1.2,
    "n_estimators": 150,
    "learning_rate": 0.08,
    "num_leaves": 31,
    "min_child_samples": 40,
    "subsample": 0.5,
    "subsample_freq": 1,
    "colsample_bytree": 0.6,
    "max_bin": 63,
    "verbosity": -1,
}


def _stats_model(name: str, season: int, ets_model: str) -> Any:
    factories = {
        "seasonal_naive": lambda: SeasonalNaive(season, alias=name),
        "seasonal_es": lambda: SeasonalExponentialSmoothingOptimized(season, alias=name),
        "croston_sba": lambda: CrostonSBA(alias=name),
        "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1, alias=name),
        "adida": lambda: ADIDA(alias=name),
        "imapa": lambda: IMAPA(alias=name),
        "auto_ets": lambda: AutoETS(season_length=season, model=ets_model, alias=name),
    }
    if name not in factories:
        raise ValueError(f"unknown per-series model {name!r}; expected one of {list(factories)}")
    return factories[name]()


def stats_forecast(
    history: pd.DataFrame,
    h: int,
    freq: str,
    season: int,
    names: Sequence[str],
    ets_ids: Sequence[str] = (),
    ets_model: str = "ANA",
) -> pd.DataFrame:
    """Per-series models on ``history`` (``unique_id, ds, y``, sorted), in this process.

    AutoETS runs only on the few ``ets_ids``. A series too short for a model gets the
    historic average (``fallback_model``). :func:`forecasting.parallel.spread_stats_forecast`
    runs this same function on chunks of series over an executor.
    """
    cheap = [_stats_model(n, season, ets_model) for n in names if n != "auto_ets"]
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if cheap:
            sf = StatsForecast(cheap, freq=freq, n_jobs=1, fallback_model=HistoricAverage())
            frames.append(sf.forecast(df=history[["unique_id", "ds", "y"]], h=h))
        wants_ets = "auto_ets" in names
        subset = history[history["unique_id"].isin(ets_ids if wants_ets else [])]
        # At an early backtest cutoff the AutoETS series may not have started yet, and
        # statsforecast cannot split an empty frame into jobs.
        if not subset.empty:
            sf = StatsForecast([_stats_model("auto_ets", season, ets_model)], freq=freq,
                               n_jobs=1, fallback_model=HistoricAverage())
            frames.append(sf.forecast(df=subset[["unique_id", "ds", "y"]], h=h))
    out = frames[0]
    for frame in frames[1:]:
        out = out.merge(frame, on=["unique_id", "ds"], how="left")
    out["unique_id"] = out["unique_id"].astype(str)
    model_cols = [c for c in out.columns if c not in ("unique_id", "ds")]
    out[model_cols] = out[model_cols].clip(lower=0.0)
    return out


def _lag_setup(freq: str, season: int) -> tuple[list[int], dict[int, list[Any]], list[str]]:
    if is_weekly(freq):
        lags = [1, 2, 3, 4, season] if season > 4 else [1, 2, 3, 4]
        transforms: dict[int, list[Any]] = {1: [RollingMean(4), RollingMean(13), RollingStd(13)]}
        return lags, transforms, ["month", "dayofyear"]
    if season == 7:
        lags = [1, 2, 3, 7, 14, 21, 28]
        transforms = {
            1: [RollingMean(7), RollingMean(28), RollingStd(28),
                SeasonalRollingMean(season_length=7, window_size=4)],
            7: [RollingMean(28)],
        }
        return lags, transforms, ["dayofweek", "month", "day", "dayofyear"]
    lags = sorted({1, 2, 3, season})
    return lags, {1: [RollingMean(max(season, 3))]}, ["month"]


class GlobalModel:
    """One LightGBM over all series, recursive over the horizon.

    ``fit`` takes ``unique_id, ds, y, censored`` plus the signal ``features``; censored rows
    keep their (imputed) ``y`` for the lags but are not training targets. ``statics`` gives
    ``channel`` and ``category`` per series, so a series with hardly any history is forecast
    from what its category sells on its channel. A fitted model can ``predict`` from any
    later cutoff (the lags are rebuilt from the history given), which lets every backtest
    window share one fit made before the first window.
    """

    def __init__(self, features: Sequence[str], freq: str, season: int,
                 params: dict[str, Any], seed: int, n_jobs: int,
                 train_history: int | None = None) -> None:
        self.features = list(features)
        self.freq = freq
        self.season = season
        self.params = params
        self.seed = seed
        self.n_jobs = n_jobs
        self.train_history = train_history

    def _frame(self, history: pd.DataFrame, statics: pd.DataFrame) -> pd.DataFrame:
        frame = history[["unique_id", "ds", "y", *self.features]].merge(
            statics[["unique_id", *_STATICS]], on="unique_id", how="left", validate="m:1")
        for col in _STATICS:
            frame[col] = pd.Categorical(frame[col].fillna("unknown").astype(str),
                                        categories=self.categories_[col])
        return frame

    def fit(self, history: pd.DataFrame, statics: pd.DataFrame) -> GlobalModel:
        lags, transforms, date_features = _lag_setup(self.freq, self.season)
        self.context_ = max(lags) + 2 * max(self.season, 28)
        model_params = {**LIGHTGBM_DEFAULTS, **self.params, "random_state": self.seed,
                        "n_jobs": self.n_jobs if self.n_jobs > 0 else 0}
        self.categories_ = {
            col: sorted(statics[col].fillna("unknown").astype(str).unique()) for col in _STATICS
        }
        self.statics_ = statics
        mlf = MLForecast(
            models={GLOBAL_MODEL: lgb.LGBMRegressor(**model_params)},
            freq=self.freq, lags=lags, lag_transforms=transforms,
            date_features=date_features, num_threads=1,
        )
        frame = self._frame(history, statics)
        keep_rows = ~history["censored"].to_numpy(dtype=bool)
        if self.train_history is not None:
            step = pd.tseries.frequencies.to_offset(self.freq)
            keep_rows &= (frame["ds"] > frame["ds"].max() - self.train_history * step).to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = mlf.preprocess(frame, static_features=list(_STATICS), dropna=False,
                               keep_last_n=self.context_)
            same_rows = isinstance(X, pd.DataFrame) and len(X) == len(frame) and (
                X["ds"].to_numpy() == frame["ds"].to_numpy()).all()
            if not same_rows:
                raise RuntimeError("mlforecast reordered the rows while preprocessing")
            if not isinstance(X, pd.DataFrame):
                raise TypeError("mlforecast returned arrays where a frame was expected")
            # Half the zero-sales rows, weighted double: the same expected loss for a third
            # less work on a catalogue where most series are intermittent.
            rng = np.random.default_rng(self.seed)
            zero = frame["y"].to_numpy() == 0
            dropped = zero & (rng.random(len(frame)) < 0.5)
            rows = np.flatnonzero(keep_rows & ~dropped)
            X = X.iloc[rows]
            weight = np.where(zero[rows], 2.0, 1.0)
            mlf.fit_models(X.drop(columns=["unique_id", "ds", "y"]), X["y"].to_numpy(),
                           models_fit_kwargs={GLOBAL_MODEL: {"sample_weight": weight}})
        self.mlf_ = mlf
        return self

    def predict(self, history: pd.DataFrame, future: pd.DataFrame, h: int) -> pd.DataFrame:
        """Forecast the ``h`` periods after the end of ``history`` (features in ``future``)."""
        recent = history.groupby("unique_id", sort=False).tail(self.context_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_df = future[["unique_id", "ds", *self.features]] if self.features else None
            predicted = self.mlf_.predict(h, new_df=self._frame(recent, self.statics_),
                                          X_df=X_df)
        predicted["unique_id"] = predicted["unique_id"].astype(str)
        predicted[GLOBAL_MODEL] = predicted[GLOBAL_MODEL].clip(lower=0.0)
        return predicted
