"""Unflagged stockouts and listing problems: censored, reported and alerted, never forecast as
low demand (issue 10, item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.config import ForecastConfig
from forecasting.contract import DemandData
from forecasting.engine import Forecaster, ForecastResult
from forecasting.quality import DATA_QUALITY_COLUMNS
from replenishment.alerts import ALERT_COLUMNS, build_alerts, data_quality_alerts
from replenishment.config import PlanningConfig

RATES = {"K0": 80.0, "K1": 50.0, "K2": 120.0, "K3": 30.0, "K4": 15.0, "K5": 60.0}
DAYS = 400
DATES = pd.date_range("2024-01-01", periods=DAYS, freq="D")
ORIGIN = DATES[-1]
GAP = 21


def _brand(seed: int = 0) -> DemandData:
    """Poisson sales at known rates, two 3-day promotions (x2.5) per SKU, and unflagged
    trouble: K0 sells nothing in the last 21 days (with 1,467 units on hand), K2 sells 10% of
    its rate in the last 21 days, K1 sold nothing for 21 days mid-history."""
    rng = np.random.default_rng(seed)
    promos, frames = [], []
    for i, (sku, rate) in enumerate(RATES.items()):
        mean = np.full(DAYS, rate)
        for first in (90 + 7 * i, 250 + 5 * i):
            promos.append({"start": DATES[first], "end": DATES[first + 2], "kind": "discount",
                           "sku": sku, "discount": 0.3})
            mean[first:first + 3] *= 2.5
        units = rng.poisson(mean).astype(float)
        if sku == "K0":
            units[-GAP:] = 0.0
        if sku == "K2":
            units[-GAP:] = np.floor(0.1 * units[-GAP:])
        if sku == "K1":
            units[200:200 + GAP] = 0.0
        frames.append(pd.DataFrame({"date": DATES, "sku": sku, "channel": "tmall",
                                    "units": units, "price": np.nan, "stockout": 0}))
    sales = pd.concat(frames, ignore_index=True)
    sales = sales[sales["units"] > 0].reset_index(drop=True)  # exports omit zero days
    return DemandData(sales, promotions=pd.DataFrame(promos))


@pytest.fixture(scope="module")
def fitted() -> tuple[Forecaster, ForecastResult]:
    inventory = pd.DataFrame({"sku": ["K0", "K2"], "on_hand": [1467.0, 0.0],
                              "warehouse": ["main", "main"]})
    forecaster = Forecaster(ForecastConfig()).fit(_brand(), inventory=inventory)
    return forecaster, forecaster.predict()


def test_forecast_after_unflagged_runs_stays_within_15_percent_of_true_demand(
    fitted: tuple[Forecaster, ForecastResult],
) -> None:
    _, result = fitted
    # No promotion in the horizon: true demand is the rate itself.
    mean = result.channel.groupby("sku")["forecast"].mean()
    for sku in ("K0", "K2", "K1"):
        assert mean[sku] == pytest.approx(RATES[sku], rel=0.15), sku


def test_suspected_runs_are_reported_with_dates_and_reason(
    fitted: tuple[Forecaster, ForecastResult],
) -> None:
    forecaster, result = fitted
    table = result.data_quality
    assert list(table.columns) == DATA_QUALITY_COLUMNS
    by_sku = table.set_index("sku")
    assert set(by_sku.index) == {"K0", "K1", "K2"}
    last = ORIGIN - pd.Timedelta(days=GAP - 1)
    assert (by_sku.loc["K0", "start"], by_sku.loc["K0", "end"]) == (last, ORIGIN)
    assert by_sku.loc["K0", "days"] == GAP
    assert by_sku.loc["K0", "reason"] == "listing"  # 1,467 units on hand, no sales
    assert by_sku.loc["K2", "reason"] == "stockout"  # none on hand
    assert by_sku.loc["K1", "reason"] == "unknown_stock"  # sales resumed
    assert (by_sku.loc["K1", "start"], by_sku.loc["K1", "end"]) == (DATES[200], DATES[220])
    assert by_sku.loc["K0", "expected_units"] == pytest.approx(GAP * 80.0, rel=0.1)
    assert table["censored"].all()
    # Censored exactly like flagged stockouts: left out of scoring and training targets.
    observed = forecaster.observed()
    k0 = observed[observed["sku"] == "K0"]
    assert k0.loc[k0["ds"] >= last, "censored"].all()
    assert not k0.loc[k0["ds"] < last, "censored"].any()


def test_alert_names_the_sku_channel_and_dates(
    fitted: tuple[Forecaster, ForecastResult],
) -> None:
    _, result = fitted
    items = pd.DataFrame({
        "sku": list(RATES), "supplier": "S", "category": "c", "price": 10.0, "unit_cost": 4.0,
        "on_hand": 5000.0, "backorders": 0.0, "lead_time_days": 7.0, "shelf_life_days": np.nan,
    })
    empty = pd.DataFrame(columns=["sku", "date", "qty"])
    alerts = build_alerts(items, result.scenarios, empty, empty, pd.DataFrame(),
                          pd.DataFrame(), pd.DataFrame(), ORIGIN, PlanningConfig(),
                          data_quality=result.data_quality)
    assert list(alerts.columns) == ALERT_COLUMNS
    found = alerts[alerts["kind"] == "suspected_stockout"].set_index("sku")
    # K1's run ended 180 days ago: it stays in the data-quality table, no alert.
    assert set(found.index) == {"K0", "K2"}
    message = found.loc["K0", "message"]
    assert "listing problem on tmall 2025-01-14 to 2025-02-03 (21 days)" in message
    assert "1,467 units on hand" in message and "check the shop page" in message
    assert found.loc["K0", "channel"] == "tmall"
    assert found.loc["K0", "value_at_risk"] == pytest.approx(10.0 * 80 * GAP, rel=0.1)
    assert found.loc["K2", "message"].startswith("stockout on tmall")


def test_alerts_cover_recent_runs_only_and_keep_their_id_while_a_run_goes_on() -> None:
    as_of = pd.Timestamp("2025-03-31")

    def run(sku: str, start: str, end: str, reason: str, on_hand: float) -> dict[str, object]:
        first, last = pd.Timestamp(start), pd.Timestamp(end)
        days = (last - first).days + 1
        return {"sku": sku, "channel": "jd", "start": first, "end": last, "days": days,
                "expected_units": 10.0 * days, "sold_units": 0.0, "probability": 1e-9,
                "on_hand": on_hand, "reason": reason, "censored": reason != "dormant"}

    table = pd.DataFrame([
        run("A", "2025-03-20", "2025-03-31", "stockout", 0.0),
        run("B", "2025-03-25", "2025-03-31", "listing", 250.0),
        run("C", "2025-02-20", "2025-03-10", "unknown_stock", np.nan),
        run("D", "2024-11-01", "2025-03-31", "dormant", np.nan),
        run("E", "2024-12-01", "2024-12-20", "unknown_stock", np.nan),  # long over
    ], columns=DATA_QUALITY_COLUMNS)
    items = pd.DataFrame({"sku": list("ABCDE"), "supplier": "S", "category": "c",
                          "price": 2.0})
    found = data_quality_alerts(table, items, as_of).set_index("sku")
    assert set(found.index) == {"A", "B", "C", "D"}
    assert (found["kind"] == "suspected_stockout").all()
    assert found.loc["A", "message"].startswith("stockout on jd 2025-03-20 to 2025-03-31")
    assert "250 units on hand: check the shop page" in found.loc["B", "message"]
    assert found.loc["C", "message"].startswith("suspected stockout / listing problem on jd")
    assert "forecast as low demand" in found.loc["D", "message"]
    assert found.loc["A", "value_at_risk"] == pytest.approx(2.0 * 10.0 * 12)
    # The same run a day longer is the same problem: same alert id.
    later = table.assign(end=table["end"] + pd.Timedelta(days=1))
    again = data_quality_alerts(later, items, as_of + pd.Timedelta(days=1)).set_index("sku")
    assert again.loc["A", "alert_id"] == found.loc["A", "alert_id"]
