"""Money at risk counted once per SKU and period, and severity that ignores the other alerts.

Known answers, by hand (price 20, unit cost 5, 10 units a day, lead time 10 days, as of
2025-03-02, so day 1 is 2025-03-03 and an order placed now arrives on 2025-03-13):

* SKU A, 30 on hand: out on 2025-03-06; over the ten days 100 are wanted, 70 short: the
  stockout alert is worth 70 x 20 = 1,400 over 2025-03-03..03-12. Two livestreams on
  2025-03-07 each plan 100 units against no stock left (40 sold before): 100 x 20 = 2,000
  each. All three concern the same units: A's exposure is the largest, 2,000 (not 5,400).
* SKU B, 3,000 on hand at 2 a day (60 forecast days, then 2 a day): 120 days want 240 units,
  2,760 are excess: 2,760 x 5 = 13,800. A commitment shortfall of 40 units (x cost 5 = 200)
  and a forecast move of 30 units (150) in the same week: one supplier exposure of 200.
* Headline: 2,000 + 13,800 + 200 = 16,000, where the alerts' own values add to 19,550.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, alert_items, flat_scenarios

from flows.config import NotifySettings
from flows.i18n import language, localized_messages
from flows.outbound.notify import RunSummary, notify_run
from flows.outbound.report import ReportInputs
from flows.outbound.report.build import render_report
from forecasting.contract import LIVESTREAMS, PROMOTIONS, empty_table
from forecasting.scenarios import DemandScenarios
from replenishment.alerts import build_alerts, rank_severity
from replenishment.config import PlanningConfig
from replenishment.cpfr import EXCEPTION_COLUMNS
from replenishment.exposure import exposure_shares, money_at_risk, sku_exposure

FIRST_DAY = AS_OF + pd.Timedelta(days=1)
CONFIG = PlanningConfig()
NO_RECEIPTS = pd.DataFrame(columns=["sku", "date", "qty"])


def _scenarios(rates: dict[str, float], days: int = 60) -> DemandScenarios:
    return flat_scenarios(rates, days)




def _livestreams(sku: str, day: str, hosts: Sequence[str], planned: float) -> pd.DataFrame:
    frame = empty_table(LIVESTREAMS)
    for k, host in enumerate(hosts):
        frame.loc[k] = {"start": pd.Timestamp(f"{day} 20:00"), "end": pd.Timestamp(f"{day} 22:00"),
                        "channel": "douyin", "sku": sku, "host": host,
                        "expected_viewers": 1e5, "planned_units": planned}
    return frame


def _exceptions(sku: str) -> pd.DataFrame:
    week = pd.Timestamp("2025-03-17")
    return pd.DataFrame([
        {"exception_id": "e1", "kind": "commitment_shortfall", "supplier": "S", "sku": sku,
         "week": week, "expected": 100.0, "actual": 60.0, "deviation": 0.4, "threshold": 0.1,
         "message": "committed 60 of 100"},
        {"exception_id": "e2", "kind": "forecast_move", "supplier": "S", "sku": sku,
         "week": week, "expected": 100.0, "actual": 130.0, "deviation": 0.3, "threshold": 0.3,
         "message": "moved +30%"},
    ], columns=EXCEPTION_COLUMNS)


def _alerts(items: pd.DataFrame, rates: dict[str, float], streams: pd.DataFrame,
            exceptions: pd.DataFrame, config: PlanningConfig = CONFIG) -> pd.DataFrame:
    return build_alerts(items, _scenarios(rates), NO_RECEIPTS, NO_RECEIPTS,
                        empty_table(PROMOTIONS), streams, exceptions, AS_OF, config)


@pytest.fixture(scope="module")
def alerts() -> pd.DataFrame:
    items = alert_items(sku=["A", "B"], on_hand=[30.0, 3000.0])
    return _alerts(items, {"A": 10.0, "B": 2.0},
                   _livestreams("A", "2025-03-07", ["Li", "Wei"], 100.0), _exceptions("B"))


def test_the_alerts_each_state_their_own_value(alerts: pd.DataFrame) -> None:
    own = alerts.groupby(["sku", "kind"])["value_at_risk"].apply(sorted).to_dict()
    assert own[("A", "stockout_risk")] == [pytest.approx(1400.0)]
    assert own[("A", "event_readiness")] == [pytest.approx(2000.0)] * 2
    assert own[("B", "overstock")] == [pytest.approx(13800.0)]
    assert own[("B", "supplier_exception")] == [pytest.approx(150.0), pytest.approx(200.0)]
    assert alerts["value_at_risk"].sum() == pytest.approx(19550.0)


def test_headline_money_at_risk_is_the_sum_of_per_sku_exposures(alerts: pd.DataFrame) -> None:
    per_sku = sku_exposure(alerts).set_index("sku")
    assert per_sku.loc["A", "exposure"] == pytest.approx(2000.0, abs=0.02)
    assert per_sku.loc["B", "exposure"] == pytest.approx(13800.0 + 200.0, abs=0.02)
    assert per_sku.loc["B", "supply"] == pytest.approx(200.0, abs=0.02)
    assert money_at_risk(alerts) == pytest.approx(per_sku["exposure"].sum(), abs=0.01)
    assert money_at_risk(alerts) == pytest.approx(16000.0, abs=0.02)
    # The overlapping alerts share A's exposure in proportion to their own values.
    share = alerts[alerts["sku"] == "A"].set_index("kind")["exposure"]
    assert share["stockout_risk"] == pytest.approx(2000 * 1400 / 5400, abs=0.01)
    assert share["event_readiness"].tolist() == [pytest.approx(2000 * 2000 / 5400, abs=0.01)] * 2


def test_the_report_headline_shows_the_money_counted_once(alerts: pd.DataFrame) -> None:
    html = render_report(ReportInputs(brand="b", as_of=AS_OF, run_id="r", alerts=alerts))
    assert 'id="value-at-risk">16,000<' in html
    assert "hold back" in html or "cap the livestream" in html  # actions are shown


def test_periods_that_do_not_overlap_add_up() -> None:
    day = pd.Timestamp("2025-03-05")
    frame = pd.DataFrame({
        "alert_id": ["s", "l1", "l2", "later", "other"],
        "kind": ["stockout_risk", "event_readiness", "event_readiness", "event_readiness",
                 "overstock"],
        "sku": ["A", "A", "A", "A", "A"],
        "date": [day] * 5,
        "period_start": [day, day + pd.Timedelta(days=2), day + pd.Timedelta(days=2),
                         day + pd.Timedelta(days=20), day],
        "period_end": [day + pd.Timedelta(days=9), day + pd.Timedelta(days=2),
                       day + pd.Timedelta(days=2), day + pd.Timedelta(days=21),
                       day + pd.Timedelta(days=119)],
        "value_at_risk": [1400.0, 2000.0, 2000.0, 500.0, 300.0],
    })
    shares = exposure_shares(frame)
    # One cluster worth 2,000; a later event (500) and the excess stock (300) add.
    assert shares.sum() == pytest.approx(2800.0, abs=0.02)
    assert shares.iloc[3] == 500.0 and shares.iloc[4] == 300.0
    assert money_at_risk(frame) == pytest.approx(2800.0, abs=0.02)


def test_severity_does_not_depend_on_how_many_other_alerts_there_are() -> None:
    # A at price 200: the stockout is worth 14,000 (high by money) and bites in 4 days
    # (critical by cover): the less severe, high. Each livestream: 20,000, 5 days: high.
    alone = _alerts(alert_items(sku=["A"], on_hand=[30.0], price=[200.0]), {"A": 10.0},
                    _livestreams("A", "2025-03-07", ["Li", "Wei"], 100.0), _exceptions("A"))
    crowd_skus = [f"X{i}" for i in range(30)]
    crowd = _alerts(
        alert_items(sku=["A", *crowd_skus], on_hand=[30.0] + [0.0] * 30,
               price=[200.0] + [5000.0] * 30),
        {"A": 10.0, **dict.fromkeys(crowd_skus, 10.0)},
        _livestreams("A", "2025-03-07", ["Li", "Wei"], 100.0), _exceptions("A"))
    assert (crowd["sku"] != "A").sum() >= 30  # thirty SKUs losing 500,000 each
    key = ["kind", "alert_id"]
    mine = crowd[crowd["sku"] == "A"].set_index(key)["severity"].sort_index()
    assert mine.to_dict() == alone.set_index(key)["severity"].sort_index().to_dict()
    assert alone.set_index("kind").loc["stockout_risk", "severity"] == "high"
    assert set(alone.loc[alone["kind"] == "event_readiness", "severity"]) == {"high"}
    # The supplier exceptions (200 and 150 at cost) are low, however many others there are.
    assert set(alone.loc[alone["kind"] == "supplier_exception", "severity"]) == {"low"}


def test_severity_reads_money_and_days_of_cover() -> None:
    values = pd.Series([1e6, 1e6, 1e6, 14_000.0, 1_000.0])
    cover = pd.Series([60.0, 3.0, np.nan, 3.0, 1.0])
    # 1,000,000 two months out: low; in 3 days: critical; no cover (overstock): critical;
    # 14,000 in 3 days: high (money); 1,000 tomorrow: low (money).
    assert rank_severity(values, CONFIG, cover).tolist() == [
        "low", "critical", "critical", "high", "low"]
    strict = PlanningConfig(severity_thresholds=(10_000, 5_000, 1_000),
                            severity_cover_days=(2, 4, 6))
    assert rank_severity(values, strict, cover).tolist() == [
        "low", "high", "critical", "high", "medium"]
    with pytest.raises(ValueError, match="critical <= high <= medium"):
        PlanningConfig(severity_cover_days=(10, 5, 20))


def test_the_digest_heads_with_the_money_counted_once_and_says_what_to_do(
        alerts: pd.DataFrame, tmp_path: Path) -> None:
    products = pd.DataFrame({"sku": ["A", "B"], "category": "c", "supplier": "S",
                             "name": ["玫瑰精华液", "口红"]})
    settings = NotifySettings.model_validate(
        {"teams": [{"name": "planners", "urls": ["digest://"]}]})
    summary = RunSummary(brand="b", as_of="2025-03-02", run_id="r",
                         totals={"order_value": 1000.0})
    zh = language("zh_CN")
    # As the pipeline does: sentences, actions and effects in the run's language first.
    results = notify_run(localized_messages(alerts, zh), products, summary, settings,
                         output_dir=tmp_path, lang=zh)
    assert [r.status for r in results] == ["written"]
    body = (tmp_path / "digest-planners.md").read_text(encoding="utf-8")
    assert "订单金额 ¥1,000 · 风险金额（每个商品只计一次） ¥16,000" in body
    # The livestream alert: cap its units, by the day before it.
    assert "；建议：2025-03-06 前直播限量 0 件（原计划 100 件），避免接单超过库存" in body
