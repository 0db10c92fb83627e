"""The forecasting engine: candidates per backtest window, model choice, calibrated output.

``Forecaster(config).fit(data, as_of).predict()`` returns a :class:`ForecastResult`:

1. sales become a zero-filled panel of (sku, channel) series up to the origin; signal
   features are built for history and horizon; stockout and closure periods are censored;
2. the global LightGBM's set-up and tree count are chosen on ``backtest_windows`` inner
   rolling windows (at most a quarter long; :mod:`forecasting.setup`); every candidate
   (per-series statsforecast models, which get the global model's lift of each day's
   events, or its forecast on days whose events move demand by more than
   :data:`EVENT_DAY_LIFT`, and the global model) forecasts the windows and the real origin;
3. the way of combining them (one model, the best per demand class, or per series) is the
   one that scores best on windows it was not chosen on;
4. the combination's window errors give a negative binomial dispersion per series; the
   quantiles' median location and spread are calibrated per demand class until the window
   coverage matches the quantile levels;
5. channel rows get mean and quantiles, SKU rows sum the channel means, and SKU sample paths
   give the distribution of demand over any window.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset

from forecasting.censoring import impute_censored
from forecasting.coldstart import (
    COLD_START_MODEL,
    backtestable,
    cold_start_dispersion,
    cold_start_rates,
)
from forecasting.config import ForecastConfig
from forecasting.contract import DataContractError, DemandData, Problem
from forecasting.demand_class import classify_demand
from forecasting.direct import DIRECT_DEFAULTS, DirectGlobalModel
from forecasting.features import build_features, neutral_values
from forecasting.frequency import infer_freq, period_labels, season_length
from forecasting.metrics import point_metrics, quantile_label, seasonal_scale
from forecasting.models import GLOBAL_MODEL, GlobalModel
from forecasting.panel import Panel, build_panel, future_grid
from forecasting.parallel import spread_stats_forecast
from forecasting.presales import deposit_floor, floor_paths, upcoming_presales
from forecasting.quality import (
    DATA_QUALITY_COLUMNS,
    on_hand_by_sku,
    stopped_skus,
    suspected_stockouts,
)
from forecasting.returns import RETURN_COLUMNS, expected_returns, fit_returns
from forecasting.scenarios import DemandScenarios
from forecasting.setup import (
    EARLY_STOPPING_ROUNDS,
    LEARNING_RATE,
    MAX_TRAIN_ROWS,
    MAX_TREES,
    MEAN_SETUPS,
    MIN_TREES,
    SELECTION_ROWS,
    GlobalSetup,
    candidate_setups,
    sample_series,
    unseen_peak,
    window_score,
)
from forecasting.training import Trainer
from forecasting.uncertainty import (
    DependenceEstimate,
    calibrate_location,
    calibrate_scale,
    estimate_dependence,
    estimate_dispersion,
    nb_quantiles,
    sample_sku_paths,
    settled_rows,
)

__all__ = ["BLENDS", "EVENT_DAY_LIFT", "PLANNING_WEEKS", "ForecastResult", "Forecaster",
           "default_horizon", "forecast", "origin_of", "resolve_freq", "resolve_horizon"]

_BLENDS = (1.0, 0.75, 0.5)
BLENDS = ("single", "per_class", "per_series")
"""Ways of combining the candidates, chosen by :meth:`Forecaster._choose_blend`."""
PLANNING_WEEKS = 13
"""Weeks forecast when the config leaves the horizon to the engine (``horizon=None``): a
quarter, the shortest planning horizon; the planning layer asks for its own (longest lead
time + review + 13 weeks) explicitly."""
_LIFT_BOUNDS = (0.05, 50.0)
EVENT_DAY_LIFT = 1.25
"""A day whose known events (promotion, livestream, festival) lift the global model's
forecast above this ratio (or below its inverse) is forecast by the global model alone,
whichever model the series' blend chose. A per-series model's level already averages the
series' past events, and its last week may hold a livestream, so the lift counted them again:
on the sample brand the per-series models forecast the Double 11 day at 1.37-1.61 of true
demand (LightGBM 0.93), and a cream three months after launch, whose Douyin series had
seasonal naive, got 20,234 units for the Double 11 week on Douyin (all channels 22,490
against 14,656 true; p95 53,914), so the replay built ahead at the supplier's full capacity
(93,000 units in four weeks). The blend, chosen on windows, keeps the days without events."""


@dataclass(frozen=True)
class ForecastResult:
    """What a forecast run produces.

    - ``channel``: ``sku, channel, date, forecast, p50, p90, p95, p99, model``;
    - ``sku``: the same per SKU over all channels (``forecast`` is the sum of channel means;
      quantiles come from the sample paths);
    - ``scenarios``: SKU-level sample paths (:class:`DemandScenarios`);
    - ``models``: per series its demand class, chosen models and weights, backtest score and
      calibrated dispersion;
    - ``scores``: WAPE, MASE and bias of every candidate and of the combination over the
      backtest windows used for the choice;
    - ``candidates``: every candidate's mean forecast per series and date;
    - ``data_quality``: suspected stockouts and listing problems, runs of zero or collapsed
      sales the series' rate cannot explain (:data:`forecasting.quality.DATA_QUALITY_COLUMNS`;
      censored like flagged stockouts unless ``dormant``);
    - ``returns``: per channel row the net demand and the returns expected back
      (:data:`forecasting.returns.RETURN_COLUMNS`; daily forecasts only).
    """

    channel: pd.DataFrame
    sku: pd.DataFrame
    scenarios: DemandScenarios
    models: pd.DataFrame
    scores: pd.DataFrame
    candidates: pd.DataFrame
    freq: str
    origin: pd.Timestamp
    data_quality: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=DATA_QUALITY_COLUMNS))
    returns: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RETURN_COLUMNS))


def resolve_freq(data: DemandData, config: ForecastConfig) -> str:
    return config.freq or infer_freq(data.sales["date"])


def default_horizon(freq: str) -> int:
    """Periods in :data:`PLANNING_WEEKS` weeks at ``freq`` (at least one)."""
    start = pd.Timestamp("2024-01-01")
    end = start + pd.Timedelta(weeks=PLANNING_WEEKS)
    periods = len(pd.date_range(start, end, freq=freq, inclusive="right"))
    return max(periods, 1)


def resolve_horizon(config: ForecastConfig, freq: str) -> int:
    """The configured horizon, or :func:`default_horizon` when it is None."""
    return config.horizon or default_horizon(freq)


def origin_of(data: DemandData, freq: str, as_of: pd.Timestamp | str | None) -> pd.Timestamp:
    """The last complete period: the last sales period, or the one holding ``as_of``
    (the one before it when ``as_of`` falls inside a period that ends later)."""
    if data.sales.empty:
        raise DataContractError([Problem(source="sales", expected="at least one sales row")])
    if as_of is None:
        return pd.Timestamp(period_labels(pd.DatetimeIndex([data.sales["date"].max()]), freq)[0])
    as_of = pd.Timestamp(as_of).normalize()
    label = pd.Timestamp(period_labels(pd.DatetimeIndex([as_of]), freq)[0])
    if label > as_of:
        label = pd.date_range(end=label, periods=2, freq=freq)[0]
    first = pd.Timestamp(data.sales["date"].min())
    if label < pd.Timestamp(period_labels(pd.DatetimeIndex([first]), freq)[0]):
        raise DataContractError([Problem(
            source="sales", value=as_of.date().isoformat(),
            expected=f"an as-of date on or after the first sales date {first.date()} "
                     "(nothing was sold before it)")])
    return label


class Forecaster:
    """Fit every candidate on rolling windows and at the origin, then predict.

    ``products`` (optional) gives ``sku`` and ``category`` and/or ``launch_date``: categories
    let new SKUs borrow from similar ones and let category-wide promotions apply.

    Where the work runs is the caller's choice, not the config's: ``executor`` (any
    :class:`concurrent.futures.Executor`, e.g. a Dask ``client.get_executor()``) runs the
    per-series models in chunks of whole series (:mod:`forecasting.parallel`; None: in this
    process); ``n_jobs`` is LightGBM's thread count (-1: every core). The forecast is the same
    either way. ``trainer`` (:mod:`forecasting.training`; None: this process) fits the direct
    global LightGBM; no command passes another (LightGBM's data-parallel Dask fit was measured
    and not adopted, ``docs/scale-out.md``).
    """

    def __init__(self, config: ForecastConfig | None = None, executor: Executor | None = None,
                 n_jobs: int = -1, trainer: Trainer | None = None) -> None:
        self.config = config or ForecastConfig()
        self.executor = executor
        self.n_jobs = n_jobs
        self.trainer = trainer

    def prepare(self, data: DemandData, as_of: pd.Timestamp | str | None = None,
                products: pd.DataFrame | None = None,
                inventory: pd.DataFrame | None = None) -> Forecaster:
        """Build the panel and features (the first step of :meth:`fit`, no model fitting).

        ``inventory`` (optional, ``sku, on_hand``): stock at the origin, which tells a
        stockout (none on hand) from a listing problem (stock but no sales) in
        ``data_quality``."""
        cfg = self.config
        self.on_hand_ = on_hand_by_sku(inventory)
        self.stopped_ = stopped_skus(products)
        self.freq_ = resolve_freq(data, cfg)
        self.season_ = cfg.season_length or season_length(self.freq_)
        self.origin_ = origin_of(data, self.freq_, as_of)
        self.horizon_ = resolve_horizon(cfg, self.freq_)
        self.timings_: dict[str, float] = {}
        data = data.until(self.origin_ + pd.Timedelta(days=_days_in_period(self.freq_) - 1))
        categories, launches = _product_maps(products)
        self._learn_presales_and_returns(data, categories)
        panel = build_panel(data.sales, self.freq_, self.origin_, categories, launches)
        self.panel_ = panel
        with self._stage("features"):
            self.rows_, self.features_ = self._rows(panel, data)
        return self

    def _learn_presales_and_returns(self, data: DemandData,
                                    categories: dict[str, str] | None) -> None:
        """Deposits of the final-payment windows ahead (:mod:`forecasting.presales`) and
        the returns model (:mod:`forecasting.returns`); daily forecasts only."""
        daily = self.freq_ == "D"
        self.presales_ = upcoming_presales(data.presales if daily else data.presales.iloc[:0],
                                           data.sales, self.origin_)
        self.returns_model_ = fit_returns(data.returns if daily else data.returns.iloc[:0],
                                          data.sales, pd.Series(categories or {}, dtype=object),
                                          self.origin_)

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        """Add the CPU seconds of this process (all threads) spent in the block to
        ``timings_[name]``."""
        started = time.process_time()
        try:
            yield
        finally:
            spent = time.process_time() - started
            self.timings_[name] = self.timings_.get(name, 0.0) + spent

    def observed(self) -> pd.DataFrame:
        """History as sold: ``unique_id, sku, channel, ds, y, censored`` (after prepare)."""
        sold = self.panel_.history[["unique_id", "ds", "y"]]
        flags = self.rows_.loc[self.rows_["ds"] <= self.origin_, ["unique_id", "ds", "censored"]]
        out = sold.merge(flags, on=["unique_id", "ds"])
        return out.merge(self.panel_.series[["unique_id", "sku", "channel"]], on="unique_id")

    def fit(self, data: DemandData, as_of: pd.Timestamp | str | None = None,
            products: pd.DataFrame | None = None,
            inventory: pd.DataFrame | None = None) -> Forecaster:
        cfg = self.config
        self.prepare(data, as_of, products, inventory)
        min_history = cfg.min_history or 2 * self.season_
        history = self._until(self.origin_)
        self.classes_ = classify_demand(history, min_history)
        self.ets_ids_ = self._ets_ids(history)
        # Inner windows are at most a quarter long: a 140-day planning horizon would
        # otherwise push the first window's cutoff 280 days back.
        self.window_ = min(self.horizon_, default_horizon(self.freq_))
        cutoffs = [
            pd.date_range(end=self.origin_, periods=k * self.window_ + 1, freq=self.freq_)[0]
            for k in range(cfg.backtest_windows, 0, -1)
        ]
        # A window with hardly any history before it cannot be scored; with none left, every
        # series is too new to backtest and gets a flat rate (forecasting.coldstart).
        scored = [(k, cutoff) for k, cutoff in zip(range(cfg.backtest_windows, 0, -1), cutoffs,
                                                   strict=True) if backtestable(history, cutoff)]
        if not scored:
            return self._fit_cold_start(history)
        cutoffs = [cutoff for _, cutoff in scored]
        # One global fit before the first window serves every window (it has seen none of
        # them); the per-series models are cheap enough to refit at each cutoff.
        with self._stage("global model: set-up choice and window fit"):
            window_model = self._window_global(cutoffs)
        windows = []
        for k, cutoff in scored:
            frame = self._candidates(cutoff, window_model, self.window_)
            windows.append(frame.assign(window=k, cutoff=cutoff))
        self.window_forecasts_ = pd.concat(windows, ignore_index=True) if windows else None
        self.model_names_ = [c for c in self._candidates_cols(self.window_forecasts_)]
        with self._stage("model choice"):
            self.blend_, self.blend_scores_ = self._choose_blend()
            self.weights_ = self._weights(self._window_actuals(), self.blend_)
        with self._stage("calibration"):
            self._fit_uncertainty()
        with self._stage("global model: final fit"):
            final_model = self._fit_global(self.origin_)
        self.final_candidates_ = self._candidates(self.origin_, final_model, self.horizon_)
        return self

    # -- panel and features -------------------------------------------------------------

    def _rows(self, panel: Panel, data: DemandData) -> tuple[pd.DataFrame, list[str]]:
        cfg = self.config
        future = future_grid(panel.series, self.origin_, self.freq_, self.horizon_)
        rows = pd.concat([panel.history, future], ignore_index=True)
        rows = rows.sort_values(["unique_id", "ds"], ignore_index=True)
        features = build_features(rows[["unique_id", "ds"]], panel.series, data, self.freq_,
                                  cfg.max_event_names, sales_prices=False)
        rows = pd.concat([rows, features], axis=1)
        closed = rows["closed"].to_numpy() > 0 if "closed" in rows else False
        stockout = rows["stockout"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        rows["censored"] = (stockout | closed) & cfg.censor_stockouts
        rows["censored"] &= rows["ds"].le(self.origin_).to_numpy()
        rows["stockout"] = stockout
        history = rows["ds"] <= self.origin_
        self.data_quality_, suspected = suspected_stockouts(
            rows.loc[history, ["unique_id", "ds", "y", "censored"]], panel.series,
            _days_in_period(self.freq_), self.on_hand_, self.stopped_)
        rows.loc[history, "censored"] = rows.loc[history, "censored"].to_numpy() | (
            suspected & cfg.censor_stockouts)
        imputed = impute_censored(rows[history], window=4 * self.season_ if self.season_ < 20
                                  else self.season_ // 4)
        rows.loc[history, "y"] = imputed
        return rows, list(features.columns)

    def _until(self, cutoff: pd.Timestamp, rows: pd.DataFrame | None = None,
               wide: bool = False) -> pd.DataFrame:
        """The rows of ``rows`` (default: every row) up to ``cutoff``: with every column when
        ``wide`` (a global model's training rows), else only keys, demand, censoring and
        closures. The signal columns are most of a row's bytes, and the engine took up to
        five filtered copies of the whole table at once (the peak of its memory)."""
        rows = self.rows_ if rows is None else rows
        mask = (rows["ds"] <= cutoff).to_numpy()
        if wide:
            return rows[mask]
        narrow = [c for c in ("unique_id", "ds", "y", "censored", "stockout", "closed")
                  if c in rows]
        return rows.loc[mask, narrow]

    def _ets_ids(self, history: pd.DataFrame) -> list[str]:
        cfg = self.config
        if "auto_ets" not in cfg.stats_models or cfg.ets_max_series == 0:
            return []
        eligible = self.classes_[
            self.classes_["demand_class"].isin(["smooth", "erratic"])
            & (self.classes_["n_obs"] >= 2 * self.season_)
        ]["unique_id"]
        recent = history[history["ds"] > history["ds"].max() - 4 * self.season_ * _step(
            self.freq_)]
        volume = recent[recent["unique_id"].isin(eligible)].groupby("unique_id")["y"].sum()
        return list(volume.sort_values(ascending=False).index[: cfg.ets_max_series])

    # -- candidates ---------------------------------------------------------------------

    def _setups(self) -> list[GlobalSetup]:
        cfg = self.config
        if cfg.global_target is not None:
            return [GlobalSetup("configured", cfg.global_target, {}, cfg.train_history)]
        return candidate_setups(self.freq_, cfg.global_setups, cfg.train_history)

    def _direct(self, setup: GlobalSetup, trees: int | None) -> DirectGlobalModel:
        cfg = self.config
        params = {**DIRECT_DEFAULTS, "learning_rate": LEARNING_RATE, **setup.params,
                  **({"n_estimators": trees} if trees else {}), **cfg.lightgbm_params}
        return DirectGlobalModel(
            self.features_, self.freq_, self.season_, self.horizon_, params, cfg.seed,
            self.n_jobs, setup.train_history, setup.target, cfg.holiday_weight,
            max_rows=MAX_TRAIN_ROWS, trainer=self.trainer)

    def _window_global(self, cutoffs: list[pd.Timestamp]
                       ) -> GlobalModel | DirectGlobalModel | None:
        """The global model fitted before the first inner window, after choosing the set-up
        and the number of trees on the windows (:mod:`forecasting.setup`)."""
        cfg = self.config
        self.setup_scores_: dict[str, float] = {}
        self.unseen_peak_ = False
        self.trees_: int | None = None
        if not cfg.global_model:
            return None
        if cfg.global_strategy != "direct":
            return self._fit_global(cutoffs[0])
        fixed = "n_estimators" in cfg.lightgbm_params
        setups = self._setups()
        self.unseen_peak_ = len(setups) > 1 and unseen_peak(
            self.rows_, self.features_, self.origin_, cutoffs[0], self.window_, self.freq_)
        if self.unseen_peak_:
            setups = [s for s in setups if s.name in MEAN_SETUPS] or setups
        train = self._until(cutoffs[0], wide=True)
        sample = sample_series(train, SELECTION_ROWS, cfg.seed) if len(setups) > 1 else None
        rows = self.rows_ if sample is None else self.rows_[self.rows_["unique_id"].isin(sample)]
        windows = self._inner_windows(rows, cutoffs)
        chosen: tuple[float, GlobalSetup, DirectGlobalModel] | None = None
        for setup in setups:
            model = self._direct(setup, None if fixed else MAX_TREES).fit(
                train if sample is None else self._until(cutoffs[0], rows, wide=True),
                self.panel_.series,
                windows=() if fixed else windows, early_stopping_rounds=EARLY_STOPPING_ROUNDS)
            # One candidate needs no score (it saves predicting both windows once more).
            score = self._global_window_score(model, windows) if len(setups) > 1 else 0.0
            self.setup_scores_[setup.name] = score
            if chosen is None or score < chosen[0]:
                chosen = (score, setup, model)
        assert chosen is not None
        _, self.setup_, model = chosen
        self.trees_ = None if fixed else max(model.best_iteration_, MIN_TREES)
        if sample is None and (fixed or model.best_iteration_ >= MIN_TREES):
            return model
        return self._direct(self.setup_, self.trees_).fit(train, self.panel_.series)

    def _inner_windows(self, rows: pd.DataFrame, cutoffs: list[pd.Timestamp]
                       ) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
        step = _step(self.freq_)
        return [(self._until(c, rows),
                 rows[(rows["ds"] > c) & (rows["ds"] <= c + self.window_ * step)])
                for c in cutoffs]

    @staticmethod
    def _global_window_score(model: DirectGlobalModel,
                             windows: list[tuple[pd.DataFrame, pd.DataFrame]]) -> float:
        forecasts, actuals = [], []
        for known, ahead in windows:
            h = int(ahead["ds"].nunique())
            predicted = model.predict(known, ahead.drop(columns=["y"]), h)
            joined = predicted.merge(ahead[["unique_id", "ds", "y", "censored"]],
                                     on=["unique_id", "ds"])
            joined = joined[~joined["censored"].astype(bool)]
            forecasts.append(joined[GLOBAL_MODEL].to_numpy())
            actuals.append(joined["y"].to_numpy(dtype=float))
        return window_score(np.concatenate(forecasts), np.concatenate(actuals))

    def _fit_global(self, cutoff: pd.Timestamp) -> GlobalModel | DirectGlobalModel | None:
        cfg = self.config
        if not cfg.global_model:
            return None
        train = self._until(cutoff, wide=True)
        if cfg.global_strategy == "direct":
            return self._direct(self.setup_, self.trees_).fit(train, self.panel_.series)
        model = GlobalModel(self.features_, self.freq_, self.season_, cfg.lightgbm_params,
                            cfg.seed, self.n_jobs, cfg.train_history)
        return model.fit(train, self.panel_.series)

    def _candidates(self, cutoff: pd.Timestamp,
                    global_model: GlobalModel | DirectGlobalModel | None, h: int
                    ) -> pd.DataFrame:
        """Every candidate's forecast for the ``h`` periods after ``cutoff``."""
        cfg = self.config
        end = pd.date_range(cutoff, periods=h + 1, freq=self.freq_)[-1]
        # A direct model reads only demand over history (its signals come with ``ahead``).
        train = self._until(cutoff, wide=not isinstance(global_model, DirectGlobalModel)
                            and global_model is not None)
        alive = train["unique_id"].unique()
        ahead = self.rows_[(self.rows_["ds"] > cutoff) & (self.rows_["ds"] <= end)
                           & self.rows_["unique_id"].isin(alive)]
        stats_train = train
        if cfg.stats_history is not None:
            first = cutoff - cfg.stats_history * _step(self.freq_)
            stats_train = train[train["ds"] > first]
            stats_train = stats_train if not stats_train.empty else train
        names = [n for n in cfg.stats_models]
        with self._stage("per-series models"):
            frame = spread_stats_forecast(stats_train, h, self.freq_, self.season_, names,
                                          self.ets_ids_, cfg.ets_model, self.executor)
        if global_model is not None:
            with self._stage("global model: prediction"):
                frame = self._with_global(frame, global_model, train, ahead, h)
        if cfg.zero_on_closure and "closed" in ahead:
            open_share = 1.0 - frame[["unique_id", "ds"]].merge(
                ahead[["unique_id", "ds", "closed"]], on=["unique_id", "ds"], how="left"
            )["closed"].fillna(0.0).to_numpy()
            cols = self._candidates_cols(frame)
            frame[cols] = frame[cols].to_numpy() * open_share[:, None]
        return frame

    def _with_global(self, frame: pd.DataFrame,
                     global_model: GlobalModel | DirectGlobalModel,
                     train: pd.DataFrame, ahead: pd.DataFrame, h: int) -> pd.DataFrame:
        """Add the global model's forecast; carry its lift of each day's known events
        (promotions, livestreams, festivals, price cuts) over to the per-series models.

        The per-series models see no signals: a series on seasonal naive stayed flat through
        Double 11. The global model is predicted twice, with the day's signals and with
        them switched off (:func:`forecasting.features.neutral_values`); the ratio
        multiplies every per-series forecast of that day (1 on days without events). On a
        day whose events move demand by more than :data:`EVENT_DAY_LIFT` either way, every
        candidate takes the global model's forecast instead (see there).
        """
        if not isinstance(global_model, DirectGlobalModel):
            predicted = global_model.predict(train, ahead, h)
            return frame.merge(predicted, on=["unique_id", "ds"], how="left")
        design = global_model.future_design(train, ahead, h)
        mean = global_model.mean(design)
        neutral = neutral_values(self.features_)
        keys = design.keys.assign(**{GLOBAL_MODEL: mean})
        if neutral:
            base = global_model.mean(design, neutral=neutral, unchanged=mean)
            floor = pd.Series(base).groupby(design.keys["unique_id"].to_numpy()).transform(
                "mean").to_numpy() * 0.1 + 0.01
            keys["_lift"] = np.clip((mean + floor) / (base + floor), *_LIFT_BOUNDS)
        frame = frame.merge(keys, on=["unique_id", "ds"], how="left")
        if "_lift" in frame:
            lift = frame.pop("_lift").fillna(1.0).to_numpy()
            stats_cols = [c for c in self._candidates_cols(frame) if c != GLOBAL_MODEL]
            lifted = frame[stats_cols].to_numpy() * lift[:, None]
            event = np.abs(np.log(lift)) > np.log(EVENT_DAY_LIFT)
            own = frame[GLOBAL_MODEL].to_numpy(dtype="float64")[:, None]
            frame[stats_cols] = np.where(event[:, None] & ~np.isnan(own), own, lifted)
        return frame

    @staticmethod
    def _candidates_cols(frame: pd.DataFrame | None) -> list[str]:
        if frame is None:
            return []
        return [c for c in frame.columns if c not in ("unique_id", "ds", "window", "cutoff")]

    # -- choice -------------------------------------------------------------------------

    def _window_actuals(self) -> pd.DataFrame:
        """Window forecasts joined with the observed, uncensored actuals."""
        assert self.window_forecasts_ is not None
        actual = self.rows_[["unique_id", "ds", "y", "censored"]]
        joined = self.window_forecasts_.merge(actual, on=["unique_id", "ds"], how="inner")
        return joined[~joined["censored"]]

    def _choose_blend(self) -> tuple[str, dict[str, float]]:
        """The way of combining candidates that forecasts best out of sample.

        Weights chosen and scored on the same windows always flatter the per-series blend
        (on the sample brand it scored best in-window and trailed LightGBM alone: WAPE 0.486
        vs 0.430). So each of :data:`BLENDS` is cross-fitted: its weights are chosen on all
        windows but one and scored (WAPE + |bias|) on the one left out, for every window;
        the best total wins. A single best model is among them, so the blend never loses
        to its best candidate on these held-out scores. With one window there is nothing to
        hold out: the single best model is kept.
        """
        joined = self._window_actuals()
        windows = sorted(joined["window"].unique())
        if len(windows) < 2:
            return "single", {}
        scores = {}
        for blend in BLENDS:
            forecasts, actuals = [], []
            for held in windows:
                test = joined[joined["window"] == held]
                weights = self._weights(joined[joined["window"] != held], blend)
                forecasts.append(self._combine(test, weights))
                actuals.append(test["y"].to_numpy(dtype=float))
            scores[blend] = window_score(np.concatenate(forecasts), np.concatenate(actuals))
        return min(scores, key=lambda b: scores[b]), scores

    def _weights(self, joined: pd.DataFrame, blend: str = "per_series") -> pd.DataFrame:
        """Long frame ``unique_id, model, weight`` chosen on the window rows ``joined``:
        one model for all series (``single``), the best per demand class (``per_class``)
        or per series (``per_series``, :meth:`_series_weights`)."""
        models = self.model_names_
        ids = self.panel_.series["unique_id"]
        if not models:
            raise ValueError("at least one backtest window and one model are needed")
        y = joined["y"].to_numpy(dtype=float)
        overall = {m: window_score(joined[m].fillna(0.0).to_numpy(), y) for m in models}
        best = min(overall, key=lambda m: overall[m])
        if blend == "per_series":
            return self._series_weights(joined)
        choice = pd.Series(best, index=ids.to_numpy())
        if blend == "per_class":
            classes = self.classes_.set_index("unique_id")["demand_class"]
            cls_of_row = joined["unique_id"].map(classes).to_numpy()
            for cls in pd.unique(cls_of_row):
                rows = joined[cls_of_row == cls]
                if len(rows) < 50:
                    continue
                ry = rows["y"].to_numpy(dtype=float)
                scored = {m: window_score(rows[m].fillna(0.0).to_numpy(), ry) for m in models}
                members = classes.index[classes == cls]
                choice[choice.index.isin(members)] = min(scored, key=lambda m: scored[m])
        # A new series has too little history of its own for a per-series model, whichever
        # model wins overall; the global model forecasts it from its category and channel.
        new = self.classes_.loc[self.classes_["demand_class"] == "new", "unique_id"]
        if GLOBAL_MODEL in models:
            choice[choice.index.isin(new)] = GLOBAL_MODEL
        return pd.DataFrame({"unique_id": choice.index, "model": choice.to_numpy(),
                             "weight": 1.0})

    def _series_weights(self, joined: pd.DataFrame) -> pd.DataFrame:
        """Per series, chosen on the backtest windows.

        Models are ranked per series by squared error (the mean is what they forecast;
        absolute error would favour forecasts near zero on intermittent series), shrunk
        towards how each model does relative to the others on the series' demand class (a
        few weeks of a lumpy series rank models mostly by noise). The best model is then
        blended with the runner-up at the weight in ``_BLENDS`` whose window error is lowest.
        """
        models = self.model_names_
        ids = self.panel_.series["unique_id"]
        sq = pd.DataFrame({m: (joined[m] - joined["y"]) ** 2 for m in models})
        sq["unique_id"] = joined["unique_id"].to_numpy()
        per_series = sq.groupby("unique_id")[models].mean().reindex(ids)
        classes = self.classes_.set_index("unique_id")["demand_class"]
        # Series without window actuals (too new) follow their class's best model, or the
        # global model, which needs no history of the series itself.
        class_means = per_series.join(classes).groupby("demand_class")[models].mean()
        fallback = GLOBAL_MODEL if GLOBAL_MODEL in models else models[0]
        counts = sq.groupby("unique_id")[models[0]].size().reindex(ids).fillna(0)
        best_two = self._best_blends(joined, _shrink_to_class(per_series, classes, counts))
        rows = []
        for uid in per_series.index:
            cls = classes.get(uid, "new")
            if cls == "new" and GLOBAL_MODEL in models:
                rows.append((uid, GLOBAL_MODEL, 1.0))
            elif str(uid) in best_two:
                first, second, weight = best_two[str(uid)]
                rows.append((uid, first, weight))
                if weight < 1.0:
                    rows.append((uid, second, 1.0 - weight))
            else:
                # No model scored (no window actuals) or every model scored alike (all
                # exactly right on a series that sold nothing): the class's best model.
                choice = class_means.loc[cls].dropna() if cls in class_means.index else None
                best = str(choice.idxmin()) if choice is not None and len(choice) else fallback
                rows.append((uid, best, 1.0))
        return pd.DataFrame(rows, columns=["unique_id", "model", "weight"])

    def _best_blends(self, joined: pd.DataFrame, per_series: pd.DataFrame
                     ) -> dict[str, tuple[str, str, float]]:
        ranked = per_series.dropna(how="all")
        order = np.argsort(ranked.fillna(np.inf).to_numpy(), axis=1, kind="stable")
        names = np.asarray(self.model_names_)
        first = pd.Series(names[order[:, 0]], index=ranked.index)
        second = pd.Series(names[order[:, min(1, order.shape[1] - 1)]], index=ranked.index)
        # Rows of series no model scored (every forecast missing in the windows) have no
        # ranking to blend by; they follow their class (``_series_weights``).
        joined = joined[joined["unique_id"].isin(ranked.index)]
        rows = joined.assign(_first=joined["unique_id"].map(first),
                             _second=joined["unique_id"].map(second))
        values = rows[self.model_names_].to_numpy()
        cols = {m: i for i, m in enumerate(self.model_names_)}
        a = values[np.arange(len(rows)), rows["_first"].map(cols).to_numpy()]
        b = values[np.arange(len(rows)), rows["_second"].map(cols).to_numpy()]
        errors = pd.DataFrame({
            str(w): (w * a + (1 - w) * b - rows["y"].to_numpy()) ** 2 for w in _BLENDS
        }).groupby(rows["unique_id"].to_numpy()).mean()
        best_weight = errors.idxmin(axis=1).astype(float)
        if self.config.combine_top < 2:
            best_weight[:] = 1.0
        return {str(uid): (first[uid], second[uid], float(best_weight.get(uid, 1.0)))
                for uid in ranked.index}

    def _combine(self, frame: pd.DataFrame, weights: pd.DataFrame | None = None
                 ) -> np.ndarray:
        weights = self.weights_ if weights is None else weights
        wide = weights.pivot(index="unique_id", columns="model", values="weight")
        wide = wide.reindex(columns=self.model_names_).fillna(0.0)
        share = wide.reindex(frame["unique_id"]).fillna(0.0).to_numpy()
        values = frame[self.model_names_].fillna(0.0).to_numpy()
        return np.clip((share * values).sum(axis=1), 0.0, None)

    # -- uncertainty --------------------------------------------------------------------

    def _fit_uncertainty(self) -> None:
        cfg = self.config
        starts = self.panel_.series.set_index("unique_id")["start"]
        joined = settled_rows(self._window_actuals(), starts)
        classes = self.classes_.set_index("unique_id")["demand_class"]
        errors = joined[["unique_id", "ds", "window", "y"]].assign(
            mu=self._combine(joined), demand_class=joined["unique_id"].map(classes).to_numpy())
        self.window_errors_ = errors
        dispersion = estimate_dispersion(errors, prior_weight=float(self.window_))
        by_id = dispersion.set_index("unique_id")["alpha"]
        pooled = dispersion.groupby("demand_class")["alpha"].median()
        overall = float(dispersion["alpha"].median()) if len(dispersion) else 1.0
        alpha = classes.map(by_id).fillna(classes.map(pooled)).fillna(overall)
        # Spread first, then the median's location, then the spread again around it.
        errors = errors.assign(alpha=errors["unique_id"].map(alpha).to_numpy())
        first = calibrate_scale(errors, cfg.quantiles, seed=cfg.seed)
        alpha = alpha * classes.map(first).fillna(first["*"])
        errors = errors.assign(alpha=errors["unique_id"].map(alpha).to_numpy())
        self.location_ = calibrate_location(errors, seed=cfg.seed)
        location = classes.map(self.location_).fillna(self.location_["*"])
        shifted = errors.assign(mu=errors["mu"] * errors["unique_id"].map(location).to_numpy())
        self.calibration_ = calibrate_scale(shifted, cfg.quantiles, seed=cfg.seed)
        scale = classes.map(self.calibration_).fillna(self.calibration_["*"])
        self.alpha_ = alpha * scale
        self.quantile_location_ = location
        sku = self.panel_.series.set_index("unique_id")["sku"]
        errors = errors.assign(alpha=errors["unique_id"].map(self.alpha_).to_numpy(),
                               sku=errors["unique_id"].map(sku).to_numpy())
        self.dependence_: DependenceEstimate = estimate_dependence(errors)

    def _fit_cold_start(self, history: pd.DataFrame) -> Forecaster:
        """No backtest window has history before it: each series at its own rate shrunk
        towards its category on its channel, uncalibrated (see :mod:`forecasting.coldstart`)."""
        cfg = self.config
        series = self.panel_.series
        rates = cold_start_rates(history, series)
        ahead = self.rows_[self.rows_["ds"] > self.origin_]
        mu = ahead["unique_id"].map(rates).to_numpy(dtype=float)
        if cfg.zero_on_closure and "closed" in ahead:
            mu = mu * (1.0 - ahead["closed"].fillna(0.0).to_numpy(dtype=float))
        self.final_candidates_ = ahead[["unique_id", "ds"]].assign(
            **{COLD_START_MODEL: mu}).reset_index(drop=True)
        self.window_forecasts_ = self.final_candidates_.iloc[:0].assign(
            window=0, cutoff=pd.Series(dtype="datetime64[ns]"))
        self.model_names_ = [COLD_START_MODEL]
        self.weights_ = pd.DataFrame({"unique_id": series["unique_id"].to_numpy(),
                                      "model": COLD_START_MODEL, "weight": 1.0})
        self.blend_, self.blend_scores_ = "single", {}
        periods_ahead = len(ahead) // max(len(series), 1)
        self.alpha_ = cold_start_dispersion(history, rates, prior_weight=float(periods_ahead))
        self.quantile_location_ = pd.Series(1.0, index=rates.index)
        self.location_ = {"*": 1.0}
        self.calibration_ = {"*": 1.0}
        self.dependence_ = DependenceEstimate(0.0, 0.0)
        return self

    # -- prediction ---------------------------------------------------------------------

    def predict(self) -> ForecastResult:
        with self._stage("quantiles and sample paths"):
            return self._predict()

    def _predict(self) -> ForecastResult:
        cfg = self.config
        series = self.panel_.series.set_index("unique_id")
        final = self.final_candidates_.sort_values(["unique_id", "ds"], ignore_index=True)
        mu = self._combine(final)
        floor = deposit_floor(self.presales_, final, series, mu)
        mu = np.maximum(mu, floor)
        alpha = final["unique_id"].map(self.alpha_).to_numpy(dtype=float)
        levels = list(cfg.quantiles)
        location = final["unique_id"].map(self.quantile_location_).fillna(1.0).to_numpy()
        quantiles = np.maximum(nb_quantiles(mu * location, alpha, levels), floor[:, None])
        label = self._model_labels()
        channel = pd.DataFrame({
            "sku": final["unique_id"].map(series["sku"]).to_numpy(),
            "channel": final["unique_id"].map(series["channel"]).to_numpy(),
            "date": final["ds"].to_numpy(),
            "forecast": mu,
        })
        for i, level in enumerate(levels):
            channel[quantile_label(level)] = quantiles[:, i]
        channel["model"] = final["unique_id"].map(label).to_numpy()
        scenarios = floor_paths(self._scenarios(final, mu, alpha), final, series, floor)
        return ForecastResult(
            channel=channel,
            sku=self._sku_frame(channel, scenarios, levels),
            scenarios=scenarios,
            models=self._models_frame(label),
            scores=self._scores(),
            candidates=final.assign(
                sku=final["unique_id"].map(series["sku"]).to_numpy(),
                channel=final["unique_id"].map(series["channel"]).to_numpy(),
                forecast=mu, dispersion=alpha),
            freq=self.freq_,
            origin=self.origin_,
            data_quality=self.data_quality_,
            returns=expected_returns(self.returns_model_, channel),
        )

    def _model_labels(self) -> pd.Series:
        ordered = self.weights_.sort_values(["unique_id", "weight"], ascending=[True, False])
        return ordered.groupby("unique_id")["model"].agg("+".join)

    def _scenarios(self, final: pd.DataFrame, mu: np.ndarray, alpha: np.ndarray
                   ) -> DemandScenarios:
        h = self.horizon_
        ids = final["unique_id"].to_numpy()[::h]
        sku_of = self.panel_.series.set_index("unique_id")["sku"]
        skus = pd.Index(sorted(sku_of.unique()))
        dates = pd.DatetimeIndex(final["ds"].iloc[:h])
        return sample_sku_paths(
            mu.reshape(len(ids), h), alpha[::h], skus.get_indexer(sku_of.reindex(ids)), skus,
            dates, self.dependence_, self.config.n_paths, self.config.seed)

    @staticmethod
    def _sku_frame(channel: pd.DataFrame, scenarios: DemandScenarios, levels: list[float]
                   ) -> pd.DataFrame:
        means = channel.groupby(["sku", "date"], as_index=False)["forecast"].sum()
        quantiles = np.quantile(scenarios.paths, levels, axis=1)  # (q, sku, h)
        frame = pd.DataFrame({
            "sku": np.repeat(scenarios.skus.to_numpy(), len(scenarios.dates)),
            "date": np.tile(scenarios.dates.to_numpy(), len(scenarios.skus)),
        })
        for i, level in enumerate(levels):
            frame[quantile_label(level)] = quantiles[i].reshape(-1)
        frame = means.merge(frame, on=["sku", "date"], how="left")
        cols = [quantile_label(q) for q in levels]
        frame[cols] = np.maximum.accumulate(frame[cols].to_numpy(), axis=1)
        return frame

    def _models_frame(self, label: pd.Series) -> pd.DataFrame:
        series = self.panel_.series[["unique_id", "sku", "channel", "category"]]
        weights = self.weights_.assign(
            text=self.weights_["model"] + ":" + self.weights_["weight"].round(3).astype(str))
        joined = self._window_actuals().assign(mu=lambda f: self._combine(f))
        score = joined.assign(abs_err=(joined["mu"] - joined["y"]).abs()).groupby(
            "unique_id").agg(abs_err=("abs_err", "sum"), y=("y", "sum"), n=("y", "size"))
        frame = series.merge(self.classes_, on="unique_id", how="left")
        frame["model"] = frame["unique_id"].map(label)
        frame["weights"] = frame["unique_id"].map(
            weights.groupby("unique_id")["text"].agg(",".join))
        frame["backtest_mae"] = frame["unique_id"].map(score["abs_err"] / score["n"])
        frame["backtest_wape"] = frame["unique_id"].map(
            score["abs_err"] / score["y"].replace(0, np.nan))
        frame["dispersion"] = frame["unique_id"].map(self.alpha_)
        return frame

    def _scores(self) -> pd.DataFrame:
        joined = self._window_actuals()
        joined = joined.assign(combination=self._combine(joined), _all="all")
        scale = seasonal_scale(self._until(self.origin_), self.season_)
        return point_metrics(joined, [*self.model_names_, "combination"], scale, by=["_all"]
                             ).drop(columns="_all")


def forecast(data: DemandData, config: ForecastConfig | None = None,
             as_of: pd.Timestamp | str | None = None,
             products: pd.DataFrame | None = None, *, executor: Executor | None = None,
             n_jobs: int = -1, inventory: pd.DataFrame | None = None,
             trainer: Trainer | None = None) -> ForecastResult:
    """Fit and predict in one call (see :class:`Forecaster`)."""
    forecaster = Forecaster(config, executor=executor, n_jobs=n_jobs, trainer=trainer)
    return forecaster.fit(data, as_of=as_of, products=products, inventory=inventory).predict()


def _shrink_to_class(per_series: pd.DataFrame, classes: pd.Series, counts: pd.Series
                     ) -> pd.DataFrame:
    """Per-series errors relative to the series' mean over models, averaged with the same
    ratios pooled over the series' demand class (as many pseudo-rows as the series has)."""
    relative = per_series.div(per_series.mean(axis=1).replace(0.0, np.nan), axis=0)
    pooled = relative.groupby(classes.reindex(relative.index)).mean()
    prior = pooled.reindex(classes.reindex(relative.index)).set_axis(relative.index)
    weight = (counts / (counts + counts.median())).to_numpy()[:, None]
    shrunk = weight * relative.to_numpy() + (1 - weight) * prior.to_numpy()
    out = pd.DataFrame(shrunk, index=per_series.index, columns=per_series.columns)
    return out.where(per_series.notna())


def _step(freq: str) -> BaseOffset:
    return pd.tseries.frequencies.to_offset(freq)


def _days_in_period(freq: str) -> int:
    name = _step(freq).name
    return 7 if name.startswith("W") else 1


def _product_maps(products: pd.DataFrame | None
                  ) -> tuple[dict[str, str] | None, dict[str, pd.Timestamp] | None]:
    if products is None or products.empty:
        return None, None
    categories = launches = None
    if "category" in products and products["category"].notna().any():
        known = products.dropna(subset=["category"])
        categories = dict(zip(known["sku"].astype(str), known["category"].astype(str),
                              strict=True))
    if "launch_date" in products and products["launch_date"].notna().any():
        known = products.dropna(subset=["launch_date"])
        launches = dict(zip(known["sku"].astype(str), pd.to_datetime(known["launch_date"]),
                            strict=True))
    return categories, launches
