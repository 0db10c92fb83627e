"""Signal features from promotions, livestreams, events and prices, for history and future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.contract import (
    EVENTS,
    LIVESTREAMS,
    PRICES,
    PROMOTIONS,
    DemandData,
    empty_table,
)
from forecasting.features import build_features


def _grid(series: pd.DataFrame, start: str, days: int, freq: str = "D") -> pd.DataFrame:
    dates = pd.date_range(start, periods=days, freq=freq)
    return pd.DataFrame({
        "unique_id": np.repeat(series["unique_id"].to_numpy(), len(dates)),
        "ds": np.tile(dates.to_numpy(), len(series)),
    })


def _series() -> pd.DataFrame:
    return pd.DataFrame({
        "unique_id": ["A|jd", "A|tmall", "B|jd"],
        "sku": ["A", "A", "B"],
        "channel": ["jd", "tmall", "jd"],
        "category": ["face", "face", "body"],
    })


def _table(spec, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    empty = empty_table(spec)
    for col in empty.columns:
        if col not in frame:
            frame[col] = empty[col].reindex(frame.index)
    return frame


def _data(**tables: pd.DataFrame) -> DemandData:
    sales = pd.DataFrame({"date": pd.to_datetime(["2024-01-01"]), "sku": ["A"],
                          "channel": ["jd"], "units": [1.0], "price": [np.nan], "stockout": [0]})
    return DemandData(sales, **tables)


def _at(features: pd.DataFrame, grid: pd.DataFrame, uid: str, day: str) -> pd.Series:
    row = (grid["unique_id"] == uid) & (grid["ds"] == pd.Timestamp(day))
    return features[row.to_numpy()].iloc[0]


def test_promotion_scope_empty_means_all_and_category_needs_mapping() -> None:
    series = _series()
    grid = _grid(series, "2024-01-01", 20)
    promos = _table(PROMOTIONS, [
        # SKU A on jd only, 3 days, 30% off
        {"start": pd.Timestamp("2024-01-05"), "end": pd.Timestamp("2024-01-07"),
         "kind": "flash", "sku": "A", "channel": "jd", "discount": 0.3},
        # whole store, every SKU and channel
        {"start": pd.Timestamp("2024-01-12"), "end": pd.Timestamp("2024-01-12"),
         "kind": "sitewide", "discount": 0.1},
        # category "body" on every channel
        {"start": pd.Timestamp("2024-01-15"), "end": pd.Timestamp("2024-01-16"),
         "kind": "category", "category": "body", "discount": 0.2},
    ])
    features = build_features(grid, series, _data(promotions=promos), "D")
    first = _at(features, grid, "A|jd", "2024-01-05")
    assert first["promo_active"] == 1 and first["promo_discount"] == pytest.approx(0.3)
    assert first["promo_day"] == 0 and first["promo_days_to_end"] == 2
    assert first["promo_kind_flash"] == 1
    assert _at(features, grid, "A|jd", "2024-01-07")["promo_days_to_end"] == 0
    assert _at(features, grid, "A|jd", "2024-01-09")["promo_days_after"] == 2
    assert _at(features, grid, "A|tmall", "2024-01-05")["promo_active"] == 0
    assert _at(features, grid, "B|jd", "2024-01-05")["promo_active"] == 0
    for uid in series["unique_id"]:
        assert _at(features, grid, uid, "2024-01-12")["promo_active"] == 1
    assert _at(features, grid, "B|jd", "2024-01-15")["promo_discount"] == pytest.approx(0.2)
    assert _at(features, grid, "A|jd", "2024-01-15")["promo_active"] == 0
    no_category = series.assign(category=None)
    features = build_features(grid, no_category, _data(promotions=promos), "D")
    assert _at(features, grid, "B|jd", "2024-01-15")["promo_active"] == 0


def test_livestreams_on_air_by_local_day_and_channel() -> None:
    series = _series()
    grid = _grid(series, "2024-01-01", 10)
    streams = _table(LIVESTREAMS, [
        # crosses midnight: on air on the 3rd and the 4th (naive local times)
        {"start": pd.Timestamp("2024-01-03 22:00"), "end": pd.Timestamp("2024-01-04 01:00"),
         "channel": "jd", "sku": "A", "planned_units": 500.0, "expected_viewers": 1e5},
        {"start": pd.Timestamp("2024-01-06 20:00"), "end": pd.Timestamp("2024-01-06 22:00"),
         "channel": "jd"},  # every SKU on jd
    ])
    features = build_features(grid, series, _data(livestreams=streams), "D")
    on = _at(features, grid, "A|jd", "2024-01-03")
    # the plan is split by hours on air: 2 of the 3 hours fall on the 3rd
    assert on["live_on_air"] == 1 and on["live_planned_units"] == pytest.approx(500 * 2 / 3)
    after_midnight = _at(features, grid, "A|jd", "2024-01-04")
    assert after_midnight["live_on_air"] == 1
    assert after_midnight["live_planned_units"] == pytest.approx(500 / 3)
    assert _at(features, grid, "A|jd", "2024-01-05")["live_on_air"] == 0
    assert _at(features, grid, "A|tmall", "2024-01-03")["live_on_air"] == 0
    assert _at(features, grid, "B|jd", "2024-01-06")["live_on_air"] == 1
    assert _at(features, grid, "A|tmall", "2024-01-06")["live_on_air"] == 0


def test_events_timing_and_closures_reach_future_dates() -> None:
    series = _series()
    grid = _grid(series, "2024-10-01", 60)  # includes dates past any sales: the horizon
    events = _table(EVENTS, [
        {"start": pd.Timestamp("2024-11-11"), "end": pd.Timestamp("2024-11-11"),
         "name": "Double 11", "kind": "festival"},
        {"start": pd.Timestamp("2024-10-20"), "end": pd.Timestamp("2024-10-21"),
         "name": "warehouse move", "kind": "closure", "channel": "tmall"},
    ])
    features = build_features(grid, series, _data(events=events), "D")
    before = _at(features, grid, "B|jd", "2024-11-01")
    assert before["ev_double_11_to"] == 10 and before["ev_double_11_on"] == 0
    assert _at(features, grid, "B|jd", "2024-11-11")["ev_double_11_on"] == 1
    assert _at(features, grid, "B|jd", "2024-11-11")["festival_on"] == 1
    assert _at(features, grid, "B|jd", "2024-11-14")["ev_double_11_after"] == 3
    assert _at(features, grid, "A|tmall", "2024-10-20")["closed"] == 1
    assert _at(features, grid, "A|jd", "2024-10-20")["closed"] == 0


def test_prices_relative_to_regular_price_and_carried_forward() -> None:
    series = _series()
    grid = _grid(series, "2024-01-01", 40)
    prices = _table(PRICES, [
        {"date": pd.Timestamp("2024-01-01"), "sku": "A", "price": 100.0},
        {"date": pd.Timestamp("2024-01-20"), "sku": "A", "price": 80.0},
        {"date": pd.Timestamp("2024-01-20"), "sku": "A", "channel": "jd", "price": 70.0},
    ])
    features = build_features(grid, series, _data(prices=prices), "D")
    assert _at(features, grid, "A|tmall", "2024-01-10")["price"] == 100
    assert _at(features, grid, "A|tmall", "2024-02-05")["price"] == 80  # carried forward
    cut = _at(features, grid, "A|jd", "2024-01-21")
    assert cut["price"] == 70  # the channel's own price wins
    assert cut["price_ratio"] == pytest.approx(0.7)


def test_weekly_periods_average_the_days() -> None:
    series = _series()
    grid = _grid(series, "2024-01-05", 6, freq="W-FRI")
    promos = _table(PROMOTIONS, [{"start": pd.Timestamp("2024-01-08"),
                                  "end": pd.Timestamp("2024-01-11"), "kind": "x",
                                  "discount": 0.2}])
    features = build_features(grid, series, _data(promotions=promos), "W-FRI")
    # the week ending Friday 12 January holds 4 promotion days out of 7
    assert _at(features, grid, "A|jd", "2024-01-12")["promo_active"] == pytest.approx(4 / 7)
    assert _at(features, grid, "A|jd", "2024-01-19")["promo_active"] == 0


def test_a_make_up_workday_is_flagged_as_a_workday_not_a_holiday() -> None:
    """调休: Saturday 2026-02-14 is a day the country works (State Council notice for 2026):
    it gets ``workday_on`` (learned apart from other weekend days), never ``holiday_on``, and
    no per-name timing columns."""
    series = _series()
    grid = _grid(series, "2026-02-01", 40)
    events = _table(EVENTS, [
        {"start": pd.Timestamp("2026-02-15"), "end": pd.Timestamp("2026-02-23"),
         "name": "春节", "kind": "holiday"},
        {"start": pd.Timestamp("2026-02-14"), "end": pd.Timestamp("2026-02-14"),
         "name": "调休上班", "kind": "workday"},
        {"start": pd.Timestamp("2026-02-28"), "end": pd.Timestamp("2026-02-28"),
         "name": "调休上班", "kind": "workday"},
    ])
    features = build_features(grid, series, _data(events=events), "D")
    workday = _at(features, grid, "A|jd", "2026-02-14")
    assert workday["workday_on"] == 1 and workday["holiday_on"] == 0
    assert _at(features, grid, "B|jd", "2026-02-28")["workday_on"] == 1
    assert _at(features, grid, "A|jd", "2026-02-21")["workday_on"] == 0  # an ordinary Saturday
    assert _at(features, grid, "A|jd", "2026-02-21")["holiday_on"] == 1
    assert not [c for c in features.columns if c.startswith("ev_") and "workday" in c]
    assert len([c for c in features.columns if c.startswith("ev_")]) == 3  # 春节 only
