"""The sample brand's calendar: platform festivals, Chinese New Year, weekly and yearly rhythm.

Festivals are written to the ``events`` table and also shape the true demand, so a forecaster
that reads the events can learn their effect. Each festival has a pre-sale build-up, a peak day
whose height depends on the channel, and a dip afterwards (demand pulled forward).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flows.errors import UserError

__all__ = [
    "CHANNELS",
    "CHINESE_NEW_YEAR",
    "Calendar",
    "Festival",
    "build_calendar",
    "weekly_profile",
    "yearly_profile",
]

CHANNELS = ("tmall", "jd", "douyin", "miniapp")
DOUYIN = CHANNELS.index("douyin")

# First day of the lunar new year. One date per year is all the generator needs, so a small
# table is clearer than a lunar-calendar dependency.
CHINESE_NEW_YEAR = {
    year: pd.Timestamp(day) for year, day in {
        2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16", 2019: "2019-02-05",
        2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22",
        2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
        2028: "2028-01-26", 2029: "2029-02-13", 2030: "2030-02-03", 2031: "2031-01-23",
        2032: "2032-02-11", 2033: "2033-01-31", 2034: "2034-02-19", 2035: "2035-02-08",
    }.items()
}

# Mon..Sun demand per channel: marketplaces peak on Sunday evening, Douyin with the weekend
# livestream audience, the WeChat mini-program on weekdays (shared in office chats).
_WEEKLY = np.array([
    [1.05, 0.98, 0.95, 0.96, 1.00, 1.04, 1.12],
    [1.08, 1.02, 0.98, 0.97, 0.98, 0.98, 1.02],
    [0.85, 0.88, 0.92, 0.98, 1.12, 1.20, 1.10],
    [1.10, 1.05, 1.00, 1.00, 0.95, 0.90, 0.95],
])

_DIP_DAYS = 7


@dataclass(frozen=True)
class Festival:
    """A yearly platform festival. ``peak`` is the demand multiplier on the day, per channel."""

    name: str
    month: int
    day: int
    peak: tuple[float, float, float, float]
    presale_days: int = 0
    presale_lift: float = 0.5
    dip: float = 0.3
    channel: str | None = None

    def shape(self) -> tuple[int, NDArray[np.float64]]:
        """Offset of the first affected day from the peak, and multipliers (channel, day)."""
        peak = np.asarray(self.peak, dtype=float)
        excess = peak - 1.0
        relative = excess / max(float(excess.max()), 1e-9)
        days = self.presale_days + 2 + _DIP_DAYS
        out = np.ones((len(CHANNELS), days))
        if self.presale_days:
            ramp = np.linspace(0.2, 1.0, self.presale_days)
            out[:, : self.presale_days] = 1 + self.presale_lift * relative[:, None] * ramp
            out[:, self.presale_days - 1] = np.maximum(out[:, self.presale_days - 1],
                                                       1 + 0.3 * excess)
        out[:, self.presale_days] = peak
        out[:, self.presale_days + 1] = 1 + 0.2 * excess
        recovery = 1 - np.arange(_DIP_DAYS) / _DIP_DAYS
        out[:, self.presale_days + 2:] = 1 - self.dip * relative[:, None] * recovery
        return -self.presale_days, out


FESTIVALS = (
    Festival("38女王节", 3, 8, (1.8, 1.5, 2.0, 1.4), presale_days=3, presale_lift=0.2, dip=0.1),
    Festival("618", 6, 18, (4.5, 6.0, 4.0, 2.5), presale_days=17),
    Festival("88会员节", 8, 8, (2.2, 1.0, 1.0, 1.0), presale_days=2, presale_lift=0.2,
             dip=0.1, channel="tmall"),
    Festival("双11", 11, 11, (9.0, 6.0, 6.0, 3.0), presale_days=22, presale_lift=0.6, dip=0.35),
    Festival("双12", 12, 12, (3.0, 1.5, 1.8, 1.4), presale_days=3, presale_lift=0.3, dip=0.15),
)

# Around Chinese New Year couriers stop: orders collapse and suppliers deliver nothing.
_NEW_YEAR_SHOPPING = (-24, -9)  # Douyin's 年货节 (new-year goods festival)
_LOGISTICS_PAUSE = (-8, 6)
_PAUSE_DEMAND = np.array([0.6, 0.45, 0.3, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.3, 0.35, 0.4,
                          0.45, 0.55, 0.7])


@dataclass(frozen=True)
class Calendar:
    """``festival[c, n]`` multiplies demand of channel ``c`` on day ``n``; ``closed[n]`` marks
    days when nothing is delivered (the logistics pause)."""

    events: pd.DataFrame
    festival: NDArray[np.float64]
    closed: NDArray[np.bool_]


def _new_year(year: int) -> pd.Timestamp:
    if year not in CHINESE_NEW_YEAR:
        first, last = min(CHINESE_NEW_YEAR), max(CHINESE_NEW_YEAR)
        raise UserError(
            f"the sample brand knows Chinese New Year for {first}-{last} only; "
            f"choose --as-of and --days within those years (got a date in {year})"
        )
    return CHINESE_NEW_YEAR[year]


def _apply(target: NDArray[np.float64], start: int, block: NDArray[np.float64]) -> None:
    """Multiply ``block`` (channel, day) into ``target`` from day ``start``, clipped to range."""
    n_days = target.shape[1]
    lo, hi = max(start, 0), min(start + block.shape[1], n_days)
    if lo < hi:
        target[:, lo:hi] *= block[:, lo - start: hi - start]


def build_calendar(dates: pd.DatetimeIndex) -> Calendar:
    """Festival multipliers, delivery closures and the events table over ``dates``."""
    first = dates[0]
    festival = np.ones((len(CHANNELS), len(dates)))
    closed = np.zeros(len(dates), dtype=bool)
    rows: list[dict[str, object]] = []

    def index(day: pd.Timestamp) -> int:
        return int((day - first).days)

    for year in range(dates[0].year - 1, dates[-1].year + 1):
        for fest in FESTIVALS:
            peak_day = pd.Timestamp(year=year, month=fest.month, day=fest.day)
            offset, block = fest.shape()
            _apply(festival, index(peak_day) + offset, block)
            if fest.presale_days:
                rows.append(_event(peak_day - pd.Timedelta(days=fest.presale_days),
                                   peak_day - pd.Timedelta(days=1), f"{fest.name}预售",
                                   "festival", fest.channel))
            rows.append(_event(peak_day, peak_day, fest.name, "festival", fest.channel))
    # Next year's new-year shopping can start in late December.
    last_year = dates[-1].year + (1 if dates[-1].month == 12 else 0)
    for year in range(dates[0].year, last_year + 1):
        new_year = _new_year(year)
        start, end = _NEW_YEAR_SHOPPING
        shopping = np.ones((len(CHANNELS), end - start + 1))
        shopping[DOUYIN] = 1.6
        _apply(festival, index(new_year) + start, shopping)
        rows.append(_event(new_year + pd.Timedelta(days=start), new_year + pd.Timedelta(days=end),
                           "抖音年货节", "festival", "douyin"))
        start, end = _LOGISTICS_PAUSE
        _apply(festival, index(new_year) + start, np.tile(_PAUSE_DEMAND, (len(CHANNELS), 1)))
        closed[max(index(new_year) + start, 0): max(index(new_year) + end + 1, 0)] = True
        rows.append(_event(new_year + pd.Timedelta(days=start), new_year + pd.Timedelta(days=end),
                           "春节物流暂停", "closure", None))
        rows.append(_event(new_year, new_year + pd.Timedelta(days=6), "春节", "holiday", None))
    events = pd.DataFrame(rows)
    inside = (events["end"] >= dates[0]) & (events["start"] <= dates[-1])
    events = events[inside].sort_values(["start", "name"], kind="stable").reset_index(drop=True)
    return Calendar(events, festival, closed)


def _event(start: pd.Timestamp, end: pd.Timestamp, name: str, kind: str,
           channel: str | None) -> dict[str, object]:
    return {"start": start, "end": end, "name": name, "kind": kind, "channel": channel,
            "sku": None}


def weekly_profile(dates: pd.DatetimeIndex) -> NDArray[np.float64]:
    """Weekly multiplier (channel, day), mean 1 over a week for every channel."""
    weekly = _WEEKLY / _WEEKLY.mean(axis=1, keepdims=True)
    return weekly[:, dates.dayofweek.to_numpy()]


def yearly_profile(dates: pd.DatetimeIndex, amplitude: NDArray[np.float64],
                   peak_day: NDArray[np.float64]) -> NDArray[np.float64]:
    """Yearly multiplier (item, day): a cosine wave per item peaking on ``peak_day``."""
    day_of_year = dates.dayofyear.to_numpy()[None, :]
    phase = 2 * np.pi * (day_of_year - peak_day[:, None]) / 365.25
    return 1 + amplitude[:, None] * np.cos(phase)
