"""The planning run end to end on a small dataset: order lines, reasons, CPFR, what-if."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, PLAN_TABLES, Forecast, make_dataset, make_forecast

from flows.pipeline.outputs import shortfall
from forecasting.contract import DataContractError
from replenishment.config import PlanningConfig
from replenishment.ordering import LINE_EXPLANATION_COLUMNS
from replenishment.plan import ORDER_COLUMNS, PlanResult, plan
from replenishment.whatif import (
    WHATIF_CHANGE_COLUMNS,
    PlanOverrides,
    parse_overrides,
    whatif_changes,
)

MEANS = {"A1": 20.0, "A2": 5.0, "B1": 2.0, "OLD": 0.1}
CONFIG = PlanningConfig()
CONSTRAINED_SUPPLIERS = (
    "supplier,lead_time_days,lead_time_std_days,review_days,min_order_value,"
    "capacity_units_per_week\n"
    "S1,14,0,7,4000,\n"
    "S2,7,0,7,0,10\n"
)
PROMOTIONS = "start,end,kind,sku,channel,discount\n2025-03-20,2025-03-26,flash,A2,tmall,0.2\n"


@pytest.fixture(scope="module")
def forecast() -> Forecast:
    return make_forecast(MEANS)


@pytest.fixture(scope="module")
def base(forecast: Forecast) -> PlanResult:
    return plan(make_dataset(promotions=PROMOTIONS), forecast, CONFIG, AS_OF)


def _line(result: PlanResult, sku: str) -> pd.Series:
    rows = result.orders[result.orders["sku"] == sku]
    assert len(rows) == 1, f"expected one order line for {sku}"
    return rows.iloc[0]


def _value(frame: pd.DataFrame, column: str, **keys: object) -> float:
    match = np.ones(len(frame), dtype=bool)
    for name, wanted in keys.items():
        match &= (frame[name] == wanted).to_numpy()
    values = frame.loc[match, column].to_numpy(float)
    assert len(values) == 1, f"expected one row for {keys}"
    return float(values[0])


def test_order_lines_respect_case_pack_moq_min_order_value_and_capacity(
    base: PlanResult, forecast: Forecast
) -> None:
    result = plan(make_dataset(suppliers=CONSTRAINED_SUPPLIERS), forecast, CONFIG, AS_OF)
    orders = result.orders
    products = make_dataset().supply.products.set_index("sku")
    assert (orders["qty"] % orders["case_pack"] == 0).all()
    assert (orders["qty"] >= orders["sku"].map(products["moq"])).all()
    assert (orders["case_pack"] == orders["sku"].map(products["case_pack"])).all()
    # Without the minimum, S1 would be ordered less than 4000; with it, at least 4000.
    unconstrained_s1 = base.orders.loc[base.orders["supplier"] == "S1", "line_value"].sum()
    assert unconstrained_s1 < 4000
    assert orders.loc[orders["supplier"] == "S1", "line_value"].sum() >= 4000
    # B1 needs more than S2's weekly capacity of 10 units: it gets the capacity, the line
    # says it was cut by capacity and an alert reports the unfunded units.
    b1_need = _value(result.levels, sku="B1", column="raw_need")
    assert b1_need > 10
    assert orders.loc[orders["supplier"] == "S2", "qty"].sum() <= 10
    b1 = _line(result, "B1")
    assert b1.qty == 10
    assert b1.cut_reason == "capacity" and b1.cut > 0
    capacity = result.alerts[result.alerts["kind"] == "capacity_bound"]
    assert set(capacity["sku"]) == {"B1"}
    assert "unfunded" in capacity["message"].iloc[0]
    # A discontinued product is never ordered.
    assert "OLD" not in set(orders["sku"])


def test_order_lines_carry_consistent_reasons(base: PlanResult) -> None:
    orders = base.orders
    assert list(orders.columns) == ORDER_COLUMNS + LINE_EXPLANATION_COLUMNS
    assert (orders["order_up_to"] >= orders["reorder_point"]).all()
    assert np.allclose(orders["safety_stock"], orders["order_up_to"] - orders["protection_demand"],
                       atol=0.02)
    # The position is the projected stock at arrival plus receipts in the coverage window.
    assert np.allclose(orders["inventory_position"],
                       orders["stock_at_arrival"] + orders["receipts_in_window"], atol=0.02)
    assert (orders["inventory_position"] < orders["reorder_point"]).all()
    # Up to the target, give or take the case the optimiser rounds to.
    reached = orders["inventory_position"] + orders["qty"] + orders["case_pack"]
    assert (reached >= orders["reorder_point"]).all()
    assert np.allclose(orders["line_value"], orders["qty"] * orders["unit_cost"])
    # Every unit is explained.
    parts = (orders["need"] + orders["build_ahead"] + orders["case_rounding"]
             + orders["moq_lift"] + orders["min_value_lift"] - orders["cut"])
    assert np.allclose(orders["qty"], parts, atol=0.05)
    a1 = _line(base, "A1")
    assert a1["on_hand"] == 100.0
    assert a1["name"] == "玫瑰精华液"
    # Placed the morning after the data's last day; covers from arrival to the next arrival.
    assert a1["order_date"] == AS_OF + pd.Timedelta(days=1)
    assert a1["expected_arrival"] == AS_OF + pd.Timedelta(days=15)
    assert a1["coverage_end"] == AS_OF + pd.Timedelta(days=21)
    # The open order (120, due on day 3) and 100 on hand are gone before A1's order arrives
    # (20 a day for 14 days): the order covers its own week, not the weeks before it.
    assert a1["lost_before_arrival"] > 0
    assert a1["protection_demand"] == pytest.approx(7 * 20.0, rel=0.1)
    assert _line(base, "B1").expected_arrival == AS_OF + pd.Timedelta(days=8)


def test_orders_and_order_forecasts_are_grouped_by_supplier(base: PlanResult) -> None:
    by_supplier = base.orders_by_supplier()
    assert set(by_supplier) == {"S1", "S2"}
    assert all((frame["supplier"] == name).all() for name, frame in by_supplier.items())
    projected = base.order_forecast_by_supplier()
    assert set(projected) == {"S1", "S2"}
    weeks_per_sku = base.order_forecast.groupby("sku")["week"].nunique()
    assert (weeks_per_sku == 13).all()


def test_order_forecast_marks_the_frozen_horizon_and_schedules_this_runs_orders(
    base: PlanResult,
) -> None:
    projected = base.order_forecast
    frozen_weeks = projected[projected["frozen"]].groupby("sku")["week"].nunique()
    # Weeks start 1, 8, 15 days after as_of: S1 (14 days) has two frozen weeks, S2 (7) one.
    assert frozen_weeks.to_dict() == {"A1": 2, "A2": 2, "B1": 1, "OLD": 1}
    assert (projected.loc[projected["frozen"], "planned_receipts"] == 0).all()
    a1 = projected[projected["sku"] == "A1"].set_index("week")
    assert a1.at[pd.Timestamp("2025-03-03"), "scheduled_receipts"] == 120  # the open order
    # This run's order arrives on 2025-03-17, in the week of 2025-03-17.
    assert a1.at[pd.Timestamp("2025-03-17"), "scheduled_receipts"] == _line(base, "A1").qty
    # Later reviews keep A1 supplied: a planned receipt every week after the frozen ones.
    assert (a1.loc[a1.index > pd.Timestamp("2025-03-17"), "planned_receipts"] > 0).all()
    # A discontinued product never gets a planned receipt.
    assert (projected.loc[projected["sku"] == "OLD", "qty"] == 0).all()


def test_a_promotion_lift_raises_the_order_of_its_sku(base: PlanResult, forecast: Forecast) -> None:
    overrides = {"promotions": [{"start": "2025-03-20", "sku": "A2", "lift": 3.0}]}
    lifted = plan(make_dataset(promotions=PROMOTIONS), forecast, CONFIG, AS_OF,
                  overrides=overrides)
    assert _line(lifted, "A2").qty > _line(base, "A2").qty
    assert _line(lifted, "A2").order_up_to > _line(base, "A2").order_up_to
    assert _line(lifted, "A1").qty == _line(base, "A1").qty
    day = pd.Timestamp("2025-03-21")
    before = _value(base.forecast, sku="A2", date=day, column="forecast")
    after = _value(lifted.forecast, sku="A2", date=day, column="forecast")
    assert after == pytest.approx(3 * before)


def test_a_lead_time_what_if_moves_the_arrival_not_the_size(
    base: PlanResult, forecast: Forecast
) -> None:
    """The order covers one review period after it arrives: with steady demand and no stock
    left at either arrival, a longer lead time delays it without inflating it; a shorter one
    does not buy the open order's quantity again."""
    overrides = PlanOverrides.model_validate(
        {"lead_times": [{"supplier": "S2", "lead_time_days": 21},
                        {"supplier": "S1", "lead_time_days": 1}]}
    )
    changed = plan(make_dataset(promotions=PROMOTIONS), forecast, CONFIG, AS_OF,
                   overrides=overrides)
    assert _line(changed, "B1").expected_arrival == AS_OF + pd.Timedelta(days=22)
    assert abs(_line(changed, "B1").qty - _line(base, "B1").qty) <= 10  # one case
    # S1 in one day: A1's 100 on hand and the open order of 120 (due day 3) cover most of
    # its first week, so the order is far below the 14-day lead time's.
    assert _value(changed.levels, sku="A1", column="on_order") == 120
    a1 = changed.orders.loc[changed.orders["sku"] == "A1", "qty"].sum()
    assert a1 < _line(base, "A1").qty


