"""Supplier closures (factories shut around Chinese New Year) delay an order's arrival by the
closed days, make-up workdays are worked where the closure says so, and the contract checks
the table. Known answers are computed by hand in each test's docstring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, Forecast, make_dataset, make_forecast

from forecasting.contract import DataContractError
from replenishment.closures import arrival_days, closed_days, makeup_workdays
from replenishment.config import PlanningConfig
from replenishment.plan import PlanResult, plan

MEANS = {"A1": 20.0, "A2": 5.0, "B1": 2.0, "OLD": 0.1}
# S1 takes 21 days; the first order is placed on Monday 2025-03-03 (AS_OF + 1).
SUPPLIERS = (
    "supplier,lead_time_days,lead_time_std_days,review_days,min_order_value\n"
    "S1,21,0,7,0\n"
    "S2,7,0,7,0\n"
)
# S1's factory closes two weeks after the order, for 21 days (2025-03-17 to 2025-04-06).
CLOSURE = "supplier,start,end,reason\nS1,2025-03-17,2025-04-06,春节停工\n"


@pytest.fixture(scope="module")
def forecast() -> Forecast:
    return make_forecast(MEANS, horizon=70)


def _plan(forecast: Forecast, **tables: str) -> PlanResult:
    return plan(make_dataset(suppliers=SUPPLIERS, **tables), forecast, PlanningConfig(), AS_OF)


def _line(result: PlanResult, sku: str) -> pd.Series:
    rows = result.orders[result.orders["sku"] == sku]
    assert len(rows) == 1, f"expected one order line for {sku}"
    return rows.iloc[0]


def test_a_factory_closure_delays_the_expected_arrival_by_its_days(forecast: Forecast) -> None:
    """Ordered 2025-03-03 with 21 days of lead time: without the closure it arrives on
    03-24. The factory works 14 days (03-03..03-16), is closed 21 (03-17..04-06), works the
    last 7 (04-07..04-13): it arrives on 04-14, 21 days late. The next review's order
    (03-10) works 7 days before and 14 after: 04-21, so the first order covers 04-14..04-20
    instead of 03-24..03-30, and buys for it. S2 has no closure and is unchanged."""
    open_ = _plan(forecast)
    closed = _plan(forecast, supplier_closures=CLOSURE)
    assert _line(open_, "A1").expected_arrival == pd.Timestamp("2025-03-24")
    assert _line(closed, "A1").expected_arrival == pd.Timestamp("2025-04-14")
    assert _line(closed, "A2").expected_arrival == pd.Timestamp("2025-04-14")
    assert _line(closed, "A1").coverage_end == pd.Timestamp("2025-04-20")
    assert _line(open_, "A1").coverage_end == pd.Timestamp("2025-03-30")
    assert _line(closed, "B1").expected_arrival == _line(open_, "B1").expected_arrival
    assert _line(closed, "B1").qty == _line(open_, "B1").qty
    # Waiting three weeks longer means more demand before arrival is lost, not sold from
    # the order, and the order is still sized for one review period after it arrives.
    assert _line(closed, "A1").demand_before_arrival > _line(open_, "A1").demand_before_arrival
    # The order forecast: nothing of S1 arrives in the three closed weeks after 03-24; the
    # firm order lands in the week of 04-14, the next review's in the week of 04-21.
    weeks = closed.order_forecast.set_index(["sku", "week"])
    for week in ("2025-03-24", "2025-03-31", "2025-04-07"):
        assert weeks.loc[("A1", pd.Timestamp(week)), "qty"] == 0
    assert weeks.loc[("A1", pd.Timestamp("2025-04-14")), "scheduled_receipts"] == (
        _line(closed, "A1").qty)
    assert weeks.loc[("A1", pd.Timestamp("2025-04-21")), "planned_receipts"] > 0


def test_a_closure_for_every_supplier_applies_to_each() -> None:
    """An empty supplier closes them all: S2 (7 days) ordered 03-03 would arrive 03-10; closed
    03-05..03-09 (5 days, the order's days 2-6), it works 03-03, 03-04, then 03-10..03-14:
    arrival 03-15. Ordered on 03-05, inside the closure, it works 03-10..03-16: 03-17."""
    closures = pd.DataFrame({"supplier": [None], "start": [pd.Timestamp("2025-03-05")],
                             "end": [pd.Timestamp("2025-03-09")], "works_makeup_days": [0]})
    mask = closed_days(closures, ["S1", "S2", "S2"], pd.Timestamp("2025-03-03"))
    assert mask is not None and mask.sum(axis=1).tolist() == [5, 5, 5]
    arrival = arrival_days(mask, np.array([0, 0, 2]), np.array([21, 7, 7]))
    first = pd.Timestamp("2025-03-03")
    dates = [first + pd.Timedelta(days=int(d)) for d in arrival]
    assert dates == [pd.Timestamp("2025-03-29"), pd.Timestamp("2025-03-15"),
                     pd.Timestamp("2025-03-17")]


def test_the_closure_rule_by_hand() -> None:
    """The module's example: ordered 2027-01-18, 21 days, closed 02-01..02-21: 03-01. An
    order whose lead time ends on the closure's first day is on time; one placed during the
    closure waits for its end; orders past the mask are unchanged."""
    first = pd.Timestamp("2027-01-18")
    closures = pd.DataFrame({"supplier": ["S1"], "start": [pd.Timestamp("2027-02-01")],
                             "end": [pd.Timestamp("2027-02-21")], "works_makeup_days": [None]})
    mask = closed_days(closures, ["S1"], first)
    assert mask is not None and mask.shape == (1, 35) and mask.sum() == 21
    days = arrival_days(mask, np.array([[0, 0, 20, 60]]), np.array([[21, 14, 3, 5]]))
    assert days.tolist() == [[42, 14, 38, 65]]  # 03-01, 02-01, 02-25, 03-24
    assert closed_days(closures, ["S2"], first) is None
    assert closed_days(closures, ["S1"], pd.Timestamp("2027-03-01")) is None
    assert arrival_days(None, np.array([3]), np.array([5])).tolist() == [8]


def test_a_make_up_workday_inside_a_closure_is_worked_when_the_closure_says_so(
    forecast: Forecast,
) -> None:
    """A make-up workday (events kind ``workday``) on Saturday 2025-03-22 inside the closure:
    a factory that works make-up days is closed 20 days, not 21, so the order arrives on
    04-13 instead of 04-14; without ``works_makeup_days`` the day stays closed."""
    events = "start,end,name,kind\n2025-03-22,2025-03-22,调休上班,workday\n"
    works = CLOSURE.replace("reason\n", "reason,works_makeup_days\n").replace(
        "春节停工\n", "春节停工,1\n")
    worked = _plan(forecast, supplier_closures=works, events=events)
    idle = _plan(forecast, supplier_closures=CLOSURE, events=events)
    assert _line(worked, "A1").expected_arrival == pd.Timestamp("2025-04-13")
    assert _line(idle, "A1").expected_arrival == pd.Timestamp("2025-04-14")
    table = make_dataset(events=events).demand.events
    assert list(makeup_workdays(table)) == [pd.Timestamp("2025-03-22")]


@pytest.mark.parametrize(("text", "column", "expected"), [
    ("supplier,start,end\nS9,2025-03-17,2025-04-06\n", "supplier", "a supplier listed"),
    ("supplier,start,end\nS1,2025-04-06,2025-03-17\n", "end", "'end' on or after 'start'"),
    ("supplier,start,end\nS1,2025-03-17,\n", "end", "(the column is required)"),
    ("supplier,start,end,works_makeup_days\nS1,2025-03-17,2025-04-06,maybe\n",
     "works_makeup_days", "0 or 1"),
])
def test_bad_closures_are_rejected_naming_row_and_column(text: str, column: str,
                                                         expected: str) -> None:
    with pytest.raises(DataContractError) as err:
        make_dataset(supplier_closures=text)
    problem = err.value.problems[0]
    assert problem.source == "supplier_closures.csv" and problem.row == 2
    assert problem.column == column and expected in problem.expected
