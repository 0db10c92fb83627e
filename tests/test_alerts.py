"""Alerts: each kind fires on a constructed case (and not otherwise), severity, stable ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, alert_items, flat_scenarios

from forecasting.contract import LIVESTREAMS, PROMOTIONS, empty_table
from forecasting.scenarios import DemandScenarios
from replenishment.alerts import (
    ALERT_COLUMNS,
    build_alerts,
    event_alerts,
    overstock_alerts,
    rank_severity,
    stockout_alerts,
    supplier_alerts,
)
from replenishment.config import PlanningConfig
from replenishment.cpfr import EXCEPTION_COLUMNS

FIRST_DAY = AS_OF + pd.Timedelta(days=1)
CONFIG = PlanningConfig()
NO_RECEIPTS = pd.DataFrame(columns=["sku", "date", "qty"])


def _scenarios(rates: dict[str, float], days: int = 60, noise: bool = False,
               start: pd.Timestamp = FIRST_DAY) -> DemandScenarios:
    return flat_scenarios(rates, days, noise, start, paths=500)




def test_stockout_risk_fires_when_stock_runs_out_before_the_next_arrival() -> None:
    items = alert_items(sku=["low", "high"], on_hand=[30.0, 200.0])
    scenarios = _scenarios({"low": 10.0, "high": 10.0}, noise=True)
    found = stockout_alerts(items, scenarios, NO_RECEIPTS, AS_OF, CONFIG)
    assert list(found.columns) == ALERT_COLUMNS
    assert found["sku"].tolist() == ["low"]
    row = found.iloc[0]
    # 30 units at 10 a day: out on about the fourth day.
    assert FIRST_DAY + pd.Timedelta(days=2) <= row.date <= FIRST_DAY + pd.Timedelta(days=4)
    assert "100% chance" in row.message
    # About 70 units short over the 10-day lead time, at the price of 20.
    assert row.value_at_risk == pytest.approx(70 * 20, rel=0.1)


def test_an_open_order_arriving_in_time_prevents_the_stockout_alert() -> None:
    items = alert_items(sku=["low"], on_hand=[30.0])
    scenarios = _scenarios({"low": 10.0})
    early = pd.DataFrame({"sku": ["low"], "date": [FIRST_DAY + pd.Timedelta(days=2)],
                          "qty": [100.0]})
    late = early.assign(date=FIRST_DAY + pd.Timedelta(days=8))
    assert stockout_alerts(items, scenarios, early, AS_OF, CONFIG).empty
    assert len(stockout_alerts(items, scenarios, late, AS_OF, CONFIG)) == 1


def test_stopped_products_get_no_stockout_alert() -> None:
    items = alert_items(sku=["low"], on_hand=[0.0], orderable=[False])
    assert stockout_alerts(items, _scenarios({"low": 10.0}), NO_RECEIPTS, AS_OF, CONFIG).empty


def test_overstock_fires_above_the_days_of_cover_threshold() -> None:
    items = alert_items(sku=["slow", "fast"], on_hand=[1000.0, 1000.0])
    scenarios = _scenarios({"slow": 2.0, "fast": 20.0})
    found = overstock_alerts(items, scenarios, NO_RECEIPTS, AS_OF, CONFIG)
    assert found["kind"].tolist() == ["overstock"]
    assert found["sku"].tolist() == ["slow"]
    # 1000 units at 2 a day is 500 days; 760 units above 120 days, at a unit cost of 5.
    assert found["value_at_risk"].iloc[0] == pytest.approx(760 * 5)
    assert "500 days" in found["message"].iloc[0]
    on_order = pd.DataFrame({"sku": ["fast"], "date": [FIRST_DAY], "qty": [2000.0]})
    assert "fast" in set(overstock_alerts(items, scenarios, on_order, AS_OF, CONFIG)["sku"])


def test_stock_outliving_its_shelf_life_raises_an_expiry_alert() -> None:
    items = alert_items(sku=["fresh", "dry"], on_hand=[100.0, 100.0],
                   shelf_life_days=[30.0, np.nan])
    scenarios = _scenarios({"fresh": 1.0, "dry": 1.0})
    found = overstock_alerts(items, scenarios, NO_RECEIPTS, AS_OF,
                             PlanningConfig(overstock_days=1000))
    assert found["kind"].tolist() == ["expiry_risk"]
    assert found["sku"].tolist() == ["fresh"]
    assert found["value_at_risk"].iloc[0] == pytest.approx(70 * 5)
    assert found["date"].iloc[0] == AS_OF + pd.Timedelta(days=30)


def _promotion(sku: str | None, start: str, end: str, category: str | None = None,
               channel: str | None = "tmall") -> pd.DataFrame:
    frame = empty_table(PROMOTIONS)
    frame.loc[0] = {"start": pd.Timestamp(start), "end": pd.Timestamp(end), "kind": "flash",
                    "sku": sku, "category": category, "channel": channel, "discount": 0.2}
    return frame


def test_event_readiness_fires_for_an_upcoming_promotion_short_of_stock() -> None:
    items = alert_items(sku=["short", "ready"], on_hand=[60.0, 400.0])
    scenarios = _scenarios({"short": 10.0, "ready": 10.0})
    # A category promotion from day 5 to day 7 (30 units expected); 40 sold before it.
    promo = _promotion(None, "2025-03-07", "2025-03-09", category="c")
    found = event_alerts(items, scenarios, NO_RECEIPTS, promo, empty_table(LIVESTREAMS),
                         AS_OF, CONFIG)
    assert found["sku"].tolist() == ["short"]
    row = found.iloc[0]
    assert row.channel == "tmall" and row.date == pd.Timestamp("2025-03-07")
    assert row.value_at_risk == pytest.approx((30 - 20) * 20)
    assert "expected demand 30.0" in row.message
    arriving = pd.DataFrame({"sku": ["short"], "date": [pd.Timestamp("2025-03-06")],
                             "qty": [50.0]})
    assert event_alerts(items, scenarios, arriving, promo, empty_table(LIVESTREAMS),
                        AS_OF, CONFIG).empty
    later = _promotion(None, "2025-04-07", "2025-04-09", category="c")
    assert event_alerts(items, scenarios, NO_RECEIPTS, later, empty_table(LIVESTREAMS),
                        AS_OF, CONFIG).empty


def test_a_livestream_planning_more_units_than_stock_raises_event_readiness() -> None:
    items = alert_items(sku=["live"], on_hand=[200.0])
    streams = empty_table(LIVESTREAMS)
    streams.loc[0] = {"start": pd.Timestamp("2025-03-05 20:00"),
                      "end": pd.Timestamp("2025-03-05 22:00"), "channel": "douyin",
                      "sku": "live", "host": "Li", "expected_viewers": 1e5,
                      "planned_units": 500.0}
    found = event_alerts(items, _scenarios({"live": 10.0}), NO_RECEIPTS,
                         empty_table(PROMOTIONS), streams, AS_OF, CONFIG)
    assert found["channel"].tolist() == ["douyin"]
    assert found["value_at_risk"].iloc[0] == pytest.approx((500 - 180) * 20)


def _exceptions() -> pd.DataFrame:
    return pd.DataFrame([{
        "exception_id": "e1", "kind": "commitment_shortfall", "supplier": "S", "sku": "K0",
        "week": pd.Timestamp("2025-03-17"), "expected": 100.0, "actual": 60.0,
        "deviation": 0.4, "threshold": 0.1, "message": "committed 60 of 100",
    }], columns=EXCEPTION_COLUMNS)


def test_cpfr_exceptions_become_supplier_alerts() -> None:
    found = supplier_alerts(_exceptions(), alert_items(sku=["K0"]))
    assert found["kind"].tolist() == ["supplier_exception"]
    # 40 units apart, at the unit cost of 5 (the purchase at stake, not the sales).
    assert found["value_at_risk"].iloc[0] == pytest.approx(40 * 5)
    assert found["message"].iloc[0].startswith("commitment_shortfall: ")


def test_severity_by_money_thresholds() -> None:
    values = pd.Series([50_000.0, 5_000.0, 500.0, 5.0, 0.0])
    fixed = PlanningConfig(severity_thresholds=(10_000, 1_000, 100))
    assert rank_severity(values, fixed).tolist() == ["critical", "high", "medium", "low", "low"]
    # Defaults: critical from 50,000, high from 10,000, medium from 2,000.
    ranked = rank_severity(pd.Series([60_000.0, 10_000.0, 1_999.0]), CONFIG)
    assert ranked.tolist() == ["critical", "high", "low"]


def _run_alerts(on_hand: list[float], as_of: pd.Timestamp, skus: list[str]) -> pd.DataFrame:
    items = alert_items(sku=skus, on_hand=on_hand)
    start = as_of + pd.Timedelta(days=1)
    scenarios = _scenarios(dict.fromkeys(skus, 10.0), start=start)
    promo = _promotion(None, "2025-03-12", "2025-03-14", category="c")
    return build_alerts(items, scenarios, NO_RECEIPTS, NO_RECEIPTS, promo,
                        empty_table(LIVESTREAMS), _exceptions(), as_of, CONFIG)


def test_alert_ids_are_stable_across_runs_and_differ_between_problems() -> None:
    first = _run_alerts([30.0, 2000.0], AS_OF, ["K0", "K1"])
    # The next day, slightly different stock: the same problems.
    second = _run_alerts([25.0, 1990.0], AS_OF + pd.Timedelta(days=1), ["K0", "K1"])
    key = ["kind", "sku", "channel"]
    assert set(first["kind"]) == {"stockout_risk", "overstock", "event_readiness",
                                  "supplier_exception"}
    merged = first.merge(second, on=key, suffixes=("_1", "_2"))
    assert len(merged) == len(first)
    assert (merged["alert_id_1"] == merged["alert_id_2"]).all()
    assert first["alert_id"].is_unique
    other = _run_alerts([30.0, 2000.0], AS_OF, ["K0", "K9"])
    assert set(other.loc[other["sku"] == "K9", "alert_id"]).isdisjoint(first["alert_id"])
    rank = first["severity"].map({"critical": 0, "high": 1, "medium": 2, "low": 3})
    assert rank.is_monotonic_increasing
    for _, group in first.groupby(rank):
        assert group["value_at_risk"].is_monotonic_decreasing
