"""Seeded synthetic order problems: realistic shapes for tests and the optimiser benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replenishment.multiperiod import PeriodTerms
from replenishment.optimizer import OrderProblem

__all__ = ["synthetic_order_problem", "synthetic_period_problem"]


def synthetic_order_problem(
    n_skus: int,
    n_suppliers: int,
    *,
    seed: int = 0,
    n_paths: int = 200,
    budget_share: float | None = None,
    volume_share: float | None = None,
) -> OrderProblem:
    """A catalogue of ``n_skus`` spread over ``n_suppliers`` with MOQs, case packs, minimum
    order values, capacities and negative-binomial protection-period demand.

    ``budget_share`` / ``volume_share`` set a shared budget / warehouse volume to that share
    of what ordering every SKU up to its mean-plus-two-sigma need would take (so below 1 they
    bind).
    """
    rng = np.random.default_rng(seed)
    supplier_ids = np.array([f"S{j:03d}" for j in range(n_suppliers)])
    supplier = supplier_ids[np.r_[np.arange(n_suppliers), rng.integers(0, n_suppliers,
                                                                         n_skus - n_suppliers)]]
    unit_cost = np.round(rng.lognormal(3.0, 0.8, n_skus), 2)
    case_pack = rng.choice([1, 4, 6, 12, 24], n_skus)
    moq = case_pack * rng.choice([0, 1, 2, 4, 10], n_skus, p=[0.3, 0.2, 0.2, 0.2, 0.1])
    daily = rng.lognormal(1.0, 1.2, n_skus)
    days = rng.integers(7, 35, n_skus) + 7
    mean = daily * days
    dispersion = rng.uniform(1.0, 4.0, n_skus)  # variance / mean
    shape = mean / (dispersion - 1 + 1e-9)
    demand = rng.negative_binomial(shape[:, None], 1 / dispersion[:, None], (n_skus, n_paths))
    position = np.round(mean * rng.uniform(0.0, 1.4, n_skus))
    holding = unit_cost * 0.25 * 7 / 365
    level = rng.choice([0.9, 0.95, 0.98], n_skus)
    items = pd.DataFrame({
        "sku": [f"P{i:05d}" for i in range(n_skus)], "supplier": supplier,
        "unit_cost": unit_cost, "case_pack": case_pack, "moq": moq,
        "volume_m3": np.round(rng.uniform(0.001, 0.05, n_skus), 4),
        "inventory_position": position, "holding_cost": holding,
        "stockout_cost": holding * level / (1 - level),
    })
    need = np.maximum(mean + 2 * np.sqrt(mean * dispersion) - position, 0)
    need_units = pd.Series(need).groupby(supplier).sum()
    need_value = pd.Series(need * unit_cost).groupby(supplier).sum()
    suppliers = pd.DataFrame({"supplier": supplier_ids})
    suppliers["min_order_value"] = np.where(
        rng.random(n_suppliers) < 0.6,
        np.round(need_value.reindex(supplier_ids).fillna(0).to_numpy()
                 * rng.uniform(0.1, 0.5, n_suppliers), -1), 0.0)
    suppliers["capacity_units"] = np.where(
        rng.random(n_suppliers) < 0.5,
        np.ceil(need_units.reindex(supplier_ids).fillna(0).to_numpy()
                * rng.uniform(0.6, 1.2, n_suppliers)) + 50, np.nan)
    suppliers["order_cost"] = np.round(rng.uniform(0, 40, n_suppliers), 2)
    budget = None if budget_share is None else float(budget_share * (need * unit_cost).sum())
    volume = None if volume_share is None else float(
        volume_share * (need * items["volume_m3"]).sum())
    return OrderProblem(items, demand.astype(float), suppliers, budget, volume)


def synthetic_period_problem(n_skus: int, n_suppliers: int, periods: int = 13,
                             seed: int = 0) -> tuple[np.ndarray, PeriodTerms]:
    """A seeded multi-period problem: weekly need per SKU (lognormal level, mean ~40 units,
    with a festival peak of 4x in weeks 5-6 and a livestream spike of 3x for a fifth of the
    SKUs in a random week), case packs of 1-24, MOQs of 0-4 cases, supplier capacity 1.3x
    its mean week (so the peaks must be built ahead) and a minimum order value of 20% of a
    mean week's value; holding 0.25/year of cost per week, stock-out cost the price (2x cost).
    """
    rng = np.random.default_rng(seed)
    level = rng.lognormal(np.log(30), 0.8, n_skus)
    lift = np.ones((n_skus, periods))
    lift[:, 4:6] = 4.0
    spiking = rng.random(n_skus) < 0.2
    lift[spiking, rng.integers(0, periods, spiking.sum())] *= 3.0
    need = np.round(level[:, None] * lift * rng.gamma(8, 1 / 8, (n_skus, periods)))
    supplier = rng.integers(0, n_suppliers, n_skus)
    pack = rng.choice([1, 6, 12, 24], n_skus).astype(float)
    moq = rng.integers(0, 5, n_skus) * pack
    cost = rng.uniform(5, 200, n_skus)
    weekly = need.mean(axis=1)
    mean_week = np.bincount(supplier, weekly, n_suppliers)
    mean_value = np.bincount(supplier, weekly * cost, n_suppliers)
    terms = PeriodTerms(
        supplier=supplier, case_pack=pack, moq=moq, unit_cost=cost,
        holding=cost * 0.25 * 7 / 365, stockout=2 * cost,
        capacity=np.maximum(np.ceil(1.3 * mean_week), 24.0),
        min_order_value=0.2 * mean_value,
    )
    return need, terms
