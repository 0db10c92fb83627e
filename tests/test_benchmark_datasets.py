"""The real datasets, mapped to the data contract on a small slice (a few stores)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.datasets import (
    cheese_tables,
    date_runs,
    load_contract_folder,
    read_cheese,
    read_rossmann,
    read_walmart,
    rossmann_tables,
    validate_tables,
    walmart_tables,
    write_contract_folder,
)
from replenishment.contract import Dataset

DATA_ROOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA_ROOT / "rossmann" / "train.csv").exists()
    or not (DATA_ROOT / "walmart" / "train.csv").exists(),
    reason="the real datasets are not in ../shared/data (kept outside the project)",
)


def _days(ranges: pd.DataFrame) -> pd.DatetimeIndex:
    spans = [pd.date_range(s, e) for s, e in zip(ranges["start"], ranges["end"], strict=True)]
    return pd.DatetimeIndex([d for span in spans for d in span])


def test_date_runs_splits_on_gaps_and_keys() -> None:
    frame = pd.DataFrame({
        "sku": ["a", "a", "a", "a", "b"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05",
                                "2024-01-02"]),
    })
    runs = date_runs(frame, ["sku"])
    assert runs.to_dict("records") == [
        {"sku": "a", "start": pd.Timestamp("2024-01-01"), "end": pd.Timestamp("2024-01-02")},
        {"sku": "a", "start": pd.Timestamp("2024-01-04"), "end": pd.Timestamp("2024-01-05")},
        {"sku": "b", "start": pd.Timestamp("2024-01-02"), "end": pd.Timestamp("2024-01-02")},
    ]


@pytest.fixture(scope="module")
def rossmann() -> tuple[pd.DataFrame, Dataset]:
    # Store 13 has the 2014 gap of the original data.
    train, store = read_rossmann(DATA_ROOT, stores=[1, 2, 13])
    return train, validate_tables(rossmann_tables(train, store))


@needs_data
def test_rossmann_closed_days_are_closures_not_sales(
    rossmann: tuple[pd.DataFrame, Dataset],
) -> None:
    train, data = rossmann
    events = data.demand.events
    closures = events[(events["kind"] == "closure") & (events["sku"] == "store_0001")]
    closed = pd.DatetimeIndex(train.loc[(train["Store"] == 1) & (train["Open"] == 0), "Date"])
    assert set(_days(closures)) == set(closed)
    sales = data.demand.sales
    assert not sales[sales["sku"] == "store_0001"]["date"].isin(closed).any()


@needs_data
def test_rossmann_missing_days_are_closures(rossmann: tuple[pd.DataFrame, Dataset]) -> None:
    train, data = rossmann
    events = data.demand.events
    reported = set(train.loc[train["Store"] == 13, "Date"])
    missing = set(pd.date_range(train["Date"].min(), train["Date"].max())) - reported
    assert len(missing) > 100
    gap = events[(events["sku"] == "store_0013") & (events["name"] == "no data")]
    assert set(_days(gap)) == missing


@needs_data
def test_rossmann_promotions_and_holidays(rossmann: tuple[pd.DataFrame, Dataset]) -> None:
    train, data = rossmann
    promos = data.demand.promotions
    promo_days = train.loc[(train["Store"] == 2) & (train["Promo"] == 1), "Date"]
    store_promos = promos[promos["sku"] == "store_0002"]
    assert set(store_promos["kind"]) == {"promo"}
    assert set(_days(store_promos)) == set(promo_days)
    events = data.demand.events
    christmas = events[(events["name"] == "Christmas") & events["sku"].isna()]
    assert pd.Timestamp("2014-12-25") in set(_days(christmas))
    school = events[(events["name"] == "school holiday") & (events["sku"] == "store_0001")]
    school_days = train.loc[(train["Store"] == 1) & (train["SchoolHoliday"] == 1), "Date"]
    assert set(_days(school)) == set(school_days)


@pytest.fixture(scope="module")
def walmart() -> tuple[pd.DataFrame, Dataset]:
    train, features = read_walmart(DATA_ROOT, stores=[1, 2])
    return train, validate_tables(walmart_tables(train, features))


@needs_data
def test_walmart_negative_sales_clipped(walmart: tuple[pd.DataFrame, Dataset]) -> None:
    train, data = walmart
    sales = data.demand.sales
    assert (train["Weekly_Sales"] < 0).any()
    assert (sales["units"] >= 0).all()
    assert len(sales) == len(train)
    assert sales["units"].sum() == pytest.approx(train["Weekly_Sales"].clip(lower=0).sum())


@needs_data
def test_walmart_is_weekly_on_fridays(walmart: tuple[pd.DataFrame, Dataset]) -> None:
    _, data = walmart
    sales = data.demand.sales
    series = sales[(sales["sku"] == "dept_01") & (sales["channel"] == "store_01")]
    assert pd.infer_freq(pd.DatetimeIndex(series["date"].sort_values())) == "W-FRI"


@needs_data
def test_walmart_markdowns_and_holiday_weeks(walmart: tuple[pd.DataFrame, Dataset]) -> None:
    _, data = walmart
    promos = data.demand.promotions
    assert set(promos["channel"]) == {"store_01", "store_02"}
    assert promos["sku"].isna().all()
    assert promos["discount"].between(0, 1).all()
    # A bigger markdown is a deeper discount within a store.
    one = promos[promos["channel"] == "store_01"].sort_values("markdown_amount")
    assert one["discount"].is_monotonic_increasing
    events = data.demand.events
    labor_day = events[events["name"] == "Labor Day"]
    assert pd.Timestamp("2012-09-07") in set(labor_day["end"])
    assert ((labor_day["end"] - labor_day["start"]).dt.days == 6).all()


@needs_data
def test_contract_folder_round_trip(tmp_path: Path) -> None:
    train, features = read_walmart(DATA_ROOT, stores=[1])
    folder = write_contract_folder(walmart_tables(train, features), tmp_path / "walmart")
    data = load_contract_folder(folder)
    assert len(data.demand.sales) == len(train)
    assert set(data.supply.products["sku"]) == set(data.demand.sales["sku"])


def test_protocol_scores_weight_holiday_weeks_and_count_coverage() -> None:
    from benchmarks.protocols import WALMART, actuals, score
    from forecasting.contract import DemandData

    weeks = WALMART.dates[:2]  # 2012-08-10 and 2012-08-17
    sales = pd.DataFrame({"date": weeks, "sku": "dept_01", "channel": "store_01",
                          "units": [100.0, 200.0], "price": float("nan"), "stockout": 0})
    events = pd.DataFrame({"start": [weeks[1] - pd.Timedelta(days=6)], "end": [weeks[1]],
                           "name": ["holiday week"], "kind": ["holiday"],
                           "channel": [None], "sku": [None]})
    truth = actuals(DemandData(sales, events=events), WALMART)
    assert truth["weight"].tolist() == [1.0, 5.0]
    forecast = sales[["sku", "channel", "date"]].assign(forecast=[110.0, 180.0],
                                                       p90=[120.0, 190.0])
    scores = score(forecast, truth)
    assert scores["wmae"] == pytest.approx((10 + 5 * 20) / 6)
    assert scores["wape"] == pytest.approx(30 / 300)
    assert scores["p90_coverage"] == 0.5
    assert scores["missing"] == 0


needs_cheese = pytest.mark.skipif(
    not (DATA_ROOT / "cheese" / "cheese.csv").exists(),
    reason="the cheese data set is not in ../shared/data/cheese (kept outside the project)",
)


@pytest.fixture(scope="module")
def cheese() -> tuple[pd.DataFrame, Dataset]:
    raw = read_cheese(DATA_ROOT, retailers=["CHICAGO_DOMINICK", "LOS_ANGELES_LUCKY"])
    return raw, validate_tables(cheese_tables(raw))


@needs_cheese
def test_cheese_one_weekly_series_per_retailer(cheese: tuple[pd.DataFrame, Dataset]) -> None:
    raw, data = cheese
    sales = data.demand.sales
    assert len(sales) == len(raw)
    assert set(sales["sku"]) == {"cheese"}
    assert set(sales["channel"]) == {"CHICAGO_DOMINICK", "LOS_ANGELES_LUCKY"}
    assert sales["units"].sum() == pytest.approx(raw["VOLUME"].sum())
    one = sales[sales["channel"] == "CHICAGO_DOMINICK"]
    assert pd.infer_freq(pd.DatetimeIndex(one["date"].sort_values())) == "W-THU"
    assert one["date"].max() == pd.Timestamp("1992-12-31")
    prices = data.demand.prices
    assert len(prices) == len(raw)
    assert prices["price"].to_numpy() == pytest.approx(raw["PRICE"].to_numpy(), rel=1e-5)


@needs_cheese
def test_cheese_displays_are_promotions_with_the_price_cut(
    cheese: tuple[pd.DataFrame, Dataset],
) -> None:
    raw, data = cheese
    promos = data.demand.promotions
    shown = raw[raw["DISP"] > 0]
    assert len(promos) == len(shown)
    assert set(promos["kind"]) == {"display"}
    assert ((promos["end"] - promos["start"]).dt.days == 6).all()
    # The display week's price against the retailer's median price is the discount.
    one = raw[raw["channel"] == "LOS_ANGELES_LUCKY"]
    usual = one["PRICE"].median()
    cheap = one[(one["DISP"] > 0) & (one["PRICE"] < 0.9 * usual)].iloc[0]
    row = promos[(promos["channel"] == "LOS_ANGELES_LUCKY") & (promos["end"] == cheap["date"])]
    assert row["discount"].iloc[0] == pytest.approx(1 - cheap["PRICE"] / usual, abs=1e-4)
    assert row["display_share"].iloc[0] == pytest.approx(cheap["DISP"], abs=1e-4)
    assert promos["discount"].between(0, 1).all()


@needs_cheese
def test_cheese_protocol_holds_out_each_retailers_last_eight_weeks() -> None:
    from benchmarks.protocols import CHEESE, actuals

    data = validate_tables(cheese_tables(read_cheese(DATA_ROOT)))
    truth = actuals(data.demand, CHEESE)
    assert len(truth) == 88 * 8 == 704
    assert truth["date"].min() == pd.Timestamp("1992-11-12")