def test_a_budget_caps_the_total_order_value(base: PlanResult, forecast: Forecast) -> None:
    total = base.orders["line_value"].sum()
    capped = plan(make_dataset(promotions=PROMOTIONS), forecast, CONFIG, AS_OF,
                  overrides={"budget": total / 2})
    assert capped.orders["line_value"].sum() <= total / 2
    assert capped.orders["line_value"].sum() > 0
    # The shortfall is reported: unfunded need per SKU, its value at cost and the sales
    # value it puts at risk, in levels, order lines, an alert per SKU and the summary.
    levels = capped.levels.set_index("sku")
    cut = levels[levels["cut_reason"] == "budget"]
    assert len(cut) > 0 and (cut["unfunded_units"] > 0).all()
    unit_cost = make_dataset().supply.products.set_index("sku")["unit_cost"]
    assert np.allclose(cut["unfunded_value"], cut["unfunded_units"] * unit_cost[cut.index])
    assert (cut["value_at_risk"] > 0).all()
    lines = capped.orders.set_index("sku")
    assert np.allclose(lines["value_at_risk"], levels.loc[lines.index, "value_at_risk"],
                       atol=0.01)
    alerts = capped.alerts[capped.alerts["kind"] == "budget_shortfall"].set_index("sku")
    assert set(alerts.index) == set(cut.index)
    assert np.allclose(alerts.loc[cut.index, "value_at_risk"], cut["value_at_risk"], atol=0.01)
    # What the what-if changed, per supplier and SKU, against the base plan.
    assert base.changes is None
    changes = capped.changes
    assert changes is not None and list(changes.columns) == WHATIF_CHANGE_COLUMNS
    per_sku = changes[changes["scope"] == "sku"].set_index("sku")
    assert set(cut.index) <= set(per_sku.index)
    for sku in cut.index:
        assert per_sku.loc[sku, "units_change"] == pytest.approx(
            lines["qty"].get(sku, 0) - _line(base, sku).qty)
        assert per_sku.loc[sku, "value_at_risk_whatif"] == pytest.approx(
            cut.loc[sku, "value_at_risk"], abs=1e-3)
    per_supplier = changes[changes["scope"] == "supplier"]
    assert per_supplier["value_change"].sum() == pytest.approx(
        capped.orders["line_value"].sum() - total)
    summary = shortfall(capped.levels)["budget"]
    assert summary["skus"] == len(cut)
    assert summary["value_at_risk"] == pytest.approx(cut["value_at_risk"].sum(), abs=0.01)


