"""Each alert says what to do, by when and what it brings; festivals are checked for
readiness; overstock is judged after this run's orders against the non-event rate; stale
sales raise an alert. Known answers by hand: 10 units a day, price 20, unit cost 5, as of
2025-03-02 (day 1 = 2025-03-03)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, alert_items, flat_scenarios, scenarios_from

from flows.i18n import language, localized_messages
from forecasting.contract import EVENTS, LIVESTREAMS, PROMOTIONS, empty_table
from forecasting.scenarios import DemandScenarios
from replenishment.alerts import (
    event_alerts,
    event_days,
    event_rows,
    overstock_alerts,
    stockout_alerts,
)
from replenishment.config import PlanningConfig
from replenishment.freshness import freshness_alerts

FIRST_DAY = AS_OF + pd.Timedelta(days=1)
CONFIG = PlanningConfig()
NO_RECEIPTS = pd.DataFrame(columns=["sku", "date", "qty"])
NO_STREAMS = empty_table(LIVESTREAMS)
NO_PROMOTIONS = empty_table(PROMOTIONS)


def _scenarios(rates: dict[str, float], days: int = 60) -> DemandScenarios:
    return flat_scenarios(rates, days)




def _params(row: pd.Series, column: str = "action_params") -> dict[str, object]:
    return dict(json.loads(row[column]))


def test_a_stockout_before_an_open_po_arrives_expedites_that_po() -> None:
    # 30 on hand: out on 03-06 (day 4); PO-1 brings 200 on 03-10; the worst gap is 40 units
    # on 03-09 (70 wanted - 30).
    po = pd.DataFrame({"sku": ["K0"], "date": [pd.Timestamp("2025-03-10")], "qty": [200.0],
                       "po_id": ["PO-1"], "supplier": ["S"]})
    row = stockout_alerts(alert_items(on_hand=[30.0]), _scenarios({"K0": 10.0}), po, AS_OF,
                          CONFIG).iloc[0]
    assert row.action_id == "action.expedite_po"
    assert _params(row) == {"po": "PO-1", "supplier": "S", "qty": 200.0, "eta": "2025-03-10",
                            "need_by": "2025-03-06", "days": 4}
    assert row.action == ("expedite PO PO-1 (S, 200 units due 2025-03-10) to arrive by "
                          "2025-03-06, 4 days earlier")
    assert row.action_by == FIRST_DAY
    assert row.effect_id == "effect.covers"
    assert _params(row, "effect_params") == {"units": 40.0, "short": 40.0, "value": 800.0}
    assert row.value_at_risk == pytest.approx(800.0)
    # Without a PO to expedite: rush 70 units by the day stock runs out.
    rush = stockout_alerts(alert_items(on_hand=[30.0]), _scenarios({"K0": 10.0}), NO_RECEIPTS,
                           AS_OF, CONFIG).iloc[0]
    assert rush.action_id == "action.rush_order"
    assert _params(rush) == {"supplier": "S", "units": 70.0, "need_by": "2025-03-06",
                             "arrival": "2025-03-13"}


def test_actions_are_translated_with_the_alert() -> None:
    po = pd.DataFrame({"sku": ["K0"], "date": [pd.Timestamp("2025-03-10")], "qty": [200.0],
                       "po_id": ["PO-1"], "supplier": ["S"]})
    found = stockout_alerts(alert_items(on_hand=[30.0]), _scenarios({"K0": 10.0}), po, AS_OF,
                            CONFIG)
    zh = localized_messages(found, language("zh_CN")).iloc[0]
    assert zh.action == ("催交采购单 PO-1（S，200 件，原定 2025-03-10 到货），"
                         "要求 2025-03-06 前到货，提前 4 天")
    assert zh.action_effect == "可补上缺货 40 件中约 40 件（销售额 ¥800）"


def _livestream(sku: str, day: str, planned: float) -> pd.DataFrame:
    frame = empty_table(LIVESTREAMS)
    frame.loc[0] = {"start": pd.Timestamp(f"{day} 20:00"), "end": pd.Timestamp(f"{day} 22:00"),
                    "channel": "douyin", "sku": sku, "host": "Li", "expected_viewers": 1e5,
                    "planned_units": planned}
    return frame


def _promotion(sku: str, start: str, end: str, channel: str | None) -> pd.DataFrame:
    frame = empty_table(PROMOTIONS)
    frame.loc[0] = {"start": pd.Timestamp(start), "end": pd.Timestamp(end), "kind": "flash",
                    "sku": sku, "category": None, "channel": channel, "discount": 0.2}
    return frame


def test_event_actions_cap_a_livestream_raise_an_order_or_move_stock() -> None:
    # Livestream on 03-07 planning 100 against no stock left: cap it at 0, the day before.
    live = event_alerts(alert_items(on_hand=[30.0]), _scenarios({"K0": 10.0}), NO_RECEIPTS,
                        NO_PROMOTIONS, _livestream("K0", "2025-03-07", 100.0), AS_OF,
                        CONFIG).iloc[0]
    assert live.action_id == "action.cap_livestream"
    assert _params(live) == {"cap": 0, "planned": 100.0}
    assert live.action_by == pd.Timestamp("2025-03-06")
    assert _params(live, "effect_params") == {"units": 100.0, "value": 2000.0}
    # A promotion on 03-14..16 (30 units) with lead time 5: an order placed now arrives on
    # 03-08, before it: raise this run's order by the 30 units short (110 sold before it).
    raise_ = event_alerts(alert_items(on_hand=[50.0], lead_time_days=[5.0]),
                          _scenarios({"K0": 10.0}), NO_RECEIPTS,
                          _promotion("K0", "2025-03-14", "2025-03-16", None), NO_STREAMS,
                          AS_OF, CONFIG).iloc[0]
    assert raise_.action_id == "action.raise_order"
    assert _params(raise_) == {"supplier": "S", "units": 30.0, "arrival": "2025-03-08"}
    # The same promotion on tmall with lead time 20 and 120 on hand: 10 left at its start
    # (110 sold before), 20 short; hold back 20 of the other channels' units before it.
    moved = event_alerts(alert_items(on_hand=[120.0], lead_time_days=[20.0]),
                         _scenarios({"K0": 10.0}), NO_RECEIPTS,
                         _promotion("K0", "2025-03-14", "2025-03-16", "tmall"), NO_STREAMS,
                         AS_OF, CONFIG).iloc[0]
    assert moved.action_id == "action.move_stock"
    assert _params(moved) == {"units": 20.0, "channel": "tmall", "start": "2025-03-14"}
    assert moved.action_by == pd.Timestamp("2025-03-13")


def _festival(day: str, kind: str = "festival", name: str = "双11") -> pd.DataFrame:
    frame = empty_table(EVENTS)
    frame.loc[0] = {"start": pd.Timestamp(day), "end": pd.Timestamp(day), "name": name,
                    "kind": kind, "channel": None, "sku": None}
    return frame


def test_a_festival_in_the_events_table_is_checked_within_the_lead_time() -> None:
    # 双11 on 03-14 (12 days ahead); 100 on hand, 110 sold before it: 10 short, 200 at risk.
    config = PlanningConfig(event_window_days=3)
    items = alert_items(sku=["F", "G"], lead_time_days=[14.0, 5.0])
    found = event_alerts(items, _scenarios({"F": 10.0, "G": 10.0}), NO_RECEIPTS,
                         NO_PROMOTIONS, NO_STREAMS, AS_OF, config, events=_festival("2025-03-14"))
    # G's lead time (5) and the window (3) end before it: only F is checked.
    assert found["sku"].tolist() == ["F"]
    row = found.iloc[0]
    assert row.value_at_risk == pytest.approx(10 * 20)
    assert row.message.startswith("event '双11' 2025-03-14 to 2025-03-14")
    assert (row.period_start, row.period_end) == (pd.Timestamp("2025-03-14"),) * 2
    assert row.cover_days == 12.0
    zh = localized_messages(found, language("zh_CN")).iloc[0]
    assert zh.message.startswith("双11")
    # A closure is not a peak: no readiness check.
    closed = event_alerts(items, _scenarios({"F": 10.0, "G": 10.0}), NO_RECEIPTS,
                          NO_PROMOTIONS, NO_STREAMS, AS_OF, config,
                          events=_festival("2025-03-14", "closure", "春节物流暂停"))
    assert closed.empty


def _spiky(days: int = 60, spike_day: int = 9) -> DemandScenarios:
    """2 a day, 200 on 03-12 (day 10): the festival."""
    mean = np.full(days, 2.0)
    mean[spike_day] = 200.0
    return scenarios_from(np.broadcast_to(mean, (1, 50, days)).astype(float), ["O"], FIRST_DAY)


def test_overstock_is_judged_after_this_runs_order_against_the_non_event_rate() -> None:
    # 60 forecast days want 59 x 2 + 200 = 318; 60 more days at the non-event rate 2: 120.
    # 300 on hand + this run's 200 = 500: 62 above 120 days of cover, 310 at cost; it lasts
    # 60 + (500 - 318) / 2 = 151 days.
    items = alert_items(sku=["O"], on_hand=[300.0])
    mask = event_days(items, event_rows(items, NO_PROMOTIONS, NO_STREAMS,
                                        _festival("2025-03-12")), FIRST_DAY, 60)
    assert mask.sum() == 1 and mask[0, 9]
    order = pd.DataFrame({"sku": ["O"], "qty": [200.0]})
    found = overstock_alerts(items, _spiky(), NO_RECEIPTS, AS_OF, CONFIG, order, mask)
    row = found.iloc[0]
    assert row.kind == "overstock"
    assert row.value_at_risk == pytest.approx(62 * 5)
    assert row.cover_days == pytest.approx(151.0)
    assert "(on order 0, ordered now 200) covers 151 days" in row.message
    assert "then 2.00/day outside events" in row.message
    # It says: cut this run's order by the 62 units.
    assert row.action_id == "action.cut_order"
    assert _params(row) == {"supplier": "S", "units": 62.0}
    # Before this run's order, 300 do not cover 120 days: no overstock.
    assert overstock_alerts(items, _spiky(), NO_RECEIPTS, AS_OF, CONFIG, None, mask).empty
    # Read at the festival-inflated mean (5.3 a day), the same 500 would look fine.
    assert overstock_alerts(items, _spiky(), NO_RECEIPTS, AS_OF, CONFIG, order, None).empty


def test_overstock_pushes_out_the_last_open_po_else_clears_the_excess() -> None:
    items = alert_items(sku=["O"], on_hand=[1000.0])
    flat = scenarios_from(np.full((1, 50, 60), 2.0), ["O"], FIRST_DAY)
    # 1,000 + 2 POs (100 on 03-05, 50 on 03-20): 1,150 - 240 = 910 excess.
    pos = pd.DataFrame({"sku": ["O", "O"], "qty": [100.0, 50.0], "po_id": ["PO-A", "PO-B"],
                        "supplier": ["S", "S"],
                        "date": pd.to_datetime(["2025-03-05", "2025-03-20"])})
    row = overstock_alerts(items, flat, pos, AS_OF, CONFIG).iloc[0]
    assert row.value_at_risk == pytest.approx(910 * 5)
    assert row.action_id == "action.push_out_po"
    assert _params(row)["po"] == "PO-B"
    assert row.action_by == pd.Timestamp("2025-03-13")  # a week before its ETA
    assert _params(row, "effect_params") == {"units": 50.0, "value": 250.0}
    clear = overstock_alerts(items, flat, NO_RECEIPTS, AS_OF, CONFIG).iloc[0]
    assert clear.action_id == "action.clear_overstock"
    assert _params(clear) == {"units": 760.0}
    assert clear.action_by == pd.Timestamp("2025-04-01")  # 30 days from 03-03


def test_stale_sales_raise_a_data_freshness_alert() -> None:
    sales = pd.DataFrame({
        "date": pd.to_datetime(["2025-03-02", "2025-02-25", "2024-10-01", "2025-03-05"]),
        "channel": ["tmall", "douyin", "jd", "douyin"], "sku": "A", "units": 1.0,
    })
    # tmall is fresh, jd closed (153 days), douyin 5 days old (its 03-05 row is after as_of).
    found = freshness_alerts(sales, AS_OF, CONFIG)
    assert found["channel"].tolist() == ["douyin"]
    row = found.iloc[0]
    assert (row.kind, row.severity, row.value_at_risk) == ("data_freshness", "high", 0.0)
    assert row.message == ("the newest douyin sales are from 2025-02-25, 5 days before "
                           "2025-03-02 (expected within 2 days): the forecast and the orders "
                           "miss the latest sales")
    assert row.action_id == "action.refresh_sales" and row.action_by == FIRST_DAY
    week_old = freshness_alerts(sales, AS_OF + pd.Timedelta(days=2), CONFIG)
    assert week_old.set_index("channel").loc["douyin", "severity"] == "critical"
    assert freshness_alerts(sales, AS_OF, PlanningConfig(stale_sales_days=5)).empty
