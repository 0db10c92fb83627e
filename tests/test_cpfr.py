"""CPFR: the weekly order forecast (frozen horizon, lot sizing) and each exception kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, scenarios_from

from forecasting.scenarios import DemandScenarios
from replenishment.config import PlanningConfig
from replenishment.cpfr import (
    EXCEPTION_COLUMNS,
    commitment_exceptions,
    cpfr_exceptions,
    forecast_error_exceptions,
    forecast_move_exceptions,
    order_forecast,
)

FIRST_DAY = AS_OF + pd.Timedelta(days=1)
PRODUCTS = pd.DataFrame({"sku": ["X", "Y", "Z"], "supplier": ["S", "S", "T"]})


def _constant_scenarios(rate: float = 10.0, days: int = 28) -> DemandScenarios:
    return scenarios_from(np.full((1, 3, days), rate), ["X"], FIRST_DAY)


def _item(**values: float) -> pd.DataFrame:
    row = {"sku": "X", "supplier": "S", "lead_time_days": 10.0, "review_days": 7.0,
           "case_pack": 10.0, "moq": 0.0, "on_hand": 100.0, "backorders": 0.0,
           "safety_stock": 20.0}
    row.update(values)
    return pd.DataFrame([row])


OPEN = pd.DataFrame({"sku": ["X"], "date": [pd.Timestamp("2025-03-12")], "qty": [50.0]})


def _projection(**values: float) -> pd.DataFrame:
    return order_forecast(_item(**values), _constant_scenarios(), OPEN, AS_OF, weeks=6)


def test_order_forecast_nets_demand_against_stock_receipts_and_safety_stock() -> None:
    weeks = _projection()
    assert len(weeks) == 6
    assert weeks["week"].iloc[0] == pd.Timestamp("2025-03-03")
    assert (weeks["week"].dt.weekday == 0).all()
    assert weeks["demand"].tolist() == [70.0] * 6
    assert weeks["scheduled_receipts"].tolist() == [0, 50, 0, 0, 0, 0]
    # Week 3 brings the stock from 10 to safety stock (20) plus a week of demand (70).
    assert weeks["planned_receipts"].tolist() == [0, 0, 80, 70, 70, 70]
    assert weeks["qty"].tolist() == [0, 50, 80, 70, 70, 70]
    assert weeks["projected_on_hand"].tolist() == [30, 10, 20, 20, 20, 20]


def test_weeks_inside_the_lead_time_are_frozen_and_get_no_planned_receipts() -> None:
    weeks = _projection(lead_time_days=10.0)
    # Weeks start 1, 8, 15, ... days after as_of: the first two start within 10 days.
    assert weeks["frozen"].tolist() == [True, True, False, False, False, False]
    assert (weeks.loc[weeks["frozen"], "planned_receipts"] == 0).all()
    longer = _projection(lead_time_days=22.0)
    assert longer["frozen"].tolist() == [True, True, True, True, False, False]


def test_planned_receipts_come_in_case_packs_and_at_least_the_moq() -> None:
    packs = _projection(case_pack=30.0)
    planned = packs["planned_receipts"]
    assert (planned % 30 == 0).all() and planned.iloc[2] == 90
    moq = _projection(moq=200.0)
    positive = moq.loc[moq["planned_receipts"] > 0, "planned_receipts"]
    assert (positive >= 200).all() and len(positive) < 4


def test_a_two_week_review_plans_a_receipt_every_other_week() -> None:
    weeks = _projection(review_days=14.0)
    assert weeks["planned_receipts"].tolist() == [0, 0, 150, 0, 140, 0]


def _forecast_rows(sku: str, start: str, days: int, rate: float) -> pd.DataFrame:
    return pd.DataFrame({"sku": sku, "date": pd.date_range(start, periods=days, freq="D"),
                         "forecast": rate})


def test_commitment_shortfall_fires_beyond_the_tolerance_only() -> None:
    projected = _projection()
    commitments = pd.DataFrame({
        "supplier": ["S", "S"], "sku": ["X", "X"],
        # A Wednesday confirmation counts for its calendar week.
        "week": pd.to_datetime(["2025-03-19", "2025-03-24"]), "qty": [60.0, 68.0],
    })
    found = commitment_exceptions(projected, commitments, share=0.1)
    assert list(found.columns) == EXCEPTION_COLUMNS
    assert len(found) == 1
    row = found.iloc[0]
    assert (row.kind, row.week, row.expected, row.actual) == (
        "commitment_shortfall", pd.Timestamp("2025-03-17"), 80.0, 60.0)
    assert row.deviation == pytest.approx(0.25)
    assert "60" in row.message and "80" in row.message
    assert commitment_exceptions(projected, commitments, share=0.3).empty


def test_forecast_move_fires_on_a_large_move_with_enough_volume() -> None:
    current = pd.concat([_forecast_rows("X", "2025-03-03", 28, 10.0),
                         _forecast_rows("Y", "2025-03-03", 28, 10.0),
                         _forecast_rows("Z", "2025-03-03", 28, 0.1)])
    previous = pd.concat([_forecast_rows("X", "2025-02-17", 28, 10.5),
                          _forecast_rows("Y", "2025-02-17", 28, 6.0),
                          _forecast_rows("Z", "2025-02-17", 28, 0.3)])
    found = forecast_move_exceptions(current, previous, PRODUCTS, AS_OF, PlanningConfig())
    # Only Y moved by more than 30% with volume; compared over the two weeks both cover.
    assert found["sku"].tolist() == ["Y", "Y"]
    assert found["week"].tolist() == [pd.Timestamp("2025-03-03"), pd.Timestamp("2025-03-10")]
    assert found["expected"].tolist() == [42.0, 42.0]
    assert found["actual"].tolist() == [70.0, 70.0]
    assert found["deviation"].iloc[0] == pytest.approx(28 / 42)
    assert (found["supplier"] == "S").all()


def _sales(sku: str, days: int, units: float, stockout: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.date_range(end=AS_OF, periods=days, freq="D"), "sku": sku,
                         "channel": "tmall", "units": units, "price": 10.0,
                         "stockout": stockout})


def test_forecast_error_fires_on_a_bad_forecast_and_ignores_stockout_days() -> None:
    previous = pd.concat([_forecast_rows(s, "2025-02-03", 28, 10.0) for s in ("X", "Y", "Z")])
    sales = pd.concat([
        _sales("X", 28, 10.0),
        _sales("Y", 28, 4.0),
        # Z sold its forecast, except 14 days out of stock (flagged) selling nothing.
        _sales("Z", 28, 10.0).iloc[:14], _sales("Z", 14, 0.0, stockout=1),
    ])
    found = forecast_error_exceptions(previous, sales, PRODUCTS, AS_OF, PlanningConfig())
    assert found["sku"].tolist() == ["Y"]
    row = found.iloc[0]
    assert (row.expected, row.actual) == (280.0, 112.0)
    assert row.deviation == pytest.approx(168 / 112)
    assert row.week == pd.Timestamp("2025-02-03")
    unflagged = sales.assign(stockout=0)
    again = forecast_error_exceptions(previous, unflagged, PRODUCTS, AS_OF, PlanningConfig())
    assert sorted(again["sku"]) == ["Y", "Z"]


def test_exception_ids_are_stable_for_the_same_problem() -> None:
    projected = _projection()
    commitments = pd.DataFrame({"supplier": ["S"], "sku": ["X"],
                                "week": [pd.Timestamp("2025-03-17")], "qty": [60.0]})
    first = commitment_exceptions(projected, commitments, 0.1)
    worse = commitment_exceptions(projected, commitments.assign(qty=40.0), 0.1)
    other_week = commitment_exceptions(
        projected, commitments.assign(week=pd.Timestamp("2025-03-24")), 0.1
    )
    assert first["exception_id"].iloc[0] == worse["exception_id"].iloc[0]
    assert first["exception_id"].iloc[0] != other_week["exception_id"].iloc[0]


def test_a_first_run_without_previous_forecast_raises_only_commitment_exceptions() -> None:
    found = cpfr_exceptions(_projection(), pd.DataFrame(columns=["supplier", "sku", "week", "qty"]),
                            _forecast_rows("X", "2025-03-03", 28, 10.0), None,
                            _sales("X", 7, 1.0), PRODUCTS, AS_OF, PlanningConfig())
    assert found.empty and list(found.columns) == EXCEPTION_COLUMNS


def test_demand_the_stock_cannot_meet_is_lost_not_added_to_later_receipts() -> None:
    weeks = order_forecast(_item(on_hand=0.0, lead_time_days=15.0), _constant_scenarios(),
                           OPEN.iloc[:0], AS_OF, weeks=4)
    assert weeks["projected_on_hand"].tolist()[:3] == [0.0, 0.0, 0.0]
    # The first open week only restores safety stock plus its own demand.
    assert weeks["planned_receipts"].tolist() == [0, 0, 0, 90]
