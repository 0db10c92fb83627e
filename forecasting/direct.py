"""A direct global LightGBM: one model for every horizon step, no prediction fed back.

Every feature of a row is known ``h`` periods before it (``h`` = the horizon): the signal
features (planned in advance), calendar, a time index, distance to closures, and history
features read at least ``h`` periods back (the series' recent level, its level a year
earlier and the same season last year). A recursive model compounds its own errors over a
long horizon and must impute lags across closed days; this one does neither.

Demand is modelled relative to the series' level: with ``target="scaled"`` the target is
``y / level`` with rows weighted by ``level`` (for a Poisson or Tweedie objective that is a
count model with ``log(level)`` as offset, so means stay unbiased), and the livestream plan
enters as ``planned units / level``, so a 20x livestream on a small SKU and on a big one look
alike. ``target="log1p"`` fits squared error on ``log1p(y)`` (a median-like forecast suited to
large smooth series); ``target="raw"`` fits ``y`` itself.

A SKU launched this spring has no year-ago history of its own, so nothing told the model
that its category's demand rises 25% from October to December: ``category_season``
(:func:`category_season`) gives every row the ratio its category's demand moved by, a year
earlier, from the level window to the target day. Measured 2026-12-03 (docs/benchmarks.md,
"Category season"): the sample brand's WAPE at three origins 0.452 -> 0.449, bias -0.075 ->
-0.008, livestream lift 27.2 -> 32.2 (true 33.2), Double 11 day 0.93 -> 0.97 of truth;
Rossmann 0.0809 -> 0.0801; cheese unchanged. Dividing every history feature by the level as
well (scale-free copies) reached 0.438 on the sample brand but cost Rossmann 0.0034 and
cheese 0.011 of WAPE; five of them, 0.443 and a livestream lift 14% high: not kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecasting.frequency import is_weekly
from forecasting.models import GLOBAL_MODEL
from forecasting.training import EvalSet, Trainer, train_local

__all__ = ["DIRECT_DEFAULTS", "DIRECT_TARGETS", "DirectGlobalModel", "FutureDesign",
           "category_season", "direct_leads", "history_features"]

DIRECT_TARGETS = ("scaled", "log1p", "raw")
DIRECT_DEFAULTS: dict[str, Any] = {
    "objective": "tweedie",
    "tweedie_variance_power": 1.1,
    "n_estimators": 200,
    "learning_rate": 0.08,
    "num_leaves": 31,
    "min_child_samples": 40,
    "subsample": 0.5,
    "subsample_freq": 1,
    "colsample_bytree": 0.6,
    "max_bin": 63,
    "verbosity": -1,
}
_STATICS = ("channel", "category")
_CLOSURE_CAP = 30.0
_EPOCH = pd.Timestamp("2000-01-03")  # a Monday
_MIN_SCALE = 0.05


def _first_of_row(codes: np.ndarray) -> np.ndarray:
    """Position of the first row of each row's series (rows grouped by series)."""
    new = np.r_[True, codes[1:] != codes[:-1]]
    starts = np.flatnonzero(new)
    return starts[np.cumsum(new) - 1]


def _window_mean(values: np.ndarray, first: np.ndarray, lag: int, window: int,
                 at: np.ndarray | None = None) -> np.ndarray:
    """Mean of the non-NaN ``values`` from ``lag + window - 1`` to ``lag`` rows back within
    the series, at the row positions ``at`` (all rows if None); NaN where there are none."""
    known = ~np.isnan(values)
    csum = np.r_[0.0, np.cumsum(np.where(known, values, 0.0))]
    ccount = np.r_[0.0, np.cumsum(known)]
    rows = np.arange(len(values)) if at is None else at
    hi = rows - lag
    lo = np.maximum(hi - window + 1, first[rows])
    ok = hi >= first[rows]
    hi_c, lo_c = np.where(ok, hi + 1, 0), np.where(ok, lo, 0)
    total = csum[hi_c] - csum[lo_c]
    count = ccount[hi_c] - ccount[lo_c]
    return np.divide(total, count, out=np.full(len(rows), np.nan), where=ok & (count > 0))


