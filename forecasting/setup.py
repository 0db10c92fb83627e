"""The global model's set-up, chosen on the user's own data.

Hand-tuned per-dataset settings reached the accuracy targets (Rossmann: log1p target, all
history, 1,500 trees; Walmart: level-scaled L1 target, 80 weeks); a planner runs the
defaults. So the engine tries a small set of set-ups on its inner rolling-origin windows and
keeps the one whose window forecasts score best:

- ``tweedie``: demand over the series' level with a Tweedie objective (rows weighted by the
  level: a count model with ``log(level)`` as offset; unbiased means, fits intermittent and
  promotion-driven series), recent history (about 1.5 years);
- ``log1p``: squared error on ``log1p(demand)`` over all history (a median-like forecast for
  large smooth series with a trend: Rossmann's stores);
- ``l1``: demand over the level with absolute error, recent history (robust to the
  one-off weeks of 20-80x normal sales that squared errors chase: Walmart's departments).

Each set-up trains with early stopping on the windows, which also picks its number of
trees (between :data:`MIN_TREES` and :data:`MAX_TREES`). The score is window WAPE plus the
absolute bias, so a median-like set-up that under-forecasts intermittent demand does not win
on absolute error alone.

The recent windows cannot judge a peak they do not hold. When the coming window holds an
event that past data shows to be a peak (festival, holiday or named-event days selling at
least :data:`PEAK_LIFT` times the series' mean) and the recent windows do not hold it
(:func:`unseen_peak`), only the set-ups that forecast the mean (:data:`MEAN_SETUPS`) are
tried: the engine's scenarios are built around the mean, and a median-like objective
under-forecasts a rare peak whose lift varies across series. Measured on the sample brand
at the Double 11 origin (2026-10-31): on the recent windows (Sep 5 - Oct 30) ``l1`` scored
0.453 against ``tweedie``'s 0.615 and was chosen, then forecast the Double 11 day at 0.48 of
true demand (window bias -0.26) against ``tweedie``'s 0.90 (-0.09). Scoring the set-ups on
last year's Double 11 window instead (each refitted a year earlier) was tried and rejected:
on two random halves of the series it ranked them both ways (``tweedie`` 0.47 vs ``l1``
0.67, then 0.65 vs 0.61), and it doubled the cost of the choice.

On large catalogues the comparison runs on a sample of series holding about
:data:`SELECTION_ROWS` training rows (a time budget: about one full fit for all set-ups
together); the chosen set-up is then refitted on every series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecasting.features import event_columns
from forecasting.frequency import is_weekly

PEAK_LIFT = 1.5
"""Demand on an event's past days over the series' mean above which the event is a peak."""
MEAN_SETUPS = ("tweedie",)
"""Set-ups whose forecast is the mean of demand (the others estimate a median-like location)."""

__all__ = ["EARLY_STOPPING_ROUNDS", "LEARNING_RATE", "MAX_TRAIN_ROWS", "MAX_TREES",
           "MEAN_SETUPS", "MIN_TREES", "PEAK_LIFT", "SELECTION_ROWS", "TWEEDIE_LEAVES",
           "GlobalSetup", "candidate_setups", "sample_series", "unseen_peak", "window_score"]

MAX_TREES = 1500
MIN_TREES = 300
"""Early stopping on two short windows is noisy: on the sample brand it stopped the Tweedie
model at 56-173 trees (WAPE 0.48-0.49 against 0.43 with the former 200 trees at learning rate
0.08); 300 trees at 0.06 is about the same amount of learning."""
LEARNING_RATE = 0.06
"""0.08 (a third fewer trees, 126 s instead of ~150 s for the default brand's 140-day
forecast) kept the sample brand's accuracy (WAPE 0.434, Double 11 day 0.89 of truth) but cost
Rossmann 0.005 of WAPE (0.0883 against 0.0832) and put its p50 coverage out of band (0.556)."""
SELECTION_ROWS = 150_000
MAX_TRAIN_ROWS = 1_200_000
"""Training rows of the global model at most (a uniform sample beyond; early stopping on
windows of at most a quarter as many rows). Under it nothing changes: the default brand
(1,174 series) trains on ~432,000 rows and its windows hold ~107,000; Rossmann's whole
training file has 1,017,209. 10,000 series have ~3.7 million rows, whose fit alone took
longer than the five minutes the forecast and plan of such a brand may take on 2 cores."""
EARLY_STOPPING_ROUNDS = 40
TWEEDIE_LEAVES = 63
"""Leaves per tree of the ``tweedie`` set-up (the others had 63 already). With 31, early
stopping kept 724 trees on the default brand's windows and 783 on Rossmann's; with 63 it
keeps 480 and 439, and each tree costs ~20% more to fit but less in all to predict (101
against 142 microseconds a row on one thread). Measured 2026-12-03 (docs/benchmarks.md,
"Speed levers"): Rossmann WAPE 0.0832 -> 0.0809 (p50 coverage 0.523, p90 0.910); the
default brand's window fit 103 -> 84 CPU s, its window WAPE 0.5268 -> 0.5261; the sample
brand at the Double 11 origin (horizon 28), combination WAPE 0.4076 -> 0.4026, LightGBM
0.4158 -> 0.4105, Double 11 day 0.953 -> 0.932 of truth. Fewer bins (max_bin 31) and GOSS
were faster still but lost accuracy (same section)."""


@dataclass(frozen=True)
class GlobalSetup:
    """One candidate set-up of the direct global model."""

    name: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    train_history: int | None = None


def candidate_setups(freq: str, names: tuple[str, ...] | None = None,
                     train_history: int | None = None) -> list[GlobalSetup]:
    """The set-ups tried (all three unless ``names`` picks some); ``train_history``
    overrides the recent history of the scaled set-ups."""
    recent = train_history or (78 if is_weekly(freq) else 546)
    setups = [
        GlobalSetup("tweedie", "scaled", {"objective": "tweedie", "tweedie_variance_power": 1.1,
                                          "num_leaves": TWEEDIE_LEAVES}, recent),
        GlobalSetup("log1p", "log1p", {"objective": "regression", "num_leaves": 63}, None),
        GlobalSetup("l1", "scaled", {"objective": "l1", "num_leaves": 63}, recent),
    ]
    if names:
        unknown = set(names) - {s.name for s in setups}
        if unknown:
            raise ValueError(f"unknown global set-ups {sorted(unknown)}; expected among "
                             f"{[s.name for s in setups]}")
        setups = [s for s in setups if s.name in names]
    return setups


def sample_series(rows: pd.DataFrame, max_rows: int, seed: int) -> np.ndarray | None:
    """Series ids holding about ``max_rows`` of ``rows`` (random, at least 30 series), or
    None when all of them fit."""
    counts = rows["unique_id"].value_counts()
    if counts.sum() <= max_rows:
        return None
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(counts))
    cumulative = np.cumsum(counts.to_numpy()[order])
    n = max(30, int(np.searchsorted(cumulative, max_rows)) + 1)
    return counts.index.to_numpy()[order[:n]]


def window_score(forecast: np.ndarray, actual: np.ndarray) -> float:
    """WAPE plus absolute bias of a forecast on the window actuals (lower is better)."""
    total = float(np.sum(actual))
    if total <= 0:
        return float(np.sum(np.abs(forecast)))
    error = forecast - actual
    return float((np.abs(error).sum() + abs(error.sum())) / total)


def unseen_peak(rows: pd.DataFrame, features: list[str], origin: pd.Timestamp,
                first_cutoff: pd.Timestamp, window: int, freq: str) -> bool:
    """Whether the ``window`` periods after ``origin`` hold an event the recent windows
    (after ``first_cutoff``) do not, whose past days sold at least :data:`PEAK_LIFT` times
    their series' mean demand.

    ``rows`` holds ``unique_id``, ``ds``, ``y`` (history; NaN or any value after ``origin``)
    and the event ``features`` over history and the future.
    """
    step = pd.tseries.frequencies.to_offset(freq)
    ahead = rows[(rows["ds"] > origin) & (rows["ds"] <= origin + window * step)]
    recent = rows[(rows["ds"] > first_cutoff) & (rows["ds"] <= origin)]
    unseen = [f for f in event_columns(features)
              if (ahead[f].to_numpy() > 0).any() and not (recent[f].to_numpy() > 0).any()]
    if not unseen:
        return False
    past = rows[rows["ds"] <= first_cutoff]
    mean = past.groupby("unique_id")["y"].transform("mean").to_numpy()
    y = past["y"].to_numpy(dtype=float)
    for flag in unseen:
        on = past[flag].to_numpy() > 0
        if on.any() and np.nansum(y[on]) >= PEAK_LIFT * np.nansum(mean[on]):
            return True
    return False
