"""Per-SKU stock levels for a planning run: inventory position, safety stock, reorder point,
order-up-to level and raw need, all SKUs at once.

The policy is a periodic review order-up-to policy. An order placed today arrives after the
lead time ``L``; the next order can arrive ``R`` (review) days later, so today's order must
cover demand over the *protection period* ``L + R``. Demand over that window comes from the
forecast's sample paths (:meth:`DemandScenarios.window_sum`), never from summed daily
quantiles.

Lead-time variability is handled by sampling, not by the ``D^2 sigma_L^2`` formula: each
demand path is paired with a lead time drawn from a gamma distribution with the supplier's
mean and standard deviation (right-skewed and never negative, like real delivery delays).
The draws are stratified — ``lead_time_strata`` equally likely quantiles of the gamma, each
used by the same number of paths, paired at random — so a few window sums give the mixture
exactly and the result does not depend on a lucky draw. Unlike the formula this keeps the
shape of demand (intermittent, promotional peaks) and the day-to-day dependence of the paths.

Targets (``PlanningConfig.service_target``), with ``alpha`` the SKU's service level:

* ``cycle_service``: ``order_up_to`` is the ``alpha`` quantile of protection-period demand
  and ``reorder_point`` the ``alpha`` quantile of lead-time demand.
* ``fill_rate``: the expected units short per review cycle equal ``(1 - alpha) Q`` with ``Q``
  the mean demand of one review period: ``order_up_to`` solves
  ``E[(D_{L+R} - S)^+] - E[(D_L - S)^+] = (1 - alpha) Q`` (shortage arising in this cycle
  only) and ``reorder_point`` solves ``E[(D_L - r)^+] = (1 - alpha) Q`` — the loss-function
  form ``sigma L(k) = (1 - beta) Q`` of the textbook, on the empirical distribution.

``safety_stock = order_up_to - mean protection demand``; ``raw_need = max(order_up_to -
inventory_position, 0)`` is what to order before case packs, MOQ and supplier constraints
(the optimiser, :mod:`replenishment.optimizer`, takes it from there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from forecasting.contract import DataContractError, Problem
from forecasting.scenarios import DemandScenarios
from replenishment.config import PlanningConfig
from replenishment.loss import empirical_loss

__all__ = [
    "LEVEL_INPUT_COLUMNS",
    "StockLevels",
    "abc_classes",
    "lead_time_quantiles",
    "prepare_items",
    "stock_levels",
]

SOURCE = "stock levels input"
# Column -> default (None: required).
LEVEL_INPUT_COLUMNS: dict[str, float | None] = {
    "on_hand": None,
    "on_order": 0.0,
    "backorders": 0.0,
    "lead_time_days": None,
    "lead_time_std_days": 0.0,
    "review_days": np.nan,  # NaN: PlanningConfig.review_days
    "service_level": np.nan,  # NaN: PlanningConfig.service_levels[abc_class]
}
_CHUNK = 1000  # SKUs per block of window sums, to bound memory on large catalogues


@dataclass(frozen=True)
class StockLevels:
    """Levels per SKU plus the demand samples behind them (rows aligned with ``table``).

    ``protection_demand[i, k]`` and ``lead_time_demand[i, k]`` are the demand of
    ``table.sku[i]`` over its protection period and over its lead time in path ``k`` (with
    that path's sampled lead time).
    """

    table: pd.DataFrame
    protection_demand: np.ndarray
    lead_time_demand: np.ndarray


def abc_classes(revenue: pd.Series, shares: Sequence[float] = (0.8, 0.95)) -> pd.Series:
    """ABC class by revenue: A makes the first ``shares[0]`` of cumulative revenue, B up to
    ``shares[1]``, C the rest. A SKU straddling a boundary joins the higher class."""
    if len(shares) != 2 or not 0 < shares[0] <= shares[1] <= 1:
        raise ValueError(f"ABC shares must be 0 < a <= b <= 1, got {tuple(shares)}")
    values = revenue.fillna(0).clip(lower=0).astype(float)
    order = values.sort_values(ascending=False, kind="stable")
    total = float(order.sum())
    before = (order.cumsum() - order) / total if total > 0 else order * 0 + 1.0
    labels = np.where(before < shares[0], "A", np.where(before < shares[1], "B", "C"))
    return pd.Series(labels, index=order.index, name="abc_class").reindex(revenue.index)


def lead_time_quantiles(mean: np.ndarray, std: np.ndarray, strata: int) -> np.ndarray:
    """``(n, strata)`` equally likely lead times per row: midpoint quantiles of a gamma with
    the given mean and std (the mean itself where std or mean is 0)."""
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    probs = (np.arange(strata) + 0.5) / strata
    varies = (std > 0) & (mean > 0)
    out = np.repeat(mean[:, None], strata, axis=1)
    if varies.any():
        shape = (mean[varies] / std[varies]) ** 2
        scale = std[varies] ** 2 / mean[varies]
        out[varies] = stats.gamma.ppf(probs[None, :], shape[:, None], scale=scale[:, None])
    return out


def _rows(mask: pd.Series) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask.to_numpy())]


def _problem(row: int, column: str, value: object, expected: str) -> Problem:
    return Problem(source=SOURCE, row=row + 2, column=column, value=str(value), expected=expected)


def _prepare(items: pd.DataFrame, config: PlanningConfig) -> pd.DataFrame:
    """Fill defaults, resolve service levels and check every value; raise all problems."""
    problems: list[Problem] = []
    frame = items.reset_index(drop=True).copy()
    for column, default in LEVEL_INPUT_COLUMNS.items():
        if column not in frame:
            if default is None:
                problems.append(Problem(source=SOURCE, column=column,
                                        expected=f"a column '{column}'"))
                continue
            frame[column] = default
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    if "sku" not in frame:
        problems.append(Problem(source=SOURCE, column="sku", expected="a column 'sku'"))
    if problems:
        raise DataContractError(problems)
    frame["review_days"] = frame["review_days"].fillna(float(config.review_days))
    for column in ("on_hand", "on_order", "backorders", "lead_time_days", "lead_time_std_days"):
        bad = frame[column].isna() | (frame[column] < 0)
        problems += [_problem(i, column, frame.at[i, column], "a number >= 0")
                     for i in _rows(bad)]
    bad_review = frame["review_days"] <= 0
    problems += [_problem(i, "review_days", frame.at[i, "review_days"], "a number > 0")
                 for i in _rows(bad_review)]
    problems += _resolve_service_levels(frame, config)
    if problems:
        raise DataContractError(problems)
    return frame


def prepare_items(items: pd.DataFrame, config: PlanningConfig) -> pd.DataFrame:
    """``items`` with defaults filled, every value checked and each SKU's service level
    resolved (its own, else its ABC class's); raises :class:`DataContractError`."""
    return _prepare(items, config)


def _resolve_service_levels(frame: pd.DataFrame, config: PlanningConfig) -> list[Problem]:
    """Fill missing per-SKU service levels from the ABC class (given or from ``revenue``)."""
    missing = frame["service_level"].isna()
    if missing.any():
        if "abc_class" not in frame:
            if "revenue" not in frame:
                return [Problem(source=SOURCE, column="abc_class",
                                expected="an 'abc_class' or 'revenue' column for SKUs "
                                "without their own service_level")]
            frame["abc_class"] = abc_classes(frame["revenue"], config.abc_revenue_shares)
        by_class = frame["abc_class"].map(config.service_levels)
        frame.loc[missing, "service_level"] = by_class[missing]
    level = frame["service_level"]
    bad = level.isna() | (level <= 0) | (level >= 1)
    classes = ", ".join(sorted(config.service_levels))
    return [
        _problem(i, "service_level", level.iat[i] if not missing.iat[i]
                 else frame["abc_class"].iat[i],
                 "a service level between 0 and 1, or an ABC class with one in "
                 f"planning.service_levels ({classes})")
        for i in _rows(bad)
    ]


def _window_demand(
    scenarios: DemandScenarios,
    start: np.ndarray,
    lead_times: np.ndarray,
    review: np.ndarray,
    stratum_of_path: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Lead-time and protection-period demand per (SKU, path) with per-path lead times."""
    n_skus, n_strata = lead_times.shape
    lead = np.empty((n_skus, scenarios.n_paths))
    protection = np.empty_like(lead)
    for j in range(n_strata):
        on_path = stratum_of_path == j
        lead_j = scenarios.window_sum(start, lead_times[:, j])
        protection_j = scenarios.window_sum(start, lead_times[:, j] + review)
        lead[on_path] = lead_j[on_path]
        protection[on_path] = protection_j[on_path]
    return lead, protection


def _demand_samples(
    frame: pd.DataFrame,
    scenarios: DemandScenarios,
    start: np.ndarray,
    config: PlanningConfig,
) -> tuple[np.ndarray, np.ndarray]:
    positions = scenarios.skus.get_indexer(pd.Index(frame["sku"]))
    if (positions < 0).any():
        missing = frame["sku"][positions < 0].tolist()
        raise DataContractError([Problem(
            source=SOURCE, column="sku", value=", ".join(map(str, missing[:5])),
            expected=f"SKUs with demand scenarios ({len(missing)} have none)",
        )])
    mean = frame["lead_time_days"].to_numpy()
    std = frame["lead_time_std_days"].to_numpy()
    strata = config.lead_time_strata if (std > 0).any() else 1
    lead_times = lead_time_quantiles(mean, std, strata)
    n_paths = scenarios.n_paths
    rng = np.random.default_rng(config.seed)
    # Each stratum gets the same number of paths (up to one), paired with paths at random.
    stratum_of_path = rng.permuted(np.tile(np.arange(n_paths) % strata, (len(frame), 1)), axis=1)
    lead = np.empty((len(frame), n_paths))
    protection = np.empty_like(lead)
    review = frame["review_days"].to_numpy()
    for block in range(0, len(frame), _CHUNK):
        rows = slice(block, block + _CHUNK)
        chunk = DemandScenarios(
            pd.Index(frame["sku"].iloc[rows]), scenarios.dates, scenarios.paths[positions[rows]]
        )
        lead[rows], protection[rows] = _window_demand(
            chunk, start[rows], lead_times[rows], review[rows], stratum_of_path[rows]
        )
    return lead, protection


def _solve_decreasing(
    func: Callable[[np.ndarray], np.ndarray], target: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Smallest ``x`` in ``[0, high]`` with ``func(x) <= target`` per row (``func`` decreasing)."""
    low = np.zeros_like(high)
    high = high.copy()
    for _ in range(60):
        mid = (low + high) / 2
        ok = func(mid) <= target
        high = np.where(ok, mid, high)
        low = np.where(ok, low, mid)
    return high


def _fill_rate_levels(
    lead: np.ndarray, protection: np.ndarray, fill_rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    cycle_demand = protection.mean(axis=1) - lead.mean(axis=1)
    allowed = (1 - fill_rate) * cycle_demand
    top = protection.max(axis=1)
    order_up_to = _solve_decreasing(
        lambda s: empirical_loss(protection, s) - empirical_loss(lead, s), allowed, top
    )
    reorder_point = _solve_decreasing(lambda r: empirical_loss(lead, r), allowed, lead.max(axis=1))
    return reorder_point, order_up_to


def _row_quantiles(samples: np.ndarray, levels: np.ndarray) -> np.ndarray:
    ordered = np.sort(samples, axis=1)
    positions = levels * (samples.shape[1] - 1)
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, samples.shape[1] - 1)
    rows = np.arange(len(samples))
    frac = positions - below
    return ordered[rows, below] * (1 - frac) + ordered[rows, above] * frac


def stock_levels(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    config: PlanningConfig | None = None,
    start: int | np.ndarray = 0,
) -> StockLevels:
    """Stock levels for every SKU of ``items``.

    ``items`` has one row per SKU: ``sku``, ``on_hand``, ``lead_time_days`` and optionally
    ``on_order`` (open orders arriving within the protection period), ``backorders``,
    ``lead_time_std_days``, ``review_days`` (days; NaN: ``config.review_days``),
    ``service_level`` (NaN: from the SKU's ``abc_class``, or from ABC classes computed from a
    ``revenue`` column, via ``config.service_levels``). ``start`` is the position in
    ``scenarios.dates`` where the protection period begins (per SKU or one for all).

    Raises :class:`DataContractError` naming the row, column and value of any bad input.
    """
    config = config or PlanningConfig()
    frame = _prepare(items, config)
    starts = np.broadcast_to(np.asarray(start, dtype=float), (len(frame),))
    lead, protection = _demand_samples(frame, scenarios, starts, config)
    level = frame["service_level"].to_numpy()
    if config.service_target == "fill_rate":
        reorder_point, order_up_to = _fill_rate_levels(lead, protection, level)
    else:
        reorder_point = _row_quantiles(lead, level)
        order_up_to = _row_quantiles(protection, level)
    position = frame["on_hand"] + frame["on_order"] - frame["backorders"]
    mean_protection = protection.mean(axis=1)
    table = pd.DataFrame({
        "sku": frame["sku"].to_numpy(),
        "on_hand": frame["on_hand"].to_numpy(),
        "on_order": frame["on_order"].to_numpy(),
        "backorders": frame["backorders"].to_numpy(),
        "inventory_position": position.to_numpy(),
        "lead_time_days": frame["lead_time_days"].to_numpy(),
        "lead_time_std_days": frame["lead_time_std_days"].to_numpy(),
        "review_days": frame["review_days"].to_numpy(),
        "protection_days": (frame["lead_time_days"] + frame["review_days"]).to_numpy(),
        "service_level": level,
        "service_target": config.service_target,
        "lead_time_demand": lead.mean(axis=1),
        "protection_demand": mean_protection,
        "protection_demand_std": protection.std(axis=1),
        "safety_stock": order_up_to - mean_protection,
        "reorder_point": reorder_point,
        "order_up_to": order_up_to,
        "raw_need": np.maximum(order_up_to - position.to_numpy(), 0.0),
    })
    if "abc_class" in frame:
        table.insert(list(table.columns).index("service_level") + 1, "abc_class",
                     frame["abc_class"].to_numpy())
    return StockLevels(table, protection, lead)