def test_a_supplier_the_budget_drops_whole_is_reported(forecast: Forecast) -> None:
    """S1's minimum order value is 4,000 and the budget 3,000: S1 gets no order although
    each of its lines alone would fit; both its SKUs are budget cuts, not silence."""
    result = plan(make_dataset(suppliers=CONSTRAINED_SUPPLIERS), forecast, CONFIG, AS_OF,
                  overrides={"budget": 3000})
    assert "S1" not in set(result.orders["supplier"])
    levels = result.levels.set_index("sku")
    dropped = levels.loc[["A1", "A2"]]
    assert (dropped["cut_reason"] == "budget").all()
    assert (dropped["unfunded_units"] >= dropped["raw_need"]).all()
    alerts = result.alerts[result.alerts["kind"] == "budget_shortfall"]
    assert set(alerts["sku"]) == {"A1", "A2"}
    assert shortfall(result.levels)["budget"]["unfunded_units"] == pytest.approx(
        levels.loc[["A1", "A2"], "unfunded_units"].sum())


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"lead_times": [{"supplier": "S9", "lead_time_days": 3}]}, "S9"),
        ({"promotions": [{"start": "2025-03-21", "sku": "A2", "lift": 2}]}, "2025-03-21"),
        ({"promotions": [{"start": "2025-03-20", "sku": "A2", "lift": -1}]}, "greater than 0"),
        ({"budget": "lots"}, "budget"),
        ({"discount": 0.5}, "discount"),
    ],
)
def test_bad_overrides_give_a_clear_error(
    forecast: Forecast, overrides: dict[str, object], needle: str
) -> None:
    with pytest.raises(DataContractError) as caught:
        plan(make_dataset(promotions=PROMOTIONS), forecast, CONFIG, AS_OF, overrides=overrides)
    assert needle in str(caught.value)
    assert all(p.source == "overrides" for p in caught.value.problems)