def _distance_to_flag(flag: np.ndarray, codes: np.ndarray, backward: bool) -> np.ndarray:
    """Rows since (or, ``backward``, until) the nearest flagged row of the same series,
    capped: Rossmann stores sell more the day before and after a closure."""
    position = pd.Series(np.arange(len(flag), dtype=float))
    marked = position.where(flag)
    grouped = marked.groupby(codes)
    nearest = grouped.bfill() if backward else grouped.ffill()
    return (nearest - position).abs().fillna(_CLOSURE_CAP).clip(upper=_CLOSURE_CAP).to_numpy()


def _calendar(ds: pd.Series, weekly: bool) -> dict[str, np.ndarray]:
    out = {
        "month": ds.dt.month.to_numpy(),
        "day": ds.dt.day.to_numpy(),
        "weekofyear": ds.dt.isocalendar().week.to_numpy(dtype="int64"),
    }
    if not weekly:
        out["dayofweek"] = ds.dt.dayofweek.to_numpy()
        out["dayofyear"] = ds.dt.dayofyear.to_numpy()
    return out


def history_features(rows: pd.DataFrame, horizon: int, freq: str, season: int,
                     max_lead: int | None = None, at: np.ndarray | None = None
                     ) -> pd.DataFrame:
    """Features of ``rows`` (``unique_id, ds, y`` sorted by series then date, contiguous;
    ``y`` NaN where unknown or censored) read at least ``horizon`` periods back.

    ``max_lead`` (default ``horizon``) fixes the set of columns, so designs built for
    different leads of one model line up; a lag shorter than ``horizon`` is NaN. ``at``
    (positions in ``rows``) computes the features of those rows only: a forecast needs ``h``
    of ~900 rows per series, and every row's features had cost the default brand ~10 s.
    """
    weekly = is_weekly(freq)
    max_lead = max(max_lead or horizon, horizon)
    codes = pd.factorize(rows["unique_id"], sort=False)[0]
    first = _first_of_row(codes)
    y = rows["y"].to_numpy(dtype="float64")
    at = np.arange(len(y)) if at is None else np.asarray(at)
    year = 52 if weekly else 364
    recent = 13 if weekly else 28

    def mean(lag: int, window: int) -> np.ndarray:
        return _window_mean(y, first, lag, window, at)

    out: dict[str, np.ndarray] = {
        "level": mean(horizon, recent),
        "level_long": mean(horizon, year),
        "level_short": mean(horizon, 4 if weekly else 7),
    }
    if year > max_lead:
        half = 1 if weekly else 3
        out["year_ago"] = mean(year - half, 2 * half + 1)
        out["level_year_ago"] = mean(year + horizon, recent)
        out["year_ago_scaled"] = out["year_ago"] * _growth(out["level"], out["level_year_ago"])
    nan = np.full(len(at), np.nan)
    if weekly:
        out["lag_lead"] = mean(horizon, 1)
        out["lag_lead1"] = mean(horizon + 1, 1)
        for lag in (51, 52, 53, 104):
            out[f"lag{lag}"] = mean(lag, 1) if lag >= horizon else nan
    elif season > 1:
        # The same weekday (season position) over the last four seasons known h back.
        k = -(-horizon // season)
        seasons = np.column_stack([mean(season * (k + i), 1) for i in range(4)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all four unknown: NaN
            out["same_season"] = np.nanmean(seasons, axis=1)
    return pd.DataFrame(out, index=rows.index[at])


def category_season(rows: pd.DataFrame, category: np.ndarray, lead_of_row: np.ndarray,
                    at: np.ndarray, freq: str) -> np.ndarray:
    """How the category's demand moved, a year earlier, from the level window to the target
    period: the seasonal ratio a new SKU of that category has no history to show.

    Each series' demand is divided by its own mean over ``rows`` (so a big SKU, a launch or a
    discontinuation barely moves the index) and averaged per category and period into an
    index ``I``. For the row at position ``p`` (period ``t``, lead ``h``) the value is the
    mean of ``I`` over ``t - year`` (+-3 days, +-1 week) over its mean over the level window
    a year earlier (``recent`` periods ending at ``t - year - h``): what the target over
    ``level`` was a year ago for the category. NaN where the index does not reach back.

    ``rows`` is ordered by series then date (``y`` NaN where unknown); ``category`` holds each
    row's category code, ``lead_of_row`` each row's lead, ``at`` the rows wanted.
    """
    weekly = is_weekly(freq)
    year, half, recent = (52, 1, 13) if weekly else (364, 3, 28)
    step = np.timedelta64(7 if weekly else 1, "D")
    ds = rows["ds"].to_numpy(dtype="datetime64[ns]")
    period = ((ds - ds.min()) // step).astype(np.int64)
    n_periods = int(period.max()) + 1 if len(period) else 0
    y = rows["y"].to_numpy(dtype="float64")
    codes = pd.factorize(rows["unique_id"], sort=False)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        own_mean = pd.Series(y).groupby(codes).transform("mean").to_numpy()
        normal = np.where(own_mean > 0, y / own_mean, np.nan)
    known = ~np.isnan(normal)
    cat = np.asarray(category, dtype=np.int64)
    n_cat = int(cat.max()) + 1 if len(cat) else 0
    flat = cat * n_periods + period
    total = np.bincount(flat[known], weights=normal[known], minlength=n_cat * n_periods)
    count = np.bincount(flat[known], minlength=n_cat * n_periods).astype("float64")
    csum = np.hstack([np.zeros((n_cat, 1)), np.cumsum(total.reshape(n_cat, n_periods), 1)])
    ccount = np.hstack([np.zeros((n_cat, 1)), np.cumsum(count.reshape(n_cat, n_periods), 1)])

    def mean(c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        ok = lo >= 0
        lo_c, hi_c = np.clip(lo, 0, n_periods), np.clip(hi + 1, 0, n_periods)
        n = np.where(ok, ccount[c, hi_c] - ccount[c, lo_c], 0.0)
        s = csum[c, hi_c] - csum[c, lo_c]
        return np.divide(s, n, out=np.full(len(c), np.nan), where=n > 0)

    c, t, h = cat[at], period[at], np.asarray(lead_of_row)[at]
    target = mean(c, t - year - half, t - year + half)
    level = mean(c, t - year - h - recent + 1, t - year - h)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(level > 0, target / level, np.nan)
    return np.clip(ratio, 0.2, 5.0)


def direct_leads(horizon: int, freq: str) -> tuple[int, ...]:
    """The leads one direct model is trained for: about 2, 6 and 13 weeks and the horizon.

    A single lead equal to the horizon reads every history feature ``horizon`` periods
    back, so with a 140-day planning horizon the forecast of tomorrow would rest on a level
    140 days old. Each training row gets one of these leads at random (no extra rows) and
    ``lead`` is a feature; a forecast step uses the shortest lead that covers it.
    """
    weeks = (2, 6, 13) if is_weekly(freq) else (14, 42, 91)
    return tuple(sorted({w for w in weeks if w < horizon} | {horizon}))


def _growth(level: np.ndarray, before: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (level + 1.0) / (before + 1.0)
    return np.clip(ratio, 0.5, 2.0)


def _neutralised(X: pd.DataFrame, neutral: Mapping[str, float]
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    """``X`` with the ``neutral`` values and the mask of the rows that changed."""
    X = X.copy()
    changed = np.zeros(len(X), dtype=bool)
    for name, value in neutral.items():
        if name in X:
            changed |= X[name].to_numpy(dtype="float64") != value
            X[name] = value
    if "live_intensity" in X and "live_planned_units" in neutral:
        changed |= X["live_intensity"].to_numpy(dtype="float64") != 0.0
        X["live_intensity"] = 0.0
    return X, changed


@dataclass(frozen=True)
class FutureDesign:
    """The model inputs of the periods to forecast, built once and predicted several times
    (at several tree counts, with and without the day's signals)."""

    keys: pd.DataFrame
    X: pd.DataFrame


class DirectGlobalModel:
    """Direct LightGBM over all series (same interface as the recursive ``GlobalModel``).

    ``fit`` takes rows ``unique_id, ds, y, censored`` plus the signal ``features`` up to a
    cutoff; ``predict`` forecasts the ``h`` periods after any later cutoff from the history
    given (the history features are rebuilt there), so one fit serves every backtest window.
    """

    def __init__(self, features: Sequence[str], freq: str, season: int, horizon: int,
                 params: dict[str, Any], seed: int, n_jobs: int,
                 train_history: int | None = None, target: str = "scaled",
                 holiday_weight: float = 1.0, max_rows: int | None = None,
                 trainer: Trainer | None = None) -> None:
        self.features = list(features)
        self.freq = freq
        self.season = season
        self.horizon = horizon
        self.params = params
        self.seed = seed
        self.n_jobs = n_jobs
        self.train_history = train_history
        self.target = target
        self.holiday_weight = holiday_weight
        self.max_rows = max_rows
        self.trainer = trainer or train_local  # where it trains (forecasting.training)
        self.leads = direct_leads(horizon, freq)

    def _history(self, rows: pd.DataFrame, lead_of_row: np.ndarray, keep: np.ndarray
                 ) -> pd.DataFrame:
        """History features of the rows at positions ``keep``, each read ``lead_of_row``
        periods back."""
        out: np.ndarray | None = None
        columns: list[str] = []
        leads = lead_of_row[keep]
        for lead in self.leads:
            mask = leads == lead
            if not mask.any():
                continue
            part = history_features(rows, lead, self.freq, self.season, self.horizon,
                                    at=keep[mask])
            if out is None:
                columns = list(part.columns)
                out = np.full((len(keep), len(columns)), np.nan)
            out[mask] = part.to_numpy()
        if out is None:
            part = history_features(rows.iloc[:0], self.horizon, self.freq, self.season)
            return pd.DataFrame(columns=part.columns, index=rows.index[keep], dtype=float)
        return pd.DataFrame(out, columns=columns, index=rows.index[keep])

    def _design(self, rows: pd.DataFrame, lead_of_row: np.ndarray, keep: np.ndarray,
                signals: pd.DataFrame | None = None, at: np.ndarray | None = None
                ) -> pd.DataFrame:
        """Model inputs for the rows at positions ``keep`` of ``rows`` (whole series, history
        with ``y`` masked where censored or unknown). History features need every row; the
        rest is built for the kept rows only (a forecast keeps ``h`` of ~900 rows per series:
        building everything for all of them took a quarter of the sample brand's CPU).

        The signal features come from ``rows`` at ``keep``, or from ``signals`` at positions
        ``at`` (a forecast's future rows), so the history need not carry them: each copy of
        the wide history had cost ~100 bytes a row, ~1 GB at 10,000 series."""
        weekly = is_weekly(self.freq)
        history = self._history(rows, lead_of_row, keep)
        closure: dict[str, np.ndarray] = {}
        if "closed" in self.features:
            codes = pd.factorize(rows["unique_id"], sort=False)[0]
            closed = rows["closed"].to_numpy() > 0
            closure["since_closed"] = _distance_to_flag(closed, codes, backward=False)[keep]
            closure["until_closed"] = _distance_to_flag(closed, codes, backward=True)[keep]
        source, where = (rows, keep) if signals is None else (signals, at)
        ds = pd.Series(rows["ds"].to_numpy()[keep], index=history.index)
        ids = rows["unique_id"].to_numpy()[keep]
        frame = pd.DataFrame({f: source[f].to_numpy()[where] for f in self.features},
                             index=history.index)
        for name, values in _calendar(ds, weekly).items():
            frame[name] = values
        step = 7 if weekly else 1
        frame["t"] = ((ds - _EPOCH).dt.days // step).to_numpy()
        frame = pd.concat([frame, history], axis=1)
        frame["lead"] = lead_of_row[keep]
        scale = self._scale(frame)
        frame["category_season"] = category_season(
            rows, self._category_codes(rows), lead_of_row, keep, self.freq)
        for name, values in closure.items():
            frame[name] = values
        if "live_planned_units" in frame:
            frame["live_intensity"] = frame["live_planned_units"].to_numpy() / scale
        statics = self.statics_.reindex(ids)
        frame["series"] = pd.Categorical(ids.astype(str), categories=self.categories_["series"])
        for col in _STATICS:
            frame[col] = pd.Categorical(statics[col].fillna("unknown").astype(str).to_numpy(),
                                        categories=self.categories_[col])
        frame["_scale"] = scale
        return frame

    def _category_codes(self, rows: pd.DataFrame) -> np.ndarray:
        """Each row's category as a code (series without one share the code "unknown")."""
        names = self.categories_["category"]
        category = self.statics_["category"].reindex(rows["unique_id"].to_numpy())
        codes = pd.Categorical(category.fillna("unknown").astype(str), categories=names).codes
        return np.where(codes < 0, len(names), codes).astype(np.int64)

    @staticmethod
    def _scale(frame: pd.DataFrame) -> np.ndarray:
        """The series level the target is divided by: recent, else long-run, else a floor."""
        level = frame["level"].to_numpy()
        long = frame["level_long"].to_numpy()
        scale = np.where(np.isnan(level), long, np.fmax(level, 0.5 * np.nan_to_num(long)))
        return np.fmax(np.nan_to_num(scale, nan=_MIN_SCALE), _MIN_SCALE)

    def _known(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` with ``y`` NaN where censored; a shallow copy (the other columns are
        shared, not copied)."""
        censored = rows["censored"].to_numpy(dtype=bool)
        out = rows.copy(deep=False)
        out["y"] = np.where(censored, np.nan, rows["y"].to_numpy(dtype="float64"))
        return out

    def _narrow(self, rows: pd.DataFrame) -> list[str]:
        """The columns of ``rows`` a forecast reads over history: keys, demand, censoring
        and closures."""
        wanted = ["unique_id", "ds", "y", "censored", *(["closed"] if "closed" in self.features
                                                         else [])]
        return [c for c in wanted if c in rows]

    def fit(self, history: pd.DataFrame, statics: pd.DataFrame,
            windows: Sequence[tuple[pd.DataFrame, pd.DataFrame]] = (),
            early_stopping_rounds: int = 40) -> DirectGlobalModel:
        """Train on ``history``; with ``windows`` (pairs of the history known at a later
        cutoff and the rows ``unique_id, ds, y, censored`` + features after it), stop adding
        trees once their error has not improved for ``early_stopping_rounds`` rounds."""
        if self.target not in DIRECT_TARGETS:
            raise ValueError(f"unknown target {self.target!r}; expected one of {DIRECT_TARGETS}")
        self.statics_ = statics.set_index("unique_id")
        self.categories_ = {
            col: sorted(statics[col].fillna("unknown").astype(str).unique()) for col in _STATICS
        }
        self.categories_["series"] = sorted(statics["unique_id"].astype(str).unique())
        rows = self._known(history)
        keep = ~np.isnan(rows["y"].to_numpy())
        if self.train_history is not None:
            step = pd.tseries.frequencies.to_offset(self.freq)
            keep &= (rows["ds"] > rows["ds"].max() - self.train_history * step).to_numpy()
        # Half the zero-sales rows, weighted double: the same expected loss for less work
        # on catalogues where most series are intermittent.
        rng = np.random.default_rng(self.seed)
        zero = rows["y"].to_numpy() == 0
        keep &= ~(zero & (rng.random(len(rows)) < 0.5))
        lead_of_row = rng.choice(np.asarray(self.leads), size=len(rows))
        chosen = self._capped(np.flatnonzero(keep))
        X = self._design(rows, lead_of_row, chosen)
        y = rows["y"].to_numpy()[chosen]
        scale = X["_scale"].to_numpy()
        weight = np.where(zero[chosen], 2.0, 1.0)
        if self.holiday_weight != 1.0 and "holiday_on" in X:
            weight = weight * np.where(X["holiday_on"].to_numpy() > 0, self.holiday_weight, 1.0)
        target, target_weight = self._transform(y, scale)
        weight = weight * target_weight
        self.columns_ = [c for c in X.columns if c != "_scale"]
        params = {**DIRECT_DEFAULTS, **({"objective": "regression"}
                                        if self.target == "log1p" else {}), **self.params,
                  "random_state": self.seed, "n_jobs": self.n_jobs if self.n_jobs > 0 else 0}
        if params.get("objective") != "tweedie":
            params.pop("tweedie_variance_power", None)
        valid: EvalSet | None = None
        if windows:
            valid_X, valid_y, valid_w = self._validation(windows)
            if len(valid_y):  # stops on the objective's own metric (train_local)
                valid = EvalSet(valid_X[self.columns_], valid_y, valid_w, early_stopping_rounds)
        self.model_ = self.trainer(X[self.columns_], target, weight, params, valid)
        best = getattr(self.model_, "best_iteration_", None)
        self.best_iteration_ = int(best) if best else int(params.get("n_estimators", 100))
        return self

    def _transform(self, y: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.target == "scaled":
            return y / scale, scale
        if self.target == "log1p":
            return np.log1p(y), np.ones(len(y))
        return y, np.ones(len(y))

    def _capped(self, chosen: np.ndarray) -> np.ndarray:
        """At most ``max_rows`` of the training rows ``chosen``, drawn evenly at random (own
        stream: under the cap nothing changes). Training costs grow with rows; a brand past
        the cap trains on a uniform share of every series' rows, the loss scaled alike."""
        if self.max_rows is None or len(chosen) <= self.max_rows:
            return chosen
        rng = np.random.default_rng([self.seed, 1])
        return np.sort(rng.choice(chosen, size=self.max_rows, replace=False))

    def _validation(self, windows: Sequence[tuple[pd.DataFrame, pd.DataFrame]]
                    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        designs, targets, weights = [], [], []
        windows = [self._fewer_series(known, ahead) for known, ahead in windows]
        for known, ahead in windows:
            h = int(ahead["ds"].nunique())
            design = self.future_design(known, ahead.drop(columns=["y"]), h)
            truth = design.keys.merge(
                ahead[["unique_id", "ds", "y", "censored"]].astype({"unique_id": str}),
                on=["unique_id", "ds"], how="left")
            ok = (truth["y"].notna() & ~truth["censored"].fillna(True).astype(bool)).to_numpy()
            y = truth["y"].to_numpy(dtype="float64")[ok]
            target, weight = self._transform(y, design.X["_scale"].to_numpy()[ok])
            designs.append(design.X[ok])
            targets.append(target)
            weights.append(weight)
        return pd.concat(designs), np.concatenate(targets), np.concatenate(weights)

    def _fewer_series(self, known: pd.DataFrame, ahead: pd.DataFrame
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """A window for early stopping with at most ``max_rows / 4`` rows ahead: whole series
        at random when there are more (the window designs of 10,000 series took ~1 GB)."""
        limit = None if self.max_rows is None else self.max_rows // 4
        if limit is None or len(ahead) <= limit:
            return known, ahead
        ids = ahead["unique_id"].unique()
        rng = np.random.default_rng([self.seed, 2])
        share = limit / len(ahead)
        picked = rng.choice(ids, size=max(1, int(len(ids) * share)), replace=False)
        return (known[known["unique_id"].isin(picked)],
                ahead[ahead["unique_id"].isin(picked)])

    @property
    def n_trees(self) -> int:
        return int(self.model_.booster_.num_trees())

    def future_design(self, history: pd.DataFrame, future: pd.DataFrame, h: int
                      ) -> FutureDesign:
        """Inputs of the ``h`` periods after the end of ``history`` (features in ``future``),
        each step at the shortest trained lead that covers it."""
        if h > self.horizon:
            raise ValueError(f"a direct model fitted for {self.horizon} periods cannot "
                             f"forecast {h}")
        context = 2 * (104 if is_weekly(self.freq) else 371) + self.horizon
        recent = history[self._narrow(history)].groupby("unique_id", sort=False).tail(context)
        recent = self._known(recent).assign(_at=-1)
        ahead = future[[c for c in recent.columns if c in future and c not in ("y", "censored")]]
        ahead = ahead.assign(y=np.nan, censored=False, _at=np.arange(len(future)))
        rows = pd.concat([recent, ahead.reindex(columns=recent.columns)],
                         ignore_index=True).sort_values(
            ["unique_id", "ds"], ignore_index=True)
        cutoff = history["ds"].max()
        steps = pd.date_range(cutoff, periods=self.horizon + 1, freq=self.freq)
        step_of_row = np.clip(steps.get_indexer(pd.DatetimeIndex(rows["ds"])), 1, self.horizon)
        leads = np.asarray(self.leads)
        lead_of_row = leads[np.searchsorted(leads, step_of_row)]
        wanted = (rows["ds"] > cutoff).to_numpy()
        keep = np.flatnonzero(wanted)
        design = self._design(rows, lead_of_row, keep, signals=future,
                              at=rows["_at"].to_numpy()[keep])
        keys = pd.DataFrame({"unique_id": rows["unique_id"].to_numpy()[wanted].astype(str),
                             "ds": rows["ds"].to_numpy()[wanted]})
        return FutureDesign(keys, design)

    def mean(self, design: FutureDesign, num_iteration: int | None = None,
             neutral: Mapping[str, float] | None = None,
             unchanged: np.ndarray | None = None) -> np.ndarray:
        """Mean forecast of ``design`` with the first ``num_iteration`` trees (all if None);
        ``neutral`` replaces signal features (the day without its events).

        ``unchanged`` (the forecast of ``design`` as it is, same trees) is reused for the rows
        that ``neutral`` leaves as they are, so only days with an event are predicted again:
        the neutral pass had cost as much as the forecast itself (a fifth of the default
        brand's CPU)."""
        if not neutral:
            return self._predict(design.X, num_iteration)
        X, changed = _neutralised(design.X, neutral)
        if unchanged is None:
            return self._predict(X, num_iteration)
        full = np.array(unchanged, dtype="float64", copy=True)
        full[changed] = self._predict(X[changed], num_iteration)
        return full

    def _predict(self, X: pd.DataFrame, num_iteration: int | None) -> np.ndarray:
        if X.empty:
            return np.zeros(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = self.model_.predict(X[self.columns_], num_iteration=num_iteration)
        raw = np.asarray(raw, dtype="float64")
        if self.target == "scaled":
            mean = raw * X["_scale"].to_numpy()
        elif self.target == "log1p":
            mean = np.expm1(raw)
        else:
            mean = raw
        return np.clip(mean, 0.0, None)

    def predict(self, history: pd.DataFrame, future: pd.DataFrame, h: int) -> pd.DataFrame:
        """Forecast the ``h`` periods after the end of ``history`` (features in ``future``)."""
        design = self.future_design(history, future, h)
        return design.keys.assign(**{GLOBAL_MODEL: self.mean(design)})
