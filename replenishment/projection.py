"""Demand scenarios laid on the planning calendar: day 0 is the day after the planning date.

Shared by the order forecast (:mod:`replenishment.cpfr`) and the alerts
(:mod:`replenishment.alerts`). Past the forecast horizon demand continues at each path's mean
of its last 7 days, as :meth:`DemandScenarios.window_sum` does, so a 13-week order forecast
can be read off a 4-week forecast consistently with the stock levels.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.scenarios import DemandScenarios

__all__ = [
    "PlanForecast",
    "daily_paths",
    "expected_daily_demand",
    "scenario_offset",
    "stable_id",
    "week_start",
]

_TAIL_DAYS = 7


@dataclass(frozen=True)
class PlanForecast:
    """The parts of a forecast that planning reads (a ``ForecastResult`` has them all).

    ``channel``: ``sku, channel, date, forecast, p50, p90, p95, p99`` (may be empty);
    ``sku``: the same summed over channels; ``scenarios``: SKU-level demand paths.
    """

    channel: pd.DataFrame
    sku: pd.DataFrame
    scenarios: DemandScenarios


def scenario_offset(scenarios: DemandScenarios, as_of: pd.Timestamp) -> int:
    """Position in ``scenarios.dates`` of the day after ``as_of`` (the first day to plan for).

    Raises ``ValueError`` when the scenarios are not daily or start later (demand of the
    days between would be unknown).
    """
    dates = scenarios.dates
    if len(dates) > 1 and (dates[1:] - dates[:-1] != pd.Timedelta(days=1)).any():
        raise ValueError(
            f"planning needs daily demand scenarios, got dates {dates[0].date()}, "
            f"{dates[1].date()}, ...: forecast at daily frequency"
        )
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    start = dates[0]
    if start > first_day:
        raise ValueError(
            f"the demand forecast starts on {start.date()}, after the first day to plan for "
            f"({first_day.date()}, the day after as_of): forecast from as_of or earlier"
        )
    return int((first_day - start).days)


def daily_paths(
    scenarios: DemandScenarios, rows: np.ndarray, start: int, days: int
) -> np.ndarray:
    """Demand of SKU positions ``rows`` per path and day, ``(len(rows), n_paths, days)``."""
    paths = scenarios.paths[rows]
    horizon = paths.shape[2]
    inside = paths[:, :, start : start + days]
    missing = days - inside.shape[2]
    if missing <= 0:
        return inside
    tail = paths[:, :, -min(_TAIL_DAYS, horizon) :].mean(axis=2, keepdims=True)
    return np.concatenate([inside, np.repeat(tail, missing, axis=2)], axis=2)


def expected_daily_demand(scenarios: DemandScenarios, start: int, days: int) -> np.ndarray:
    """Mean demand per SKU and day from position ``start`` on, ``(n_skus, days)``."""
    mean = scenarios.paths.mean(axis=1)
    inside = mean[:, start : start + days]
    missing = days - inside.shape[1]
    if missing <= 0:
        return inside
    tail = mean[:, -min(_TAIL_DAYS, mean.shape[1]) :].mean(axis=1, keepdims=True)
    return np.concatenate([inside, np.repeat(tail, missing, axis=1)], axis=1)


def week_start(dates: pd.Series) -> pd.Series:
    """The Monday of each date's calendar week (the label of the weekly buckets)."""
    days = pd.to_datetime(dates).dt.normalize()
    return days - pd.to_timedelta(days.dt.weekday, unit="D")


def stable_id(*parts: object) -> str:
    """A short id that depends only on ``parts``: the same problem keeps it across runs."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