def test_an_unknown_supplier_override_lists_the_known_ones(forecast: Forecast) -> None:
    overrides = parse_overrides({"lead_times": [{"supplier": "S9", "lead_time_days": 3}]})
    with pytest.raises(DataContractError, match="S1, S2"):
        plan(make_dataset(), forecast, CONFIG, AS_OF, overrides=overrides)


def test_commitments_and_a_moved_forecast_raise_exceptions_and_alerts(
    base: PlanResult, forecast: Forecast
) -> None:
    week = pd.Timestamp("2025-03-24")
    expected = _value(base.order_forecast, sku="A1", week=week, column="qty")
    commitments = f"supplier,sku,week,qty\nS1,A1,2025-03-24,{expected * 0.5}\n"
    previous = base.forecast.assign(forecast=lambda f: np.where(f["sku"] == "A1",
                                                                f["forecast"] * 2, f["forecast"]))
    result = plan(make_dataset(promotions=PROMOTIONS, commitments=commitments), forecast,
                  CONFIG, AS_OF, previous=previous)
    kinds = result.exceptions.groupby("kind")["sku"].agg(set).to_dict()
    assert kinds == {"commitment_shortfall": {"A1"}, "forecast_move": {"A1"}}
    supplier_alerts = result.alerts[result.alerts["kind"] == "supplier_exception"]
    # One alert per supplier, SKU and kind of exception, however many weeks it spans.
    groups = result.exceptions.groupby(["supplier", "sku", "kind"]).ngroups
    assert len(result.exceptions) > groups
    assert len(supplier_alerts) == groups
    assert base.exceptions.empty


