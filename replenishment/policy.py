"""Single-item inventory policy math: newsvendor, base stock, EOQ, (r, Q), (s, S), safety stock.

Conventions: ``holding`` (h) is the cost of one unit left over per period, ``stockout`` (p)
the cost of one unit short (backordered) per period. A lead time of ``L`` periods under
periodic review protects ``L + 1`` periods. Costs are expected costs per period.

These closed forms are the reference the per-SKU planning policy (:mod:`replenishment.levels`)
is checked against; they are also handy for a planner's what-if on one item.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from replenishment.loss import inverse_standard_normal_loss, normal_loss, poisson_loss

__all__ = [
    "EOQResult",
    "PolicyResult",
    "RQResult",
    "SSResult",
    "base_stock_normal",
    "base_stock_poisson",
    "critical_ratio",
    "cycle_service_safety_factor",
    "discrete_newsvendor",
    "discrete_newsvendor_cost",
    "economic_order_quantity",
    "eoq_cost",
    "fill_rate_safety_factor",
    "newsvendor_normal",
    "newsvendor_normal_cost",
    "newsvendor_poisson",
    "newsvendor_poisson_cost",
    "r_q_eoq_safety_stock",
    "s_S_poisson",
    "s_S_poisson_cost",
    "safety_stock",
]


@dataclass(frozen=True)
class PolicyResult:
    """An optimal stock level and its expected cost per period."""

    level: float
    cost: float


@dataclass(frozen=True)
class EOQResult:
    quantity: float
    cost: float


@dataclass(frozen=True)
class RQResult:
    reorder_point: float
    quantity: float


@dataclass(frozen=True)
class SSResult:
    s: int
    S: int
    cost: float


def _check_costs(holding: float, stockout: float) -> None:
    if holding <= 0 or stockout <= 0:
        raise ValueError(
            f"holding and stockout costs must be > 0, got holding={holding}, stockout={stockout}"
        )


def critical_ratio(holding: float, stockout: float) -> float:
    """``p / (p + h)``: the optimal probability of not running out."""
    _check_costs(holding, stockout)
    return stockout / (stockout + holding)


def newsvendor_normal_cost(
    level: float, mean: float, std: float, holding: float, stockout: float
) -> float:
    """Expected cost ``h E[(S-D)^+] + p E[(D-S)^+] = h (S - mean) + (h + p) n(S)``."""
    shortage = float(normal_loss(level, mean, std))
    return holding * (level - mean) + (holding + stockout) * shortage


def newsvendor_normal(mean: float, std: float, holding: float, stockout: float) -> PolicyResult:
    """Optimal level ``F^-1(p / (p + h))`` for ``D ~ N(mean, std^2)``."""
    z = float(stats.norm.ppf(critical_ratio(holding, stockout)))
    level = mean + z * std
    return PolicyResult(level, newsvendor_normal_cost(level, mean, std, holding, stockout))


def base_stock_normal(
    mean: float, std: float, lead_time: float, holding: float, stockout: float
) -> PolicyResult:
    """Base-stock level for i.i.d. normal demand per period and a lead time of ``L`` periods.

    The protection period is ``L + 1`` periods (periodic review), so demand over it is
    ``N(mean (L + 1), std^2 (L + 1))``.
    """
    periods = lead_time + 1
    return newsvendor_normal(mean * periods, std * math.sqrt(periods), holding, stockout)


def newsvendor_poisson_cost(level: int, mean: float, holding: float, stockout: float) -> float:
    shortage = float(poisson_loss(level, mean))
    return holding * (level - mean) + (holding + stockout) * shortage


def newsvendor_poisson(mean: float, holding: float, stockout: float) -> PolicyResult:
    """Smallest integer level ``S`` with ``P(D <= S) >= p / (p + h)`` for Poisson demand."""
    level = int(stats.poisson.ppf(critical_ratio(holding, stockout), mean))
    return PolicyResult(level, newsvendor_poisson_cost(level, mean, holding, stockout))


def base_stock_poisson(
    mean: float, lead_time: float, holding: float, stockout: float
) -> PolicyResult:
    """Base stock for Poisson demand per period over a protection period of ``L + 1``."""
    return newsvendor_poisson(mean * (lead_time + 1), holding, stockout)


def _pmf_arrays(pmf: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    values = np.array(sorted(pmf), dtype=float)
    probs = np.array([pmf[int(v)] for v in values], dtype=float)
    if (probs < 0).any() or not math.isclose(probs.sum(), 1.0, abs_tol=1e-9):
        raise ValueError(f"probabilities must be >= 0 and sum to 1, got sum {probs.sum()}")
    return values, probs


def discrete_newsvendor_cost(
    level: float, pmf: Mapping[int, float], holding: float, stockout: float
) -> float:
    values, probs = _pmf_arrays(pmf)
    over = np.maximum(level - values, 0.0)
    under = np.maximum(values - level, 0.0)
    return float(probs @ (holding * over + stockout * under))


def discrete_newsvendor(
    pmf: Mapping[int, float], holding: float, stockout: float
) -> PolicyResult:
    """Newsvendor for a demand given as ``{value: probability}``: the smallest value with
    ``P(D <= value) >= p / (p + h)``."""
    values, probs = _pmf_arrays(pmf)
    ratio = critical_ratio(holding, stockout)
    # A small tolerance so that a cdf equal to the ratio up to rounding counts as reaching it.
    index = int(np.searchsorted(np.cumsum(probs), ratio - 1e-12))
    level = float(values[min(index, len(values) - 1)])
    return PolicyResult(level, discrete_newsvendor_cost(level, pmf, holding, stockout))


def eoq_cost(quantity: float, fixed_cost: float, holding: float, demand_rate: float) -> float:
    """Ordering plus cycle-stock holding cost per unit time, ``K D / Q + h Q / 2``."""
    if quantity <= 0:
        raise ValueError(f"order quantity must be > 0, got {quantity}")
    return fixed_cost * demand_rate / quantity + holding * quantity / 2


def economic_order_quantity(fixed_cost: float, holding: float, demand_rate: float) -> EOQResult:
    """``Q* = sqrt(2 K D / h)``; costs and demand rate in the same time unit."""
    if fixed_cost < 0 or holding <= 0 or demand_rate < 0:
        raise ValueError("EOQ needs fixed_cost >= 0, holding > 0 and demand_rate >= 0")
    quantity = math.sqrt(2 * fixed_cost * demand_rate / holding)
    return EOQResult(quantity, math.sqrt(2 * fixed_cost * demand_rate * holding))


def r_q_eoq_safety_stock(
    fixed_cost: float,
    holding: float,
    stockout: float,
    demand_rate: float,
    demand_std: float,
    lead_time: float,
) -> RQResult:
    """The (r, Q) "EOQ + safety stock" heuristic: ``Q`` = EOQ, ``r`` = the ``p / (p + h)``
    quantile of normal lead-time demand (rate and std per time unit, lead time in that unit)."""
    quantity = economic_order_quantity(fixed_cost, holding, demand_rate).quantity
    z = float(stats.norm.ppf(critical_ratio(holding, stockout)))
    mean = demand_rate * lead_time
    std = demand_std * math.sqrt(lead_time)
    return RQResult(mean + z * std, quantity)


def _renewal_density(pmf: np.ndarray, n: int) -> np.ndarray:
    """``m(j)``: expected number of periods in which cumulative demand equals ``j``."""
    m = np.zeros(n)
    stay = 1.0 - pmf[0]
    m[0] = 1.0 / stay
    for j in range(1, n):
        upto = min(j, len(pmf) - 1)
        m[j] = pmf[1 : upto + 1] @ m[j - 1 :: -1][:upto] / stay
    return m


def _s_S_setup(
    mean: float, holding: float, stockout: float, fixed_cost: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-period cost ``g(y)`` on a grid of levels, the demand pmf and the grid offset."""
    _check_costs(holding, stockout)
    if fixed_cost < 0:
        raise ValueError(f"fixed cost must be >= 0, got {fixed_cost}")
    spread = mean + 10 * math.sqrt(mean) + 10
    cycle = math.sqrt(2 * fixed_cost * mean / holding) if holding > 0 else 0.0
    span = math.ceil(spread + 3 * cycle) + 1
    low = -span
    levels = np.arange(low, span + 1)
    g = holding * (levels - mean) + (holding + stockout) * poisson_loss(levels, mean)
    pmf = stats.poisson.pmf(np.arange(2 * span + 2), mean)
    return g, pmf, low


