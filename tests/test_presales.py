"""Presale deposits: the contract, the learned conversion and the floor on final-payment days."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from forecasting_synth import synthetic_demand

from forecasting.config import ForecastConfig
from forecasting.contract import DataContractError, DemandData
from forecasting.engine import forecast
from forecasting.presales import (
    DEFAULT_CONVERSION,
    PRIOR_WINDOWS,
    learn_conversion,
    upcoming_presales,
)
from replenishment.contract import parse_dataset

FAST = ForecastConfig(n_paths=100, ets_max_series=4, horizon=14)
DAY = pd.Timedelta(days=1)


def _presale(sku: str, channel: str, deposit: str, units: float, start: str, end: str
             ) -> dict[str, object]:
    return {"sku": sku, "channel": channel, "deposit_start": pd.Timestamp(deposit),
            "deposit_units": units, "final_start": pd.Timestamp(start),
            "final_end": pd.Timestamp(end), "deposit_end": pd.NaT}


def _sales(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "sku", "channel", "units"])
    return frame.assign(date=pd.to_datetime(frame["date"]), stockout=0)


def test_conversion_is_learned_from_past_windows_and_shrunk() -> None:
    presales = pd.DataFrame([
        _presale("A", "tmall", "2025-06-01", 100, "2025-06-17", "2025-06-18"),
        _presale("A", "tmall", "2025-10-20", 100, "2025-11-10", "2025-11-11"),
    ])
    # 618: 80 units sold against 100 deposits (20 lost); Double 11: 150 sold (walk-ins).
    sales = _sales([("2025-06-17", "A", "tmall", 50), ("2025-06-18", "A", "tmall", 30),
                    ("2025-11-11", "A", "tmall", 150)])
    rates = learn_conversion(presales, sales, pd.Timestamp("2025-12-01"))
    prior = PRIOR_WINDOWS * 100
    overall = (80 + 100 + prior * DEFAULT_CONVERSION) / (200 + prior)
    assert rates["*"] == pytest.approx(overall)
    assert rates["tmall"] == pytest.approx((180 + prior * overall) / (200 + prior))
    # Before the windows are over nothing is learned: the default.
    early = learn_conversion(presales, sales, pd.Timestamp("2025-06-17"))
    assert early["*"] == DEFAULT_CONVERSION


def test_a_stockout_in_the_final_days_does_not_teach_a_low_conversion() -> None:
    presales = pd.DataFrame([_presale("A", "jd", "2025-06-01", 100, "2025-06-18",
                                      "2025-06-18")])
    sales = _sales([("2025-06-18", "A", "jd", 10)]).assign(stockout=1)
    assert learn_conversion(presales, sales, pd.Timestamp("2025-07-01"))["*"] == \
        DEFAULT_CONVERSION


def test_deposit_rows_of_one_window_are_summed_and_past_windows_dropped() -> None:
    presales = pd.DataFrame([
        _presale("A", "tmall", "2026-10-20", 60, "2026-11-10", "2026-11-11"),
        _presale("A", "tmall", "2026-10-21", 40, "2026-11-10", "2026-11-11"),
        _presale("A", "tmall", "2026-06-01", 70, "2026-06-17", "2026-06-18"),
    ])
    upcoming = upcoming_presales(presales, _sales([]), pd.Timestamp("2026-10-31"))
    # 618 sold none of its 70 deposits: the conversion falls from the default.
    prior = PRIOR_WINDOWS * 70
    overall = prior * DEFAULT_CONVERSION / (70 + prior)
    assert upcoming["deposits"].tolist() == [100.0]
    assert upcoming["conversion"].iloc[0] == pytest.approx(prior * overall / (70 + prior))


def test_contract_names_the_bad_cell_and_until_drops_later_deposits() -> None:
    text = ("sku,channel,deposit_start,deposit_units,final_start,final_end\n"
            "A,tmall,2026-10-20,-5,2026-11-10,2026-11-11\n"
            "A,tmall,2026-10-20,5,2026-11-10,2026-11-01\n")
    raw = pd.read_csv(__import__("io").StringIO(text), dtype=str, keep_default_na=False)
    sales = pd.DataFrame({"date": ["2026-10-01"], "sku": ["A"], "channel": ["tmall"],
                          "units": ["1"]})
    with pytest.raises(DataContractError) as caught:
        parse_dataset({"sales": (sales, "sales.csv"), "presales": (raw, "presales.csv")})
    problems = {(p.source, p.row, p.column) for p in caught.value.problems}
    assert problems == {("presales.csv", 2, "deposit_units"), ("presales.csv", 3, "final_end")}
    good = parse_dataset({"sales": (sales, "sales.csv"), "presales": (raw.iloc[:1].assign(
        deposit_units="5"), "presales.csv")})
    assert len(good.demand.presales) == 1
    assert good.demand.until(pd.Timestamp("2026-10-19")).presales.empty


@pytest.fixture(scope="module")
def synthetic() -> tuple[DemandData, pd.DataFrame]:
    data, products, _ = synthetic_demand(n_skus=10, days=200, intermittent_share=0.3, seed=3)
    return data, products


def test_deposits_lift_the_final_payment_days_to_at_least_the_floor(synthetic) -> None:
    data, products = synthetic
    origin = data.sales["date"].max()
    deposits = 1000.0
    presales = pd.DataFrame([_presale("S000", "tmall", str((origin - 10 * DAY).date()),
                                      deposits, str((origin + 3 * DAY).date()),
                                      str((origin + 4 * DAY).date()))])
    base = forecast(data, FAST, products=products, n_jobs=1)
    lifted = forecast(replace(data, presales=presales), FAST, products=products, n_jobs=1)
    window = [origin + 3 * DAY, origin + 4 * DAY]
    rows = ((lifted.channel["sku"] == "S000") & (lifted.channel["channel"] == "tmall")
            & lifted.channel["date"].isin(window))
    floor = DEFAULT_CONVERSION * deposits  # no past presale: the default conversion
    assert lifted.channel.loc[rows, "forecast"].sum() == pytest.approx(floor)
    for column in ("forecast", "p50", "p90", "p95", "p99"):
        assert (lifted.channel.loc[rows, column] >= floor / 2 - 1e-6).all()
    # The SKU's paths: every path holds the deposits over the window.
    sku = int(lifted.scenarios.skus.get_indexer(pd.Index(["S000"]))[0])
    start = int(lifted.scenarios.dates.get_indexer(pd.DatetimeIndex([window[0]]))[0])
    assert (lifted.scenarios.paths[sku, :, start:start + 2].sum(axis=1) >= floor - 1e-6).all()
    # Every other row is the forecast without deposits.
    others = ~rows
    assert np.allclose(lifted.channel.loc[others, "forecast"],
                       base.channel.loc[others, "forecast"])
    assert base.channel.loc[rows, "forecast"].sum() < floor / 10


def test_a_forecast_before_the_deposits_does_not_see_them(synthetic) -> None:
    """The re-plan after the deposits came in shows them; one made the day before the
    first deposit row does not (deposit rows count from their deposit_start)."""
    data, products = synthetic
    origin = data.sales["date"].max()
    presales = pd.DataFrame([_presale("S000", "tmall", str((origin - 5 * DAY).date()), 400.0,
                                      str((origin + 3 * DAY).date()),
                                      str((origin + 3 * DAY).date()))])
    day = origin + 3 * DAY
    with_deposits = replace(data, presales=presales)
    before = forecast(with_deposits, FAST, as_of=origin - 6 * DAY, products=products, n_jobs=1)
    after = forecast(with_deposits, FAST, as_of=origin, products=products, n_jobs=1)

    def on_day(result: object) -> float:
        channel = result.channel  # type: ignore[attr-defined]
        rows = ((channel["sku"] == "S000") & (channel["channel"] == "tmall")
                & (channel["date"] == day))
        return float(channel.loc[rows, "forecast"].sum())

    assert on_day(after) == pytest.approx(DEFAULT_CONVERSION * 400)
    assert on_day(before) < 10
