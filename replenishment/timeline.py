"""The planning horizon laid out day by day for every SKU: demand paths, scheduled receipts,
the firm order's need and the review-by-review plan, computed in blocks of SKUs.

:func:`planning_horizon` is the number of forecast days a plan needs (the flows layer asks
the forecast for at least that many): the longest lead time (mean plus two standard
deviations, rounded up) plus the longest review period plus the order-forecast window
(``order_forecast_weeks``). Past the forecast's last day the paths continue at their mean of
the last 7 days (:func:`replenishment.projection.daily_paths`), which misses festivals: a
forecast shorter than the horizon makes the later buckets a flat extrapolation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from forecasting.scenarios import DemandScenarios
from replenishment.closures import arrival_days
from replenishment.config import PlanningConfig
from replenishment.levels import lead_time_quantiles
from replenishment.phased import FirmNeed, ReviewPlan, schedule, size_orders, sweep
from replenishment.projection import daily_paths

__all__ = [
    "TimelineInputs",
    "firm_arrival",
    "firm_needs",
    "horizon_days",
    "planning_horizon",
    "receipts_by_day",
    "review_plan",
]

_CELLS = 6_000_000  # SKU x path x day cells per block (about 50 MB of float64)


def planning_horizon(suppliers: pd.DataFrame, config: PlanningConfig | None = None) -> int:
    """Forecast days a plan needs: longest lead time (+2 std) + longest review + the
    order-forecast weeks. ``suppliers`` is the suppliers table (``lead_time_days``,
    optionally ``lead_time_std_days`` and ``review_days``)."""
    config = config or PlanningConfig()
    lead = suppliers["lead_time_days"].astype(float)
    std = (suppliers["lead_time_std_days"].astype(float).fillna(0.0)
           if "lead_time_std_days" in suppliers else lead * 0.0)
    review = (suppliers["review_days"].astype(float).fillna(config.review_days)
              if "review_days" in suppliers else lead * 0.0 + config.review_days)
    longest = float((lead + 2 * std).max()) if len(lead) else 0.0
    window = 7 * config.order_forecast_weeks
    longest_review = float(review.max()) if len(review) else float(config.review_days)
    return int(math.ceil(longest) + math.ceil(longest_review) + window)


@dataclass(frozen=True)
class TimelineInputs:
    """Per SKU (rows of ``items``): whole-day lead and review, service level, lots, whether
    it may be ordered, the share of its demand that waits, and where its paths are.
    ``closed`` (``(n, days)`` from day 0, None: never) marks the days its supplier is closed:
    lead times count open days only (:mod:`replenishment.closures`)."""

    rows: np.ndarray  # positions in scenarios.skus
    lead: np.ndarray
    lead_std: np.ndarray
    review: np.ndarray
    level: np.ndarray
    case_pack: np.ndarray
    moq: np.ndarray
    orderable: np.ndarray
    backorder_share: np.ndarray
    on_hand: np.ndarray
    closed: np.ndarray | None = None


def horizon_days(inputs: TimelineInputs, config: PlanningConfig) -> int:
    """Days projected: the order-forecast window and the firm order's latest possible
    coverage window (longest sampled lead time + review), plus one review to close the last
    window."""
    strata = lead_time_quantiles(inputs.lead, inputs.lead_std, config.lead_time_strata)
    latest = int(np.ceil(strata.max(initial=0.0)))
    if inputs.closed is not None:  # a closure delays by at most its days
        latest += int(inputs.closed.sum(axis=1).max(initial=0))
    review = int(inputs.review.max(initial=1))
    return max(7 * config.order_forecast_weeks, latest + review) + review


def firm_arrival(inputs: TimelineInputs) -> tuple[np.ndarray, np.ndarray]:
    """Expected whole-day arrival of the firm order (placed on day 0) per SKU, and of the
    next review's order (placed on day ``review``): ``ceil(lead)`` open days later."""
    lead = np.ceil(inputs.lead - 1e-9).astype(int)
    arrival = arrival_days(inputs.closed, np.zeros(len(lead), dtype=int), lead)
    following = arrival_days(inputs.closed, inputs.review.astype(int), lead)
    return arrival, following


def receipts_by_day(receipts: pd.DataFrame, skus: pd.Index, as_of: pd.Timestamp,
                    days: int) -> np.ndarray:
    """Units arriving per SKU and day (day 0 = ``as_of + 1``; overdue ones on day 0)."""
    out = np.zeros((len(skus), days))
    if receipts.empty:
        return out
    rows = skus.get_indexer(pd.Index(receipts["sku"]))
    first = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    day = (pd.to_datetime(receipts["date"]).dt.normalize() - first).dt.days.to_numpy()
    day = np.maximum(day, 0)
    keep = (rows >= 0) & (day < days)
    np.add.at(out, (rows[keep], day[keep]), receipts["qty"].to_numpy(float)[keep])
    return out