def s_S_poisson_cost(
    s: int, S: int, mean: float, holding: float, stockout: float, fixed_cost: float
) -> float:
    """Expected cost per period of an (s, S) policy, Poisson demand, zero lead time.

    Order up to ``S`` when the inventory position is ``<= s`` (Zheng and Federgruen's
    renewal formula ``(K + sum_{j < S-s} m(j) g(S - j)) / M(S - s)``).
    """
    if s >= S:
        raise ValueError(f"(s, S) needs S > s, got s={s}, S={S}")
    g, pmf, low = _s_S_setup(mean, holding, stockout, fixed_cost)
    gap = S - s
    m = _renewal_density(pmf, gap)
    index = S - low - np.arange(gap)
    if index.min() < 0 or index.max() >= len(g):
        g_levels = S - np.arange(gap)
        g_path = holding * (g_levels - mean) + (holding + stockout) * poisson_loss(g_levels, mean)
    else:
        g_path = g[index]
    return float((fixed_cost + m @ g_path) / m.sum())


def s_S_poisson(mean: float, holding: float, stockout: float, fixed_cost: float) -> SSResult:
    """Optimal (s, S) for Poisson demand per period and zero lead time, by exhaustive search
    of ``s < y* <= S`` (``y*`` minimises the one-period cost) on a grid wide enough to hold
    the optimum."""
    g, pmf, low = _s_S_setup(mean, holding, stockout, fixed_cost)
    n = len(g)
    y_star = int(np.argmin(g))
    m = _renewal_density(pmf, n)
    cum_m = np.concatenate([[0.0], np.cumsum(m)])
    best = SSResult(0, 1, math.inf)
    for top in range(y_star, n):
        # cost(s, S) for every s below y*: the running sums over j = 0 .. S-s-1.
        gaps = top - np.arange(0, y_star)
        weighted = np.cumsum(m[: top + 1] * g[top::-1][: top + 1])
        costs = (fixed_cost + weighted[gaps - 1]) / cum_m[gaps]
        k = int(np.argmin(costs))
        if costs[k] < best.cost - 1e-12:
            best = SSResult(k + low, top + low, float(costs[k]))
    return best


