"""The default demo brand (300 SKUs as of 2026-10-31, Double 11 ahead): no order line buys
demand that falls before it can arrive.

For every line, the units it buys for its own window (the line less the units rounded up to
cases and MOQs, lifted to the supplier's minimum order value or built ahead for a later peak)
are at most the service-level quantile of demand over its own coverage window (from its
arrival to the next possible arrival, widened by two standard deviations of the supplier's
lead time for late deliveries), read independently from the forecast's sample paths:
demand before the arrival is never bought. (Stock at arrival varies by path under lost
sales: where it is high, demand was low, so the line is the quantile of the window's demand
net of that stock, which is at most the window's quantile.) The stationary policy failed this
on the demo's largest line (8,760 units of
CRM-0121 arriving 2026-11-25, sized on 11,329 units of protection demand that included
Double 11).

The forecast is the engine's, made cheaper (one backtest window, 60 trees, 200 paths) and
long enough for the plan (:func:`replenishment.timeline.planning_horizon`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.sample import DEFAULT_AS_OF, generate_brand
from forecasting.config import ForecastConfig
from forecasting.engine import Forecaster, ForecastResult
from replenishment.config import PlanningConfig
from replenishment.contract import parse_dataset
from replenishment.plan import PlanResult, plan
from replenishment.simulate import simulation_forecast_config
from replenishment.timeline import planning_horizon


@pytest.fixture(scope="module")
def demo() -> tuple[PlanResult, ForecastResult]:
    brand = generate_brand()
    dataset = parse_dataset({name: (frame, name) for name, frame in brand.tables.items()},
                            require=("sales", "products", "suppliers", "inventory"))
    config = PlanningConfig()
    # A cheap global model (60 trees, 200 days) is enough to check the plan's invariant.
    cheap = ForecastConfig(train_history=200, lightgbm_params={"n_estimators": 60})
    forecast_config = simulation_forecast_config(
        cheap, 7, 1, planning_horizon(dataset.supply.suppliers, config))
    forecast = Forecaster(forecast_config).fit(
        dataset.demand.until(DEFAULT_AS_OF), DEFAULT_AS_OF,
        products=dataset.supply.products).predict()
    return plan(dataset, forecast, config, DEFAULT_AS_OF), forecast


def test_no_order_line_buys_demand_before_its_arrival(
    demo: tuple[PlanResult, ForecastResult],
) -> None:
    result, forecast = demo
    orders = result.orders
    assert len(orders) > 0
    scenarios = forecast.scenarios
    first_day = DEFAULT_AS_OF + pd.Timedelta(days=1)
    start = (orders["coverage_start"] - scenarios.dates[0]).dt.days.to_numpy()
    # A late delivery covers later days and an early one earlier days: the window is
    # widened by two standard deviations of the supplier's lead time on both sides (the
    # firm order's arrival is drawn per path). With the presale deposits, Double 11's
    # final-payment days (11-10, 11-11) are a known spike within them of orders expected
    # on 11-13 to 11-15, which the paths arriving early serve.
    spread = orders["supplier"].map(result.levels.drop_duplicates("supplier").set_index(
        "supplier")["lead_time_std_days"]).to_numpy(float)
    early = np.minimum(np.ceil(2 * spread).astype(int), start)
    length = ((orders["coverage_end"] - orders["coverage_start"]).dt.days + 1).to_numpy()
    length = length + np.ceil(2 * spread).astype(int) + early
    start = start - early
    rows = scenarios.skus.get_indexer(pd.Index(orders["sku"]))
    window = np.stack([scenarios.paths[r, :, s:s + n].sum(axis=1)
                       for r, s, n in zip(rows, start, length, strict=True)])
    target = np.array([np.quantile(w, a) for w, a in zip(window, orders["service_level"],
                                                          strict=True)])
    brought = (orders["qty"] - orders["case_rounding"] - orders["moq_lift"]
               - orders["min_value_lift"] - orders["build_ahead"]).to_numpy()
    over = brought - target
    worst = orders.assign(over=over).sort_values("over").tail(3)
    assert (over <= np.maximum(0.02 * target, 1.0)).all(), worst[
        ["sku", "qty", "expected_arrival", "stock_at_arrival", "need", "protection_demand"]]
    assert (orders["expected_arrival"] > first_day).all()

