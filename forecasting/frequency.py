"""Sampling frequency of a sales history: inference, season length and period labels.

A period is labelled the way pandas labels it: weekly aliases (``W-FRI``) by the week's last
day, every other alias (``D``, ``MS``) by its first day. Signals given per day (promotions,
events) are bucketed into periods with :func:`period_labels`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecasting.contract import DataContractError, Problem

__all__ = ["infer_freq", "is_weekly", "period_labels", "periods_between", "season_length"]

_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def infer_freq(dates: pd.Series | pd.DatetimeIndex) -> str:
    """The pandas alias of the sales dates: ``D`` for daily, ``W-XXX`` for weekly.

    Exports omit zero days, so gaps are allowed: the frequency is the smallest step between
    distinct dates. Weekly dates must all fall on the same weekday.
    """
    unique = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(dates))).sort_values()
    if len(unique) < 2:
        raise DataContractError([Problem(
            source="sales", column="date", value=f"{len(unique)} distinct date(s)",
            expected="at least two distinct sales dates to infer the frequency "
                     "(or set forecast.freq)",
        )])
    step = int(np.diff(unique.to_numpy().astype("int64")).min() // 86_400_000_000_000)
    if step == 1:
        return "D"
    weekdays = pd.unique(unique.dayofweek)
    if step % 7 == 0 and len(weekdays) == 1:
        return f"W-{_WEEKDAYS[int(weekdays[0])]}"
    if unique.is_month_start.all():
        return "MS"
    raise DataContractError([Problem(
        source="sales", column="date", value=f"smallest step of {step} days",
        expected="daily dates, or weekly dates on one weekday (or set forecast.freq)",
    )])


def is_weekly(freq: str) -> bool:
    return to_offset(freq).name.startswith("W")


def season_length(freq: str) -> int:
    """Periods in the dominant season: a week for daily data, a year otherwise."""
    name = to_offset(freq).name
    if name == "D":
        return 7
    if name.startswith("W"):
        return 52
    if name in ("MS", "ME", "M"):
        return 12
    return 1


def period_labels(days: pd.DatetimeIndex | pd.Series, freq: str) -> pd.DatetimeIndex:
    """The label of the period holding each day (week end for weekly, period start otherwise)."""
    days = pd.DatetimeIndex(days)
    if to_offset(freq).name == "D":
        return days.normalize()
    periods = days.to_period(freq)
    if is_weekly(freq):
        return periods.end_time.normalize()
    return periods.start_time.normalize()


def periods_between(start: pd.Timestamp, end: pd.Timestamp, freq: str) -> int:
    """Whole periods from ``start`` to ``end`` (both period labels)."""
    return len(pd.date_range(start, end, freq=freq)) - 1
