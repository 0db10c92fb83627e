"""A direct global LightGBM built from the contract tables: the configuration that reaches the
accuracy targets on Rossmann and Walmart (see ``benchmarks/FINDINGS.md``).

"Direct" means no feature depends on a value inside the forecast window: lags are at least the
horizon, and the rest is calendar, time index, series level and the engine's own signal
features (``forecasting.features.build_features``). Nothing is predicted recursively, so errors
do not compound over a 42-day horizon.

Quantiles come from rolling-origin backtests inside the training data: the model is refitted
at ``origin - k * horizon`` (k = 1..windows), its errors are scaled by each series' mean
absolute backtest error, and the empirical quantiles of the scaled errors are added back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from forecasting.contract import DemandData
from forecasting.features import build_features

__all__ = ["DAILY", "WEEKLY", "DirectLightGBM", "RecipeSettings", "calibrated_forecast"]

_CAP = 30.0


@dataclass(frozen=True)
class RecipeSettings:
    """What the model sees and how it is trained.

    ``target`` is ``"log1p"`` (squared error on log1p(y); expm1 back) or ``"scaled"`` (y over
    the series' recent mean, rows weighted by that mean, so an L1 objective minimises the
    absolute error in units). ``lags`` must all be >= the horizon.
    """

    target: str
    objective: str
    rounds: int
    learning_rate: float
    lags: tuple[int, ...] = ()
    rolling: tuple[int, ...] = ()
    year_lag: int | None = None
    level_periods: int = 365
    train_periods: int | None = None
    num_leaves: int = 63
    min_data_in_leaf: int = 20
    holiday_weight: float = 1.0
    calendar: tuple[str, ...] = field(default_factory=tuple)


DAILY = RecipeSettings(
    target="log1p", objective="regression", rounds=1500, learning_rate=0.05,
    level_periods=365, calendar=("dayofweek", "day", "month", "weekofyear", "dayofyear"),
)
WEEKLY = RecipeSettings(
    target="scaled", objective="l1", rounds=400, learning_rate=0.1,
    lags=(0, 1, 14, 27, 38, 39, 40, 41, 42, 92), rolling=(4, 13), year_lag=52,
    level_periods=13, train_periods=80, min_data_in_leaf=50, holiday_weight=5.0,
    calendar=("weekofyear", "month", "day"),
)
"""Weekly lags are counted from the last known week, h periods before the target: lag k
here is the value k + h weeks before the target week (h = the horizon)."""


def _calendar(ds: pd.Series, names: Sequence[str]) -> pd.DataFrame:
    values = {
        "dayofweek": ds.dt.dayofweek, "day": ds.dt.day, "month": ds.dt.month,
        "weekofyear": ds.dt.isocalendar().week.astype(int), "dayofyear": ds.dt.dayofyear,
    }
    return pd.DataFrame({name: values[name] for name in names}, index=ds.index)


def _distance_to_flag(flag: pd.Series, sid: pd.Series, backward: bool) -> np.ndarray:
    """Periods since (or, ``backward``, until) the nearest flagged row of the same series,
    capped at 30; rows are ordered by series then date."""
    position = pd.Series(np.arange(len(flag), dtype=float), index=flag.index)
    marked = position.where(flag.to_numpy() > 0)
    nearest = marked.groupby(sid).bfill() if backward else marked.groupby(sid).ffill()
    distance = (nearest - position).abs()
    return distance.fillna(_CAP).clip(upper=_CAP).to_numpy()


class DirectLightGBM:
    """One LightGBM over every (sku, channel) series, fitted at one origin."""

    def __init__(self, settings: RecipeSettings, freq: str, horizon: int, seed: int = 0,
                 n_jobs: int = 2) -> None:
        self.settings = settings
        self.freq = freq
        self.horizon = horizon
        self.seed = seed
        self.n_jobs = n_jobs

    def _panel(self, data: DemandData, origin: pd.Timestamp) -> pd.DataFrame:
        sales = data.sales[data.sales["date"] <= origin]
        series = sales.groupby(["sku", "channel"], as_index=False).agg(first=("date", "min"))
        series["unique_id"] = series["sku"] + "|" + series["channel"]
        series["category"] = None
        end = origin + self.horizon * pd.tseries.frequencies.to_offset(self.freq)
        start = series["first"].min()
        dates = pd.date_range(start, end, freq=self.freq)
        grid = series[["unique_id", "sku", "channel", "first"]].merge(
            pd.DataFrame({"ds": dates}), how="cross")
        grid = grid[grid["ds"] >= grid["first"]].drop(columns="first")
        grid = grid.sort_values(["unique_id", "ds"]).reset_index(drop=True)
        units = sales.rename(columns={"date": "ds", "units": "y"})[["sku", "channel", "ds", "y"]]
        grid = grid.merge(units, on=["sku", "channel", "ds"], how="left")
        grid["y"] = grid["y"].fillna(0.0).where(grid["ds"] <= origin)
        signals = build_features(grid[["unique_id", "ds"]], series[
            ["unique_id", "sku", "channel", "category"]], data, self.freq)
        self.signal_columns_ = list(signals.columns)
        return pd.concat([grid, signals], axis=1)

    def _add_features(self, panel: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
        s = self.settings
        sid = panel["unique_id"]
        closed = panel["closed"] if "closed" in panel else pd.Series(0.0, index=panel.index)
        panel["censored"] = closed > 0
        panel["since_closed"] = _distance_to_flag(closed, sid, backward=False)
        panel["until_closed"] = _distance_to_flag(closed, sid, backward=True)
        step = pd.tseries.frequencies.to_offset(self.freq)
        first_day = panel["ds"].min()
        panel["t"] = ((panel["ds"] - first_day) / pd.Timedelta(days=1)).to_numpy()
        panel["t"] = panel["t"] // (7 if self.freq.startswith("W") else 1)
        panel = pd.concat([panel, _calendar(panel["ds"], s.calendar)], axis=1)
        known = panel["y"].where(~panel["censored"])
        recent = panel["ds"] > origin - s.level_periods * step
        level = known.where(recent).groupby(sid).transform("mean")
        panel["level"] = level.fillna(known.groupby(sid).transform("mean")).fillna(0.0)
        if "dayofweek" in s.calendar:
            by_dow = known.where(recent).groupby([sid, panel["dayofweek"]]).transform("mean")
            panel["dow_ratio"] = (by_dow / panel["level"].where(panel["level"] > 0)).fillna(1.0)
        if "promo_active" in panel:
            on = known.where(recent & (panel["promo_active"] > 0)).groupby(sid).transform("mean")
            panel["promo_ratio"] = (on / panel["level"].where(panel["level"] > 0)).fillna(1.0)
        grouped = known.groupby(sid)
        for lag in s.lags:
            panel[f"lag{lag}"] = grouped.shift(lag + self.horizon)
        for window in s.rolling:
            panel[f"mean{window}"] = grouped.transform(
                lambda v, w=window: v.shift(self.horizon).rolling(w, min_periods=1).mean())
            if s.year_lag:
                back = self.horizon + s.year_lag
                panel[f"mean{window}_year_ago"] = grouped.transform(
                    lambda v, w=window, b=back: v.shift(b).rolling(w, min_periods=1).mean())
        if s.year_lag and s.rolling:
            w = max(s.rolling)
            panel["growth"] = (panel[f"mean{w}"] + 1) / (panel[f"mean{w}_year_ago"] + 1)
        panel["sid"] = sid.astype("category").cat.codes
        return panel

    def _scale(self, panel: pd.DataFrame) -> np.ndarray:
        if self.settings.target != "scaled":
            return np.ones(len(panel))
        basis = f"mean{max(self.settings.rolling)}" if self.settings.rolling else "level"
        return panel[basis].fillna(panel["level"]).clip(lower=1.0).to_numpy()

    def _weights(self, panel: pd.DataFrame) -> np.ndarray:
        weights = np.ones(len(panel))
        if self.settings.holiday_weight != 1.0 and "holiday_on" in panel:
            weights = np.where(panel["holiday_on"] > 0, self.settings.holiday_weight, 1.0)
        return weights

    def fit(self, data: DemandData, origin: pd.Timestamp) -> DirectLightGBM:
        s = self.settings
        panel = self._add_features(self._panel(data, origin), origin)
        excluded = {"unique_id", "sku", "channel", "ds", "y", "censored"}
        self.features_ = [c for c in panel.columns if c not in excluded]
        train = panel[(panel["ds"] <= origin) & ~panel["censored"]]
        if s.train_periods is not None:
            step = pd.tseries.frequencies.to_offset(self.freq)
            train = train[train["ds"] > origin - s.train_periods * step]
        scale = self._scale(train)
        y = train["y"].to_numpy()
        target = np.log1p(y) if s.target == "log1p" else y / scale
        weight = self._weights(train) * (scale if s.target == "scaled" else 1.0)
        params = {
            "objective": s.objective, "learning_rate": s.learning_rate,
            "num_leaves": s.num_leaves, "min_data_in_leaf": s.min_data_in_leaf,
            "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
            "verbose": -1, "num_threads": self.n_jobs, "seed": self.seed,
        }
        dataset = lgb.Dataset(train[self.features_], target, weight=weight,
                              categorical_feature=["sid"])
        self.booster_ = lgb.train(params, dataset, num_boost_round=s.rounds)
        self.future_ = panel[panel["ds"] > origin]
        self.origin_ = origin
        return self

    def predict(self) -> pd.DataFrame:
        """``sku, channel, date, forecast`` for the horizon; 0 on censored (closed) days."""
        future = self.future_
        raw = self.booster_.predict(future[self.features_])
        mean = np.expm1(raw) if self.settings.target == "log1p" else raw * self._scale(future)
        mean = np.where(future["censored"], 0.0, np.clip(mean, 0.0, None))
        return pd.DataFrame({"sku": future["sku"].to_numpy(),
                             "channel": future["channel"].to_numpy(),
                             "date": future["ds"].to_numpy(), "forecast": mean,
                             "censored": future["censored"].to_numpy()})


def _window_errors(data: DemandData, model: DirectLightGBM, origin: pd.Timestamp) -> pd.DataFrame:
    predicted = model.fit(data, origin).predict()
    sales = data.sales.rename(columns={"units": "y"})[["sku", "channel", "date", "y"]]
    joined = predicted[~predicted["censored"]].merge(sales, on=["sku", "channel", "date"],
                                                     how="left")
    return joined.assign(y=joined["y"].fillna(0.0))


def calibrated_forecast(data: DemandData, settings: RecipeSettings, freq: str, horizon: int,
                        origin: pd.Timestamp, windows: int = 2, seed: int = 0,
                        n_jobs: int = 2,
                        quantiles: Sequence[float] = (0.5, 0.9, 0.95, 0.99)) -> pd.DataFrame:
    """Point forecast at ``origin`` plus quantile columns ``p50, p90, ...`` calibrated on
    ``windows`` rolling-origin backtests that end on or before ``origin``."""
    step = pd.tseries.frequencies.to_offset(freq)
    model = DirectLightGBM(settings, freq, horizon, seed, n_jobs)
    history = data.until(origin)
    errors = pd.concat([_window_errors(history, model, origin - k * horizon * step)
                        for k in range(1, windows + 1)], ignore_index=True)
    errors["error"] = errors["y"] - errors["forecast"]
    errors["abs_error"] = errors["error"].abs()
    overall = float(errors["abs_error"].mean())
    spread = errors.groupby(["sku", "channel"], as_index=False).agg(spread=("abs_error", "mean"))
    spread["spread"] = spread["spread"].where(spread["spread"] > 0, overall)
    errors = errors.merge(spread, on=["sku", "channel"])
    z = errors["error"] / errors["spread"]
    result = model.fit(history, origin).predict().merge(spread, on=["sku", "channel"],
                                                        how="left")
    result["spread"] = result["spread"].fillna(overall)
    previous = result["forecast"].to_numpy()
    for q in sorted(quantiles):
        value = np.clip(result["forecast"] + float(np.quantile(z, q)) * result["spread"], 0, None)
        value = np.where(result["censored"], 0.0, np.maximum(value, previous if q > 0.5 else 0))
        result[f"p{round(q * 100)}"] = value
        previous = value
    return result.drop(columns=["spread", "censored"])
