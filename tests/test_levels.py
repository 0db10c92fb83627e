"""Per-SKU stock levels from demand scenarios against the textbook formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.contract import DataContractError
from forecasting.scenarios import DemandScenarios
from replenishment.config import PlanningConfig
from replenishment.levels import abc_classes, lead_time_quantiles, stock_levels
from replenishment.loss import empirical_loss
from replenishment.policy import cycle_service_safety_factor, fill_rate_safety_factor

Z95 = cycle_service_safety_factor(0.95)


def _scenarios(paths: np.ndarray, skus: list[str]) -> DemandScenarios:
    dates = pd.date_range("2025-01-01", periods=paths.shape[2], freq="D")
    return DemandScenarios(pd.Index(skus), dates, paths)


def _normal_scenarios(n_paths: int = 4000, horizon: int = 40) -> DemandScenarios:
    rng = np.random.default_rng(1)
    return _scenarios(np.clip(rng.normal(100, 10, (1, n_paths, horizon)), 0, None), ["n"])


def _item(**values: float | str) -> pd.DataFrame:
    row: dict[str, float | str] = {"sku": "n", "on_hand": 500.0, "lead_time_days": 9.0,
                                   "review_days": 1.0, "service_level": 0.95}
    row.update(values)
    return pd.DataFrame([row])


def test_cycle_service_levels_match_the_normal_formula() -> None:
    levels = stock_levels(_item(on_order=200.0, backorders=50.0), _normal_scenarios()).table
    row = levels.iloc[0]
    assert row.inventory_position == 650
    assert row.protection_demand == pytest.approx(1000, rel=0.005)
    assert row.safety_stock == pytest.approx(Z95 * 10 * np.sqrt(10), rel=0.06)
    assert row.reorder_point == pytest.approx(900 + Z95 * 10 * 3, rel=0.005)
    assert row.raw_need == pytest.approx(row.order_up_to - 650)


def test_lead_time_variability_matches_the_variance_formula() -> None:
    config = PlanningConfig(lead_time_strata=16)
    result = stock_levels(_item(lead_time_std_days=2.0), _normal_scenarios(), config)
    expected_std = np.sqrt(10 * 10**2 + 100**2 * 2**2)
    assert result.table.protection_demand_std.iloc[0] == pytest.approx(expected_std, rel=0.06)
    # Gamma lead times are right-skewed: at least the normal formula's safety stock, not far more.
    safety = result.table.safety_stock.iloc[0]
    assert Z95 * expected_std * 0.97 < safety < Z95 * expected_std * 1.15
    lead_times = lead_time_quantiles(np.array([9.0]), np.array([2.0]), 16)
    assert lead_times.mean() == pytest.approx(9.0, rel=0.01)


def test_fill_rate_target_solves_the_loss_equation() -> None:
    config = PlanningConfig(service_target="fill_rate")
    result = stock_levels(_item(), _normal_scenarios(), config)
    row = result.table.iloc[0]
    cycle_demand = row.protection_demand - row.lead_time_demand
    short = empirical_loss(result.protection_demand[0], row.order_up_to) - empirical_loss(
        result.lead_time_demand[0], row.order_up_to
    )
    assert short == pytest.approx(0.05 * cycle_demand, rel=1e-3)
    k = fill_rate_safety_factor(0.95, order_quantity=100, demand_std=30)
    assert row.reorder_point == pytest.approx(900 + k * 30, abs=2.0)


def test_protection_demand_is_not_the_sum_of_daily_quantiles() -> None:
    rng = np.random.default_rng(3)
    # Intermittent demand: a sale on about one day in five.
    paths = rng.binomial(1, 0.2, (1, 2000, 30)) * rng.poisson(3, (1, 2000, 30))
    levels = stock_levels(_item(lead_time_days=6.0), _scenarios(paths.astype(float), ["n"]))
    daily_sum = np.quantile(paths[0], 0.95, axis=0)[:7].sum()
    assert levels.table.order_up_to.iloc[0] < 0.6 * daily_sum


def test_abc_classes_set_missing_service_levels() -> None:
    revenue = pd.Series([50.0, 30.0, 15.0, 5.0], index=["a", "b", "c", "d"])
    assert abc_classes(revenue).tolist() == ["A", "A", "B", "C"]
    rng = np.random.default_rng(0)
    scenarios = _scenarios(rng.poisson(5, (4, 200, 20)).astype(float), list(revenue.index))
    items = pd.DataFrame({"sku": revenue.index, "on_hand": 10.0, "lead_time_days": 3.0,
                          "revenue": revenue.to_numpy(),
                          "service_level": [np.nan, 0.5, np.nan, np.nan]})
    table = stock_levels(items, scenarios).table
    assert table.service_level.tolist() == [0.98, 0.5, 0.95, 0.90]
    assert table.review_days.tolist() == [7.0] * 4


def test_bad_input_names_row_column_and_value() -> None:
    with pytest.raises(DataContractError) as err:
        stock_levels(_item(on_hand=-3.0), _normal_scenarios(100))
    problem = err.value.problems[0]
    assert (problem.row, problem.column, problem.value) == (2, "on_hand", "-3.0")
    with pytest.raises(DataContractError, match="demand scenarios"):
        stock_levels(_item(sku="unknown"), _normal_scenarios(100))
    with pytest.raises(DataContractError, match="abc_class"):
        stock_levels(_item(service_level=np.nan), _normal_scenarios(100))
