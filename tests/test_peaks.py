"""Known answers at the peaks, computed by hand: demand is the same on every path (so every
quantile is that demand), case packs of 1, no MOQ, lead time 7 days, weekly reviews.

Calendar: as_of = Sunday 2025-03-02; day 0 = Monday 2025-03-03; the firm order goes out on
day 0 and arrives on day 7 (2025-03-10), covering days 7-13; review 1's order arrives on
day 14, review 2's on day 21.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, Forecast, make_dataset, scenarios_from

from replenishment.config import PlanningConfig
from replenishment.phased import project
from replenishment.plan import PlanResult, plan

HORIZON = 140
PATHS = 20
FIRST_DAY = AS_OF + pd.Timedelta(days=1)


def _forecast(daily: dict[str, np.ndarray], channel: str = "tmall") -> Forecast:
    skus = list(daily)
    paths = np.stack([np.repeat(daily[s][None, :], PATHS, axis=0) for s in skus])
    scenarios = scenarios_from(paths, skus, FIRST_DAY)
    frame = pd.DataFrame({
        "sku": np.repeat(skus, HORIZON), "date": np.tile(scenarios.dates, len(skus)),
        "forecast": paths.mean(axis=1).reshape(-1),
    })
    for q in (50, 90, 95, 99):
        frame[f"p{q}"] = frame["forecast"]
    frame["model"] = "test"
    return Forecast(frame.assign(channel=channel), frame, scenarios)


def _steady(rate: float = 10.0, peaks: dict[int, float] | None = None) -> np.ndarray:
    demand = np.full(HORIZON, rate)
    for day, units in (peaks or {}).items():
        demand[day] = units
    return demand


def _dataset(on_hand: float, capacity: str = "", products_extra: str = "",
             launch_column: str = "") -> object:
    header = "sku,supplier,unit_cost,case_pack,moq,name,category,price,status" + (
        ",launch_date,launch_units" if launch_column else "")
    row = "P1,S1,10,1,0,peak serum,skincare,30,active" + (",," if launch_column else "")
    return make_dataset(
        sales="date,sku,channel,units,price\n2025-02-28,P1,tmall,10,30\n",
        products=f"{header}\n{row}\n{products_extra}",
        suppliers=("supplier,lead_time_days,lead_time_std_days,review_days,min_order_value,"
                   f"capacity_units_per_week\nS1,7,0,7,0,{capacity}\n"),
        inventory=f"sku,on_hand\nP1,{on_hand}\n",
        open_orders="sku,supplier,qty,eta\n",
    )


def _firm(result: PlanResult, sku: str = "P1") -> pd.Series:
    rows = result.orders[result.orders["sku"] == sku]
    assert len(rows) == 1
    return rows.iloc[0]


def _receipts(result: PlanResult, sku: str = "P1") -> pd.Series:
    frame = result.order_forecast[result.order_forecast["sku"] == sku]
    return frame.set_index("week")["qty"]


def test_a_peak_before_the_order_can_arrive_is_not_bought() -> None:
    """50 on hand, 10 a day and 100 on day 3: stock runs out on day 3 (20 served, 80 lost),
    days 4-6 lose 30 more; the order arriving on day 7 covers days 7-13 only: 7 x 10 = 70.
    The stationary policy bought 10 x 13 + 100 - 50 = 180."""
    forecast = _forecast({"P1": _steady(peaks={3: 100.0})})
    line = _firm(plan(_dataset(50), forecast, PlanningConfig(), AS_OF))
    assert line["qty"] == 70
    assert line["stock_at_arrival"] == pytest.approx(0.0)
    assert line["lost_before_arrival"] == pytest.approx(110.0)
    assert line["demand_before_arrival"] == pytest.approx(160.0)
    assert line["protection_demand"] == pytest.approx(70.0)
    assert line["expected_arrival"] == pd.Timestamp("2025-03-10")


def test_a_peak_after_arrival_is_bought() -> None:
    """Same, with the 100 on day 10, inside the window 7-13: 6 x 10 + 100 = 160; the 50 on
    hand are gone by day 5 (50 lost before arrival)."""
    forecast = _forecast({"P1": _steady(peaks={10: 100.0})})
    line = _firm(plan(_dataset(50), forecast, PlanningConfig(), AS_OF))
    assert line["qty"] == 160
    assert line["lost_before_arrival"] == pytest.approx(20.0)
    assert line["protection_demand"] == pytest.approx(160.0)
    # No stock left when the order lands, so order_up_to = the window's demand.
    assert line["order_up_to"] == pytest.approx(160.0)
    assert line["reorder_point"] == line["order_up_to"]


def test_a_peak_above_capacity_is_built_ahead() -> None:
    """Capacity 200 units per order; 70 on hand cover days 0-6; 310 units on day 22.

    Review 2 (arrives day 21, covers 21-27) needs 6 x 10 + 310 = 370: it keeps 200 and the
    170 left are built ahead into review 1 (arrives day 14, needs 70): 240 > 200, so review 1
    keeps 200 and 40 more go into the firm order (needs 70): 110. The projection then holds
    40 + 130 = 170 extra units when the peak comes, exactly its excess."""
    forecast = _forecast({"P1": _steady(peaks={22: 310.0})})
    result = plan(_dataset(70, capacity="200"), forecast, PlanningConfig(), AS_OF)
    line = _firm(result)
    assert line["qty"] == 110
    assert line["need"] == pytest.approx(70.0)
    assert line["build_ahead"] == pytest.approx(40.0)
    receipts = _receipts(result)
    assert receipts[pd.Timestamp("2025-03-10")] == 110
    assert receipts[pd.Timestamp("2025-03-17")] == 200
    assert receipts[pd.Timestamp("2025-03-24")] == 200
    lost = result.order_forecast.set_index("week")["expected_lost"]
    assert lost[pd.Timestamp("2025-03-24")] == pytest.approx(0.0)
    alerts = result.alerts[result.alerts["kind"] == "build_ahead"]
    assert list(alerts["sku"]) == ["P1"]
    assert "210 units are built ahead" in alerts["message"].iloc[0]


def test_lost_versus_backordered_demand() -> None:
    """5 on hand, 10 a day, 30 arriving on day 1. Lost: day 0 serves 5 and loses 5; day 1
    starts with 30, serves 10, keeps 20. Backordered: the 5 wait and are served on day 1,
    which keeps 15."""
    demand = np.full((1, 1, 2), 10.0)
    receipts = np.array([[0.0, 30.0]])
    lost = project(demand, receipts, np.array([5.0]), np.array([0.0]))
    waited = project(demand, receipts, np.array([5.0]), np.array([1.0]))
    assert lost.lost[0, 0].tolist() == [5.0, 0.0]
    assert lost.stock[0, 0].tolist() == [5.0, 30.0]
    assert waited.lost[0, 0].tolist() == [0.0, 0.0]
    assert waited.backlog[0, 0].tolist() == [0.0, 5.0]
    after = waited.stock[0, 0, 1] - waited.backlog[0, 0, 1] - 10.0
    assert after == 15.0


def test_backordered_channels_raise_the_order_by_the_backlog() -> None:
    """Nothing on hand, 10 a day: lost sales before day 7 leave the order its own week (70);
    on a presale channel whose customers wait, the 70 units of days 0-6 are still owed at
    arrival: 140."""
    forecast = _forecast({"P1": _steady()}, channel="presale")
    lost = _firm(plan(_dataset(0), forecast, PlanningConfig(), AS_OF))
    waited = _firm(plan(_dataset(0), forecast,
                        PlanningConfig(backorder_channels=("presale",)), AS_OF))
    assert lost["qty"] == 70
    assert waited["qty"] == 140


def test_fill_rate_targets_drive_the_order() -> None:
    """Two equally likely paths of the window's demand, 40 and 100 (mean 70), nothing on hand.
    Cycle service 0.95: the 0.95 quantile of the 20 paths, 100. Fill
    rate 0.95: lose at most 0.05 x 70 = 3.5 units in expectation: (100 - q) / 2 = 3.5,
    q = 93."""
    low, high = _steady(40 / 7), _steady(100 / 7)
    paths = np.stack([np.repeat(low[None, :], PATHS // 2, axis=0),
                      np.repeat(high[None, :], PATHS // 2, axis=0)])[None].reshape(1, PATHS,
                                                                                  HORIZON)
    forecast = _forecast({"P1": _steady()})
    scenarios = scenarios_from(paths, ["P1"], FIRST_DAY)
    forecast = Forecast(forecast.channel, forecast.sku, scenarios)
    base = PlanningConfig(service_levels={"A": 0.95, "B": 0.95, "C": 0.95})
    cycle = _firm(plan(_dataset(0), forecast, base, AS_OF))
    fill = _firm(plan(_dataset(0), forecast, base.model_copy(
        update={"service_target": "fill_rate"}), AS_OF))
    assert cycle["need"] == pytest.approx(100.0, abs=0.1)
    assert fill["need"] == pytest.approx(93.0, abs=0.1)
    assert fill["qty"] == 93
    assert fill["order_up_to"] == pytest.approx(93.0, abs=0.1)


def test_a_launch_gets_its_buy_in_time() -> None:
    """L1 launches on day 14 (2025-03-17) with launch_units 280 (its first 28 days; no
    analogous launches: flat, 10 a day). The firm order (days 7-13) buys nothing; review 1
    (ordered day 7, arriving day 14 on the launch day) buys its first week: 70 units times
    the launch uncertainty (lognormal, sigma 0.5), at the 0.9 quantile (class C) of paths."""
    forecast = _forecast({"P1": _steady()})
    data = _dataset(70, launch_column="yes", products_extra=(
        "L1,S1,10,1,0,new mask,masks,30,active,2025-03-17,280\n"
        "L2,S1,10,1,0,mystery,masks,30,active,2025-03-17,\n"
        "L3,S1,10,1,0,too soon,masks,30,active,2025-03-05,50\n"))
    result = plan(data, forecast, PlanningConfig(), AS_OF)
    assert "L1" not in set(result.orders["sku"])
    receipts = _receipts(result, "L1")
    assert receipts[pd.Timestamp("2025-03-10")] == 0
    assert 70 < receipts[pd.Timestamp("2025-03-17")] < 200
    launches = result.launches.set_index("sku")
    assert launches.at["L1", "source"] == "launch_units"
    assert launches.at["L1", "launch_units"] == pytest.approx(280.0)
    alerts = result.alerts.set_index("sku")
    assert alerts.at["L2", "kind"] == "unplanned"
    assert "cannot be planned" in alerts.at["L2", "message"]
    assert alerts.loc[["L3"], "kind"].eq("launch").any()
