"""Suspected stockouts found by :func:`forecasting.quality.suspected_stockouts`: rare runs
against a series' own rate are flagged, natural zeros and seasons are not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.censoring import impute_censored
from forecasting.panel import build_panel
from forecasting.quality import MAX_DAYS, stopped_skus, suspected_stockouts

DATES = pd.date_range("2024-01-01", periods=400, freq="D")


def _panel(series: dict[str, np.ndarray], dates: pd.DatetimeIndex = DATES,
           freq: str = "D") -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = [pd.DataFrame({"date": dates, "sku": sku, "channel": "jd", "units": units,
                            "price": np.nan, "stockout": 0}) for sku, units in series.items()]
    sales = pd.concat(frames, ignore_index=True)
    panel = build_panel(sales[sales["units"] > 0], freq, dates[-1])
    return panel.history.assign(censored=panel.history["stockout"]), panel.series


def test_intermittent_series_with_many_natural_zeros_are_not_flagged() -> None:
    rng = np.random.default_rng(3)
    # 60 series selling on 5-50% of days (Poisson rates 0.05-0.7), some clumped: 1-in-3
    # series sell in bursts (a 10-day on/off regime), as slow movers on marketplaces do.
    series = {}
    for i in range(60):
        rate = rng.uniform(0.05, 0.7)
        mean = np.full(len(DATES), rate)
        if i % 3 == 0:
            mean = mean * 2 * (np.arange(len(DATES)) // 10 % 2)
        series[f"I{i:02d}"] = rng.poisson(mean).astype(float)
    history, info = _panel(series)
    table, mask = suspected_stockouts(history, info, 1)
    assert table.empty
    assert not mask.any()


def test_short_gap_on_a_fast_seller_is_flagged_and_censored() -> None:
    rng = np.random.default_rng(5)
    fast = rng.poisson(60.0, len(DATES)).astype(float)
    fast[300:303] = 0.0  # three days without a sale at 60 a day
    one_day = rng.poisson(60.0, len(DATES)).astype(float)
    one_day[150] = 0.0  # a single empty day is not enough evidence on 400 days
    history, info = _panel({"F": fast, "G": one_day})
    table, mask = suspected_stockouts(history, info, 1)
    assert table["sku"].tolist() == ["F"]
    row = table.iloc[0]
    assert (row["start"], row["end"], row["days"]) == (DATES[300], DATES[302], 3)
    assert row["reason"] == "unknown_stock" and row["censored"]
    assert mask.sum() == 3
    # Censored rows read the rate before them, not zero (as flagged stockouts do).
    imputed = impute_censored(history.assign(censored=mask), window=28)
    f_rows = (history["unique_id"] == "F|jd").to_numpy() & mask
    assert imputed[f_rows].min() > 50


def test_collapse_to_a_fraction_of_the_rate_is_flagged() -> None:
    rng = np.random.default_rng(6)
    units = rng.poisson(40.0, len(DATES)).astype(float)
    units[200:240] = rng.poisson(3.0, 40)  # 40 days at under 10% of the rate
    history, info = _panel({"C": units})
    table, _ = suspected_stockouts(history, info, 1)
    assert len(table) == 1
    assert table.iloc[0]["days"] == 40
    assert table.iloc[0]["expected_units"] == np.float64(table.iloc[0]["expected_units"])
    assert 0.8 * 40 * 40 <= table.iloc[0]["expected_units"] <= 1.2 * 40 * 40


def test_zero_on_hand_confirms_a_short_open_run_and_stock_names_the_listing() -> None:
    rng = np.random.default_rng(7)
    a = rng.poisson(8.0, len(DATES)).astype(float)
    b = rng.poisson(8.0, len(DATES)).astype(float)
    a[-2:] = 0.0
    b[-2:] = 0.0
    history, info = _panel({"A": a, "B": b})
    # Two empty days at 8 a day are plausible among 400 days (p ~ 1e-7 x 400 draws is not
    # 'rare' enough)... unless the SKU has nothing on hand, which confirms a stockout.
    table, _ = suspected_stockouts(history, info, 1, on_hand={"A": 0.0, "B": 300.0})
    assert table["sku"].tolist() == ["A"]
    assert table.iloc[0]["reason"] == "stockout"


def test_seasonal_off_season_and_dormant_runs_are_not_censored() -> None:
    weeks = pd.date_range("2019-01-04", periods=160, freq="W-FRI")
    rng = np.random.default_rng(8)
    in_season = np.asarray((weeks.month >= 10) | (weeks.month <= 1))
    seasonal = rng.poisson(np.where(in_season, 300.0, 0.0)).astype(float)
    dead = rng.poisson(100.0, len(weeks)).astype(float)
    dead[-30:] = 0.0  # 30 weeks without a sale, up to the origin
    history, info = _panel({"S": seasonal, "D": dead}, weeks, "W-FRI")
    table, mask = suspected_stockouts(history, info, 7)
    # The first off-season has no year before it to compare with; later ones do.
    seasonal_rows = table[table["sku"] == "S"]
    assert len(seasonal_rows) == 1
    assert seasonal_rows.iloc[0]["start"] < weeks[0] + pd.Timedelta(days=364)
    assert (seasonal_rows["days"] > MAX_DAYS).all()
    assert not seasonal_rows["censored"].any()
    dormant = table[table["sku"] == "D"].iloc[0]
    assert (dormant["reason"], dormant["days"], dormant["censored"]) == ("dormant", 210, False)
    assert not mask.any()


def test_skus_no_longer_sold_are_never_suspected() -> None:
    rng = np.random.default_rng(9)
    units = rng.poisson(50.0, len(DATES)).astype(float)
    units[-40:] = 0.0  # sold out and dropped from the range
    history, info = _panel({"OLD": units, "NEW": units.copy()})
    products = pd.DataFrame({"sku": ["OLD", "NEW"], "status": ["Discontinued", "active"]})
    table, mask = suspected_stockouts(history, info, 1, stopped=stopped_skus(products))
    assert table["sku"].tolist() == ["NEW"]
    assert mask.sum() == 40
