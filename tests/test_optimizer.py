"""The order optimiser: every constraint holds, honest solver status, clear conflicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.contract import DataContractError
from forecasting.scenarios import DemandScenarios
from replenishment.config import PlanningConfig
from replenishment.levels import stock_levels
from replenishment.optimizer import (
    InfeasiblePlanError,
    OrderPlan,
    OrderProblem,
    optimize_orders,
    order_items,
    order_suppliers,
)
from replenishment.synthetic import synthetic_order_problem


def _check_constraints(problem: OrderProblem, plan: OrderPlan) -> None:
    items = plan.items.merge(problem.items[["sku", "volume_m3"]], on="sku")
    assert (items["qty"] % items["case_pack"] == 0).all()
    assert ((items["qty"] == 0) | (items["qty"] >= items["moq"])).all()
    totals = items.groupby("supplier").agg(units=("qty", "sum"), value=("line_value", "sum"))
    limits = problem.suppliers.set_index("supplier").join(totals)
    ordered = limits["units"] > 0
    assert (limits.loc[ordered, "value"] >= limits.loc[ordered, "min_order_value"] - 1e-6).all()
    capacity = limits["capacity_units"].fillna(np.inf)
    assert (limits["units"] <= capacity + 1e-9).all()
    if problem.budget is not None:
        assert items["line_value"].sum() <= problem.budget + 1e-6
    if problem.volume_cap_m3 is not None:
        assert (items["qty"] * items["volume_m3"]).sum() <= problem.volume_cap_m3 + 1e-9


def test_every_constraint_holds_with_shared_budget_and_volume() -> None:
    problem = synthetic_order_problem(80, 6, seed=3, budget_share=0.5, volume_share=0.6)
    plan = optimize_orders(problem, compute_lp_bound=True)
    _check_constraints(problem, plan)
    report = plan.report
    assert report.strategy == "coupled"
    assert report.proven_optimal and report.status == "optimal"
    assert report.gap <= PlanningConfig().mip_gap
    assert report.lp_bound <= report.bound + 1e-6 <= report.objective + 1e-6
    # The budget binds: less is bought than without it.
    free = optimize_orders(synthetic_order_problem(80, 6, seed=3))
    assert plan.items["line_value"].sum() < free.items["line_value"].sum()
    assert free.report.strategy == "per_supplier" and free.report.blocks == 6
    _check_constraints(synthetic_order_problem(80, 6, seed=3), free)


def test_time_limited_solve_is_not_reported_as_optimal() -> None:
    problem = synthetic_order_problem(600, 20, seed=5, budget_share=0.4, volume_share=0.5)
    config = PlanningConfig(time_limit_s=0.05, mip_gap=0.0)
    plan = optimize_orders(problem, config)
    assert not plan.report.proven_optimal
    assert plan.report.status == "time_limit"
    assert "NOT proven optimal" in plan.report.message
    _check_constraints(problem, plan)


def _one_sku(**overrides: float) -> OrderProblem:
    rng = np.random.default_rng(0)
    item = {"sku": "a", "supplier": "S", "unit_cost": 10.0, "case_pack": 1, "moq": 0,
            "inventory_position": 0.0, "holding_cost": 1.0, "stockout_cost": 9.0}
    item.update(overrides)
    suppliers = pd.DataFrame({"supplier": ["S"]})
    return OrderProblem(pd.DataFrame([item]), rng.poisson(100, (1, 400)).astype(float), suppliers)


def _qty(plan: OrderPlan) -> float:
    return float(plan.items["qty"].to_numpy()[0])


def test_stockout_cost_dominating_orders_and_holding_dominating_does_not() -> None:
    demand = _one_sku().demand[0]
    ordered = _qty(optimize_orders(_one_sku(stockout_cost=9.0, holding_cost=1.0)))
    # Newsvendor: the 90% quantile of demand, up to the shortage curve's breakpoints.
    assert np.quantile(demand, 0.8) <= ordered <= np.quantile(demand, 0.97)
    # Stock covering mean demand: worth topping up only when stockouts cost more than holding.
    covered = {"inventory_position": 100.0}
    assert _qty(optimize_orders(_one_sku(stockout_cost=50.0, holding_cost=1.0, **covered))) > 0
    assert _qty(optimize_orders(_one_sku(stockout_cost=1.0, holding_cost=50.0, **covered))) == 0


def test_moq_is_all_or_nothing_and_case_packs_whole() -> None:
    plan = optimize_orders(_one_sku(case_pack=12, moq=200, inventory_position=60.0))
    qty = _qty(plan)
    assert qty % 12 == 0 and (qty == 0 or qty >= 200)
    small = optimize_orders(_one_sku(case_pack=12, moq=200, inventory_position=95.0,
                                     stockout_cost=2.0))
    assert _qty(small) in (0, 204)


def test_budget_below_mandatory_orders_is_a_clear_error() -> None:
    problem = _one_sku(min_qty=150.0, case_pack=12)
    problem = OrderProblem(problem.items, problem.demand, problem.suppliers, budget=1000.0)
    with pytest.raises(InfeasiblePlanError) as err:
        optimize_orders(problem)
    message = str(err.value)
    assert "budget" in message and "1000" in message and "1,560.00" in message
    assert "mandatory" in message


def test_capacity_below_mandatory_need_names_the_supplier() -> None:
    base = _one_sku(min_qty=150.0)
    suppliers = pd.DataFrame({"supplier": ["S"], "capacity_units": [100.0]})
    with pytest.raises(InfeasiblePlanError, match="capacity is below the mandatory orders"):
        optimize_orders(OrderProblem(base.items, base.demand, suppliers))


def test_solver_infeasibility_becomes_a_message() -> None:
    base = _one_sku(min_qty=10.0, max_qty=10.0)
    suppliers = pd.DataFrame({"supplier": ["S"], "min_order_value": [10_000.0]})
    with pytest.raises(InfeasiblePlanError, match="minimum order value"):
        optimize_orders(OrderProblem(base.items, base.demand, suppliers))


def test_bad_input_names_the_row() -> None:
    base = _one_sku(case_pack=0)
    with pytest.raises(DataContractError) as err:
        optimize_orders(base)
    problem = err.value.problems[0]
    assert (problem.row, problem.column, problem.value) == (2, "case_pack", "0.0")


def test_cbc_fallback_finds_the_same_optimum() -> None:
    problem = synthetic_order_problem(30, 3, seed=2, budget_share=0.5)
    highs = optimize_orders(problem)
    cbc = optimize_orders(problem, PlanningConfig(solver="cbc"))
    _check_constraints(problem, cbc)
    assert cbc.report.proven_optimal
    assert cbc.report.objective == pytest.approx(highs.report.objective, rel=2e-3)


def test_unconstrained_plan_orders_up_to_the_service_level_target() -> None:
    rng = np.random.default_rng(4)
    paths = np.clip(rng.normal(100, 10, (2, 2000, 30)), 0, None)
    scenarios = DemandScenarios(pd.Index(["a", "b"]), pd.date_range("2025-01-01", periods=30),
                                paths)
    stock = pd.DataFrame({"sku": ["a", "b"], "on_hand": [300.0, 2000.0], "lead_time_days": 9.0,
                          "review_days": 1.0, "service_level": [0.95, 0.9]})
    levels = stock_levels(stock, scenarios)
    products = pd.DataFrame({"sku": ["a", "b"], "supplier": "S", "unit_cost": 5.0,
                             "case_pack": 1, "moq": 0})
    items, demand = order_items(levels, products)
    suppliers = order_suppliers(pd.DataFrame({"supplier": ["S"], "lead_time_days": [9.0]}))
    plan = optimize_orders(OrderProblem(items, demand, suppliers))
    need = levels.table["raw_need"].to_numpy()
    np.testing.assert_allclose(plan.items["qty"].to_numpy(), np.ceil(need), atol=2.0)
    assert plan.lines["sku"].tolist() == ["a"]
