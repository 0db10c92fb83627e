"""The order MILP of one supplier block: the newsvendor answer when nothing binds, whole case
packs, MOQ either 0 or met, supplier minimum value, capacity and budget respected, and an
infeasible block reported rather than guessed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from replenishment.milp import ItemArrays, SupplierArrays, solve_block
from replenishment.shortage import shortage_curves

# Demand over the protection period: 0, 1, ..., 99 units, equally likely.
UNIFORM = np.arange(100, dtype=float)


def _items(n: int = 1, pack: int = 1, holding: float = 1.0, stockout: float = 9.0,
           moq_cases: int = 0, min_cases: int = 0, unit_cost: float = 2.0,
           supplier: list[int] | None = None) -> ItemArrays:
    max_cases = 200 // pack
    demand = np.tile(UNIFORM, (n, 1))
    focus = np.full(n, stockout / (stockout + holding))
    curves = shortage_curves(demand, np.zeros(n), np.full(n, pack), np.full(n, max_cases * pack),
                             focus=focus)
    return ItemArrays(
        supplier=np.array(supplier or [0] * n), case_pack=np.full(n, pack),
        unit_cost=np.full(n, unit_cost), volume_m3=np.full(n, 0.01),
        holding=np.full(n, holding), stockout=np.full(n, stockout),
        min_cases=np.full(n, min_cases), max_cases=np.full(n, max_cases),
        moq_cases=np.full(n, moq_cases), curves=curves,
    )


def _suppliers(min_value: float = 0.0, capacity: float = math.inf,
               n: int = 1) -> SupplierArrays:
    return SupplierArrays(min_order_value=np.full(n, min_value),
                          capacity_units=np.full(n, capacity), order_cost=np.zeros(n))


def _units(result_cases: np.ndarray | None, pack: int = 1) -> float:
    assert result_cases is not None
    return float(result_cases[0] * pack)


def test_unconstrained_order_is_the_newsvendor_quantile() -> None:
    """Stockout 9 and holding 1 a unit: critical ratio 0.9, so order the smallest q with
    P(D <= q) >= 0.9, 89 units (90 costs the same: the objective is flat between them)."""
    result = solve_block("one", _items(), _suppliers(), np.array([0]))
    assert result.proven_optimal and not result.infeasible
    assert _units(result.cases) in (89.0, 90.0)
    # Objective (p + h) E[short] + h q at q = 89: 10 * (10 * 11 / 2) / 100 + 89.
    assert result.objective == pytest.approx(10 * 55 / 100 + 89, rel=1e-6)


def test_orders_are_whole_case_packs() -> None:
    result = solve_block("packs", _items(pack=12), _suppliers(), np.array([0]))
    assert result.cases is not None and float(result.cases[0]).is_integer()
    # 7 cases (84 units) or 8 (96): the cases either side of the 89-unit optimum.
    assert _units(result.cases, 12) in (84.0, 96.0)


def test_a_moq_is_either_met_or_nothing_is_ordered() -> None:
    # Cheap to hold, a MOQ of 150 units: ordering 150 beats ordering nothing.
    met = solve_block("moq", _items(moq_cases=150), _suppliers(), np.array([0]))
    assert _units(met.cases) == 150.0
    # Expensive to hold: nothing is better than 150 units.
    skipped = solve_block("moq", _items(moq_cases=150, holding=20.0, stockout=1.0),
                          _suppliers(), np.array([0]))
    assert _units(skipped.cases) == 0.0


def test_capacity_budget_and_minimum_value_bind() -> None:
    rows = np.array([0])
    capped = solve_block("cap", _items(), _suppliers(capacity=50.0), rows)
    assert _units(capped.cases) == 50.0
    budget = solve_block("budget", _items(unit_cost=2.0), _suppliers(), rows, budget=60.0)
    assert _units(budget.cases) == 30.0
    # A minimum order value of 400 is 200 units at 2: their cost, 200 (10 * 0 short + 1 *
    # 200 held), beats ordering nothing, 495 (10 * 49.5 short).
    minimum = solve_block("min", _items(unit_cost=2.0), _suppliers(min_value=400.0), rows)
    assert _units(minimum.cases) == 200.0
    # Worth it no longer when holding costs 5 a unit: 1,000 against 14 * 49.5 = 693.
    skipped = solve_block("min", _items(unit_cost=2.0, holding=5.0, stockout=9.0),
                          _suppliers(min_value=400.0), rows)
    assert _units(skipped.cases) == 0.0


def test_a_forced_order_above_capacity_is_infeasible() -> None:
    result = solve_block("stuck", _items(min_cases=80), _suppliers(capacity=50.0),
                         np.array([0]))
    assert result.infeasible and result.cases is None


def test_the_lp_relaxation_bounds_the_integer_optimum() -> None:
    items, suppliers, rows = _items(pack=12, moq_cases=5), _suppliers(), np.array([0])
    exact = solve_block("int", items, suppliers, rows)
    relaxed = solve_block("lp", items, suppliers, rows, relax=True)
    assert relaxed.objective <= exact.objective + 1e-6


def test_only_the_rows_of_the_block_are_ordered() -> None:
    items = _items(n=3, supplier=[0, 0, 1])
    result = solve_block("block", items, _suppliers(n=2), np.array([0, 2]))
    assert result.cases is not None
    assert result.cases[1] == 0.0 and result.cases[0] > 0 and result.cases[2] > 0