def safety_stock(
    z: float,
    lead_time: float,
    demand_std: float,
    demand_mean: float = 0.0,
    lead_time_std: float = 0.0,
) -> float:
    """``z sqrt(L sigma_D^2 + D^2 sigma_L^2)`` for independent demand and lead time.

    ``demand_mean`` and ``demand_std`` are per period, ``lead_time`` and ``lead_time_std``
    in periods.
    """
    if lead_time < 0 or demand_std < 0 or lead_time_std < 0:
        raise ValueError("lead time and standard deviations must be >= 0")
    return z * math.sqrt(lead_time * demand_std**2 + demand_mean**2 * lead_time_std**2)


def cycle_service_safety_factor(service_level: float) -> float:
    """``z = Phi^-1(alpha)``: the share of cycles without a stockout is ``alpha``."""
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be in (0, 1), got {service_level}")
    return float(stats.norm.ppf(service_level))


def fill_rate_safety_factor(fill_rate: float, order_quantity: float, demand_std: float) -> float:
    """``k`` with ``sigma L(k) = (1 - beta) Q``: the expected units short per cycle equal the
    share ``1 - beta`` of the order quantity (type 2 service, normal protection demand)."""
    if not 0 < fill_rate < 1:
        raise ValueError(f"fill rate must be in (0, 1), got {fill_rate}")
    if order_quantity <= 0 or demand_std <= 0:
        raise ValueError("order quantity and demand std must be > 0")
    return inverse_standard_normal_loss((1 - fill_rate) * order_quantity / demand_std)
