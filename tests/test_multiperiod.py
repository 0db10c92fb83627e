"""The capacity pass of the multi-period plan, by hand and against the exact MILP."""

from __future__ import annotations

import numpy as np
import pytest

from replenishment.multiperiod import PeriodTerms, build_ahead, optimise_periods, plan_cost


def _terms(capacity: float) -> PeriodTerms:
    """A dear SKU (cost 10) and a cheap one (cost 1) from one supplier, case packs of 1."""
    cost = np.array([10.0, 1.0])
    return PeriodTerms(supplier=np.array([0, 0]), case_pack=np.ones(2), moq=np.zeros(2),
                       unit_cost=cost, holding=0.01 * cost, stockout=2 * cost,
                       capacity=np.array([capacity]), min_order_value=np.zeros(1))


def test_a_peak_above_capacity_is_built_ahead_with_the_cheapest_units() -> None:
    """Review 1 needs 10 of each, capacity 10 per review: the dear SKU is made at review 1
    (least holding), the cheap one a review earlier."""
    need = np.array([[0.0, 10.0], [0.0, 10.0]])
    terms = _terms(10)
    plan = build_ahead(need, terms.supplier, terms.capacity, terms.case_pack, terms.holding,
                       terms.stockout)
    assert plan.qty.tolist() == [[0.0, 10.0], [10.0, 0.0]]
    assert plan.ahead.tolist() == [[0.0, 0.0], [10.0, 0.0]]
    assert plan.short.tolist() == [0.0, 0.0]


def test_what_no_review_can_hold_is_cut_from_the_cheapest_shortage() -> None:
    """Review 0 also needs 5 of the dear SKU: 5 + 10 built ahead > 10, so 5 of the cheap
    SKU's units are short, not the dear one's."""
    need = np.array([[5.0, 10.0], [0.0, 10.0]])
    terms = _terms(10)
    plan = build_ahead(need, terms.supplier, terms.capacity, terms.case_pack, terms.holding,
                       terms.stockout)
    assert plan.qty.tolist() == [[5.0, 10.0], [5.0, 0.0]]
    assert plan.short.tolist() == [0.0, 5.0]


def test_units_moved_keep_the_moq() -> None:
    """Review 1 needs 6 of each, capacity 10; the cheap SKU's MOQ is 8. The dear SKU keeps
    its 6; the 4 units of room left are below the cheap SKU's MOQ, so its whole 6 move to
    the firm order, lifted to its MOQ of 8 (without the MOQ it kept 4 and moved 2)."""
    need = np.array([[0.0, 6.0], [0.0, 6.0]])
    terms = _terms(10)
    plan = build_ahead(need, terms.supplier, terms.capacity, terms.case_pack, terms.holding,
                       terms.stockout, moq=np.array([0.0, 8.0]), unit_cost=terms.unit_cost)
    assert plan.qty.tolist() == [[0.0, 6.0], [8.0, 0.0]]
    assert plan.ahead.tolist() == [[0.0, 0.0], [8.0, 0.0]]
    assert plan.moq_lift.tolist() == [[0.0, 0.0], [2.0, 0.0]]
    assert plan.short.tolist() == [0.0, 0.0]
    free = build_ahead(need, terms.supplier, terms.capacity, terms.case_pack, terms.holding,
                       terms.stockout)
    assert free.qty.tolist() == [[0.0, 6.0], [2.0, 4.0]]


def test_units_moved_open_no_order_below_the_minimum_value() -> None:
    """One SKU at cost 1, capacity 20, minimum order value 15; needs 5, 12, 0, 24. Review 3
    keeps 20 and 4 move; review 2 has no order and 4 are worth less than 15, so they go on
    to review 1, whose order (12 + 4 = 16) meets the minimum."""
    need = np.array([[5.0, 12.0, 0.0, 24.0]])
    args = (need, np.array([0]), np.array([20.0]), np.ones(1), np.ones(1), np.ones(1))
    plan = build_ahead(*args, unit_cost=np.ones(1), min_order_value=np.array([15.0]))
    assert plan.qty.tolist() == [[5.0, 16.0, 0.0, 20.0]]
    assert plan.ahead.tolist() == [[0.0, 4.0, 0.0, 0.0]]
    assert build_ahead(*args).qty.tolist() == [[5.0, 12.0, 4.0, 20.0]]


def test_the_capacity_pass_matches_the_exact_lot_sizing_milp() -> None:
    rng = np.random.default_rng(3)
    need = rng.integers(0, 30, (8, 6)).astype(float)
    need[:, 3] *= 4  # a peak
    cost = rng.uniform(1, 50, 8)
    terms = PeriodTerms(supplier=np.zeros(8, int), case_pack=np.ones(8), moq=np.zeros(8),
                        unit_cost=cost, holding=0.005 * cost, stockout=2 * cost,
                        capacity=np.array([float(need.sum(axis=0).mean()) * 1.1]),
                        min_order_value=np.zeros(1))
    greedy = build_ahead(need, terms.supplier, terms.capacity, terms.case_pack, terms.holding,
                         terms.stockout)
    exact = optimise_periods(need, terms, time_limit_s=30)
    assert exact.proven_optimal
    assert plan_cost(need, greedy.qty, terms) == pytest.approx(exact.objective, rel=1e-3)
