"""Seeded synthetic order problems: realistic shapes for tests and the optimiser benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replenishment.optimizer import OrderProblem

__all__ = ["synthetic_order_problem"]


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