@pytest.mark.parametrize(
    ("table", "text", "column"),
    [
        ("inventory", "sku,on_hand\nA1,-5\nA2,20\nB1,5\nOLD,0\n", "on_hand"),
        ("products", PLAN_TABLES["products"].replace("A1,S1,10,12,", "A1,S1,10,0,"),
         "case_pack"),
        ("suppliers", "supplier,lead_time_days\nS1,14\nS2,\n", "lead_time_days"),
        ("suppliers", "supplier,lead_time_days\nS1,14\n", "supplier"),
    ],
)
def test_bad_supply_data_is_rejected_by_the_contract(table: str, text: str, column: str) -> None:
    with pytest.raises(DataContractError) as caught:
        make_dataset(**{table: text})
    problem = caught.value.problems[0]
    assert problem.column == column and problem.row is not None


def test_a_forecast_starting_after_the_planning_day_is_rejected() -> None:
    late = make_forecast(MEANS, start=AS_OF + pd.Timedelta(days=3))
    with pytest.raises(ValueError, match="after the first day to plan for"):
        plan(make_dataset(), late, CONFIG, AS_OF)


def test_whatif_changes_by_hand() -> None:
    """Base: A 10 units (100), B 4 units (20) at S1, C 5 at S2; what-if: A 6 (60, cut, 2
    expected short of 20, value at risk 30), B unchanged, C unchanged, D new at S2 (3 units,
    9). Rows: S1 (-4 units, -40), S2 (+3, +9), then A and D; B and C did not change."""
    base_orders = pd.DataFrame({"supplier": ["S1", "S1", "S2"], "sku": ["A", "B", "C"],
                                "qty": [10, 4, 5], "line_value": [100.0, 20.0, 10.0]})
    orders = pd.DataFrame({"supplier": ["S1", "S1", "S2", "S2"], "sku": ["A", "B", "C", "D"],
                           "qty": [6, 4, 5, 3], "line_value": [60.0, 20.0, 10.0, 9.0]})
    levels = pd.DataFrame({"supplier": ["S1", "S1", "S2", "S2"], "sku": ["A", "B", "C", "D"],
                           "expected_shortage": [0.0, 0.0, 0.0, 0.0],
                           "protection_demand": [20.0, 4.0, 5.0, 3.0],
                           "value_at_risk": [0.0, 0.0, 0.0, 0.0]})
    changed = levels.assign(expected_shortage=[2.0, 0.0, 0.0, 0.0],
                            value_at_risk=[30.0, 0.0, 0.0, 0.0])
    out = whatif_changes(base_orders, levels, orders, changed)
    assert list(zip(out["scope"], out["supplier"], out["sku"], strict=True)) == [
        ("supplier", "S1", ""), ("supplier", "S2", ""), ("sku", "S1", "A"), ("sku", "S2", "D")]
    rows = {(r["scope"], r["supplier"], r["sku"]): r for r in out.to_dict("records")}
    s1 = rows[("supplier", "S1", "")]
    assert (s1["units_base"], s1["units_whatif"], s1["units_change"]) == (14, 10, -4)
    assert (s1["value_change"], s1["lines_change"]) == (-40.0, 0)
    assert s1["fill_at_risk_whatif"] == pytest.approx(2 / 24, abs=1e-4)
    a = rows[("sku", "S1", "A")]
    assert (a["fill_at_risk_base"], a["fill_at_risk_whatif"]) == (0.0, 0.1)
    assert a["value_at_risk_change"] == 30.0
    d = rows[("sku", "S2", "D")]
    assert (d["lines_base"], d["lines_whatif"], d["value_change"]) == (0, 1, 9.0)