def _blocks(n: int, paths: int, days: int) -> list[slice]:
    size = max(1, _CELLS // max(paths * days, 1))
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


FOLLOWING_ORDERS = 2
"""Later reviews' orders whose drawn arrivals can end the firm order's coverage window."""


def _arrival_per_path(inputs: TimelineInputs, paths: int, config: PlanningConfig,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Whole-day arrival of the firm order per SKU and path (stratified gamma lead times),
    and the days it covers: until the first of the next :data:`FOLLOWING_ORDERS` reviews'
    orders arrives, each lead time drawn independently (at least one day).

    Decision: with the next order alone ending the window, a late next delivery was always
    the firm order's to cover, although the order a review later often arrives first when
    lead times spread widely (SUP-03: 35 +/- 11.8 days against a 7-day review): the window
    averaged 10.6 days where deliveries come every 7 (8.3 now)."""
    strata = config.lead_time_strata if (inputs.lead_std > 0).any() else 1
    lead = lead_time_quantiles(inputs.lead, inputs.lead_std, strata)
    rng = np.random.default_rng(config.seed)
    tiles = np.tile(np.arange(paths) % strata, (len(inputs.lead), 1))

    def drawn() -> np.ndarray:
        return np.ceil(np.take_along_axis(lead, rng.permuted(tiles, axis=1), axis=1) - 1e-9)

    # Lead times count the supplier's open days (arrival_days; no closures: day + lead).
    arrival = arrival_days(inputs.closed, np.zeros(tiles.shape, dtype=int), drawn())
    end = np.full(arrival.shape, np.iinfo(np.int64).max)
    for k in range(1, FOLLOWING_ORDERS + 1):
        placed = np.broadcast_to(k * inputs.review.astype(int)[:, None], tiles.shape)
        end = np.minimum(end, arrival_days(inputs.closed, placed, drawn()))
    window = np.maximum(end - arrival, 1)
    return arrival.astype(int), window.astype(int)


def firm_needs(inputs: TimelineInputs, scenarios: DemandScenarios, offset: int,
               receipts: np.ndarray, config: PlanningConfig) -> FirmNeed:
    """The firm order's need per SKU and path (open orders only), in blocks of SKUs."""
    paths = scenarios.n_paths
    arrival, window = _arrival_per_path(inputs, paths, config)
    days = int((arrival + window).max(initial=1) + 1)
    parts: list[FirmNeed] = []
    for block in _blocks(len(inputs.rows), paths, days):
        demand = daily_paths(scenarios, inputs.rows[block], offset, days)
        parts.append(size_orders(
            demand, _pad(receipts[block], days), inputs.on_hand[block],
            inputs.backorder_share[block], arrival[block], inputs.review[block],
            window[block],
        ))
    if not parts:
        empty = np.zeros((0, paths))
        return FirmNeed(empty, empty, empty, empty, empty, empty)
    return FirmNeed(*(np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(FirmNeed)))


def _pad(receipts: np.ndarray, days: int) -> np.ndarray:
    if receipts.shape[1] >= days:
        return receipts[:, :days]
    return np.concatenate([receipts, np.zeros((len(receipts), days - receipts.shape[1]))],
                          axis=1)


def review_plan(inputs: TimelineInputs, scenarios: DemandScenarios, offset: int,
                receipts: np.ndarray, days: int, config: PlanningConfig,
                fixed: np.ndarray | None = None) -> ReviewPlan:
    """:func:`replenishment.phased.sweep` over all SKUs in blocks (one column per review)."""
    paths = scenarios.n_paths
    lead = np.ceil(inputs.lead - 1e-9).astype(int)
    review = np.maximum(np.round(inputs.review), 1).astype(int)
    reviews = schedule(lead, review, days).shape[1]
    arrival = _review_arrivals(inputs.closed, lead, review, days, reviews)
    fill_rate = config.service_target == "fill_rate"
    parts: list[ReviewPlan] = []
    for block in _blocks(len(inputs.rows), paths, days):
        demand = daily_paths(scenarios, inputs.rows[block], offset, days)
        parts.append(sweep(
            demand, _pad(receipts[block], days), inputs.on_hand[block],
            inputs.backorder_share[block], lead[block], review[block],
            inputs.level[block], fill_rate, inputs.case_pack[block], inputs.moq[block],
            inputs.orderable[block], None if fixed is None else fixed[block], reviews,
            None if arrival is None else arrival[block],
        ))
    if not parts:
        empty_r = np.zeros((0, reviews))
        empty_d = np.zeros((0, days))
        return ReviewPlan(empty_r.astype(int), empty_r, empty_r, empty_r, empty_r, empty_r,
                          empty_d, empty_d, empty_d, empty_d, empty_d)
    return ReviewPlan(*(np.concatenate([getattr(p, f.name) for p in parts])
                        for f in fields(ReviewPlan)))


def _review_arrivals(closed: np.ndarray | None, lead: np.ndarray, review: np.ndarray,
                     days: int, reviews: int) -> np.ndarray | None:
    """Arrival day of every review's order when a supplier closes (None: the regular
    schedule). Orders placed during a closure can arrive on the same day as an earlier one;
    only the earliest review keeps that arrival (it covers until the next one), the later
    ones get none (-1)."""
    if closed is None:
        return None
    order_day = review[:, None] * np.arange(reviews)[None, :]
    arrival = arrival_days(closed, order_day, np.repeat(lead[:, None], reviews, axis=1))
    repeat = np.zeros(arrival.shape, dtype=bool)
    repeat[:, 1:] = arrival[:, 1:] == arrival[:, :-1]
    return np.where((arrival < days) & ~repeat, arrival, -1).astype(int)
