"""A catalogue too new to backtest (every SKU launched days ago) still gets a forecast: each
series at its own rate shrunk towards its category on its channel, never a traceback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import NotEnoughHistoryError, backtest
from forecasting.coldstart import (
    COLD_START_MODEL,
    NoForecastError,
    backtestable,
    cold_start_rates,
)
from forecasting.config import ForecastConfig
from forecasting.contract import DataContractError, DemandData
from forecasting.engine import Forecaster
from forecasting.errors import UserError


def _history(rows: dict[str, list[float]], censored: dict[str, list[bool]] | None = None
             ) -> pd.DataFrame:
    frames = []
    for uid, y in rows.items():
        flags = (censored or {}).get(uid, [False] * len(y))
        frames.append(pd.DataFrame({"unique_id": uid, "y": y, "censored": flags,
                                    "ds": pd.date_range("2025-03-01", periods=len(y))}))
    return pd.concat(frames, ignore_index=True)


def test_rates_shrink_each_series_towards_its_category_on_its_channel() -> None:
    history = _history(
        {"A|tmall": [2, 4], "B|tmall": [0, 0, 0, 0], "C|tmall": [3], "D|jd": [5, 1]},
        censored={"D|jd": [True, False]},
    )
    series = pd.DataFrame({
        "unique_id": ["A|tmall", "B|tmall", "C|tmall", "D|jd"],
        "channel": ["tmall", "tmall", "tmall", "jd"],
        "category": ["x", "x", None, "x"],
    })
    rates = cold_start_rates(history, series)
    # x on tmall sold 6 units in 6 periods: 1 a period; 7 pseudo-periods of it.
    assert rates["A|tmall"] == pytest.approx((6 + 7 * 1.0) / (2 + 7))
    assert rates["B|tmall"] == pytest.approx((0 + 7 * 1.0) / (4 + 7))
    # No category: tmall as a whole, 9 units in 7 periods.
    assert rates["C|tmall"] == pytest.approx((3 + 7 * 9 / 7) / (1 + 7))
    # The stockout day (5 sold) is not demand: 1 unit in 1 usable period.
    assert rates["D|jd"] == pytest.approx(1.0)


def test_a_window_needs_a_week_of_usable_history_before_it() -> None:
    history = _history({"a": [1.0] * 7, "b": [1.0] * 8},
                       censored={"b": [True, False, False, False, False, False, False, False]})
    day = pd.Timestamp("2025-03-01")
    assert not backtestable(history, day + pd.Timedelta(days=5))   # 6 periods
    assert backtestable(history, day + pd.Timedelta(days=6))       # a's 7 periods
    assert not backtestable(history.query("unique_id == 'b'"), day + pd.Timedelta(days=6))


def _new_catalogue(days: int = 5, stockout: int = 0) -> tuple[DemandData, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows = [(d, sku, channel, float(rng.poisson(4)), np.nan, stockout)
            for d in pd.date_range("2025-03-01", periods=days)
            for sku in ("A", "B", "C") for channel in ("tmall", "douyin")]
    sales = pd.DataFrame(rows, columns=["date", "sku", "channel", "units", "price", "stockout"])
    products = pd.DataFrame({"sku": ["A", "B", "C"], "category": ["serum", "serum", "mask"]})
    return DemandData(sales), products


@pytest.mark.parametrize("global_model", [True, False])
def test_every_sku_new_is_forecast_at_its_shrunk_rate(global_model: bool) -> None:
    """5 days of sales, a 14-day horizon and two backtest windows: no window has history
    before it (LightGBM and statsforecast used to fail on the empty frames)."""
    data, products = _new_catalogue()
    config = ForecastConfig(horizon=14, n_paths=50, ets_max_series=0, global_model=global_model)
    fitted = Forecaster(config, n_jobs=1).fit(data, products=products)
    result = fitted.predict()

    channel = result.channel
    assert len(channel) == 6 * 14 and set(channel["model"]) == {COLD_START_MODEL}
    history = fitted.rows_[fitted.rows_["ds"] <= fitted.origin_]
    rates = cold_start_rates(history, fitted.panel_.series)
    expected = (channel["sku"] + "|" + channel["channel"]).map(rates)
    np.testing.assert_allclose(channel["forecast"], expected)
    quantiles = channel[["p50", "p90", "p95", "p99"]].to_numpy()
    assert (np.diff(quantiles, axis=1) >= 0).all()
    assert (quantiles[:, -1] > channel["forecast"]).all()
    assert result.scenarios.paths.shape == (3, 50, 14)
    per_sku = channel.groupby(["sku", "date"])["forecast"].sum().to_numpy()
    np.testing.assert_allclose(result.sku["forecast"], per_sku)
    assert result.models["demand_class"].eq("new").all()
    assert result.scores.empty


def test_nothing_to_start_from_is_a_user_error() -> None:
    data, products = _new_catalogue(stockout=1)
    config = ForecastConfig(horizon=7, n_paths=20, ets_max_series=0)
    with pytest.raises(NoForecastError, match="every period of every series is censored") as err:
        Forecaster(config, n_jobs=1).fit(data, products=products)
    assert isinstance(err.value, UserError)


def test_an_origin_before_the_first_sale_is_a_user_error() -> None:
    data, products = _new_catalogue()
    config = ForecastConfig(horizon=7, n_paths=20, ets_max_series=0)
    with pytest.raises(DataContractError, match="on or after the first sales date 2025-03-01"):
        Forecaster(config, n_jobs=1).fit(data, as_of="2025-02-20", products=products)


@pytest.mark.parametrize("global_model", [True, False])
def test_a_backtest_of_a_young_catalogue(global_model: bool) -> None:
    """Windows reaching back before the first sale are refused with what to change; a window
    with a fortnight behind it is scored (its refits forecast from days of history)."""
    data, products = _new_catalogue(days=5)
    config = ForecastConfig(horizon=7, n_paths=20, ets_max_series=0, global_model=global_model)
    with pytest.raises(NotEnoughHistoryError, match="use fewer windows or a shorter horizon"):
        backtest(data, config, windows=1, products=products, n_jobs=1)
    data, products = _new_catalogue(days=21)
    result = backtest(data, config, windows=1, products=products, n_jobs=1)
    assert len(result.actuals) == 6 * 7
    assert result.overall.set_index("model").loc["forecast", "wape"] < 1.0
