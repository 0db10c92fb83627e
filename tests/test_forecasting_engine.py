"""End-to-end behaviour of the forecasting engine on small synthetic brands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecasting_synth import synthetic_demand

from forecasting.config import ForecastConfig
from forecasting.contract import EVENTS, DataContractError, DemandData
from forecasting.engine import Forecaster
from forecasting.engine import forecast as _forecast
from forecasting.frequency import infer_freq

FAST = {"n_paths": 100, "ets_max_series": 4}


def _cfg(**kw: object) -> ForecastConfig:
    return ForecastConfig(**{**FAST, **kw})


def forecast(*args: object, **kw: object):
    """One LightGBM thread: OpenMP threads spin when the test machine is busy."""
    return _forecast(*args, n_jobs=1, **kw)


def test_frequency_inferred_from_gappy_daily_and_weekly_dates() -> None:
    daily = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05"])
    assert infer_freq(daily) == "D"
    fridays = pd.date_range("2024-01-05", periods=10, freq="W-FRI").delete([3, 4])
    assert infer_freq(fridays) == "W-FRI"
    mixed = pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-15"])
    with pytest.raises(DataContractError, match="weekly dates on one weekday"):
        infer_freq(mixed)


@pytest.fixture(scope="module")
def daily_result():
    data, products, _ = synthetic_demand(n_skus=10, days=200, intermittent_share=0.3, seed=3)
    return forecast(data, _cfg(horizon=14), products=products), data


def test_output_columns_quantiles_monotone_and_sku_coherent(daily_result) -> None:
    result, data = daily_result
    channel = result.channel
    assert list(channel.columns) == ["sku", "channel", "date", "forecast", "p50", "p90",
                                     "p95", "p99", "model"]
    n_series = data.sales.groupby(["sku", "channel"]).ngroups
    assert len(channel) == n_series * 14
    assert channel["date"].min() == data.sales["date"].max() + pd.Timedelta(days=1)
    q = channel[["p50", "p90", "p95", "p99"]].to_numpy()
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    assert (channel["forecast"] >= 0).all()
    summed = channel.groupby(["sku", "date"])["forecast"].sum().sort_index()
    sku = result.sku.set_index(["sku", "date"])["forecast"].sort_index()
    assert np.allclose(summed.to_numpy(), sku.to_numpy())
    qs = result.sku[["p50", "p90", "p95", "p99"]].to_numpy()
    assert (qs >= 0).all() and (np.diff(qs, axis=1) >= 0).all()
    scenarios = result.scenarios
    assert scenarios.paths.shape == (10, 100, 14)
    # sample paths agree with the coherent SKU mean (within Monte Carlo error)
    assert scenarios.paths.mean(axis=1).sum() / sku.sum() == pytest.approx(1.0, rel=0.1)
    assert set(result.models["demand_class"]) <= {"smooth", "erratic", "intermittent",
                                                  "lumpy", "new"}


def test_as_of_ignores_later_sales() -> None:
    data, _, _ = synthetic_demand(n_skus=4, days=150, seed=1)
    late = data.sales.copy()
    late.loc[late["date"] > "2024-05-01", "units"] *= 100  # would dominate if it leaked
    result = forecast(DemandData(late), _cfg(horizon=7, global_model=False), as_of="2024-05-01")
    assert result.channel["date"].min() == pd.Timestamp("2024-05-02")
    assert result.channel["forecast"].mean() < 60


def test_model_choice_follows_the_backtest() -> None:
    # A rigid weekly pattern with zero weekends: seasonal naive is exact, Croston is not.
    dates = pd.date_range("2024-01-01", periods=180, freq="D")
    pattern = np.array([10, 20, 30, 40, 50, 0, 0], dtype=float)
    sales = pd.concat([
        pd.DataFrame({"date": dates, "sku": f"S{i}", "channel": "jd",
                      "units": pattern[dates.dayofweek] * (i + 1), "price": np.nan,
                      "stockout": 0})
        for i in range(4)
    ])
    sales = sales[sales["units"] > 0]
    result = forecast(DemandData(sales), _cfg(horizon=14, global_model=False,
                                              stats_models=("seasonal_naive", "croston_sba")))
    assert (result.models["model"].str.startswith("seasonal_naive")).all()
    assert np.allclose(result.channel.query("sku == 'S0'")["forecast"].to_numpy()[:7],
                       pattern[pd.date_range(dates[-1], periods=8)[1:].dayofweek], atol=1)


def test_promotion_days_forecast_higher_by_the_known_lift() -> None:
    data, products, _ = synthetic_demand(n_skus=20, days=240, promo_every=9, promo_lift=1.0,
                                         future_promo_days=28, seed=5)
    result = forecast(data, _cfg(horizon=28, ets_max_series=0), products=products)
    promos = data.promotions
    channel = result.channel
    on = np.zeros(len(channel), bool)
    for p in promos.itertuples():
        on |= ((channel["sku"] == p.sku) & (channel["date"] >= p.start)
               & (channel["date"] <= p.end)).to_numpy()
    assert on.any() and (~on).any()
    # compare each series' promotion days with its own normal days, same weekday mix aside
    ratio = (channel[on].groupby(["sku", "channel"])["forecast"].mean()
             / channel[~on].groupby(["sku", "channel"])["forecast"].mean())
    assert ratio.median() == pytest.approx(2.0, rel=0.25)


def test_censored_stockout_days_do_not_lower_the_forecast() -> None:
    data, _, truth = synthetic_demand(n_skus=8, days=240, stockout_rate=0.25, seed=7)
    true_mean = truth.groupby(["sku", "channel"])["demand"].mean()
    cfg = _cfg(horizon=14, global_model=False, stats_models=("seasonal_es",))
    fixed = forecast(data, cfg).channel.groupby(["sku", "channel"])["forecast"].mean()
    naive = forecast(data, cfg.model_copy(update={"censor_stockouts": False})
                     ).channel.groupby(["sku", "channel"])["forecast"].mean()
    bias_fixed = (fixed / true_mean).median()
    bias_naive = (naive / true_mean).median()
    assert bias_naive < 0.85  # sales on stockout days at 20% of demand drag it down
    assert bias_fixed == pytest.approx(1.0, abs=0.1)


def test_new_sku_gets_a_category_based_forecast() -> None:
    data, products, _ = synthetic_demand(n_skus=9, days=200, level=(20, 25), seed=11)
    last = data.sales["date"].max()
    newcomer = pd.DataFrame({"date": pd.date_range(last - pd.Timedelta(days=4), last),
                             "sku": "NEW", "channel": "jd", "units": 22.0, "price": np.nan,
                             "stockout": 0})
    sales = pd.concat([data.sales, newcomer], ignore_index=True)
    products = pd.concat([products, pd.DataFrame({"sku": ["NEW"], "category": ["C0"]})])
    result = forecast(DemandData(sales, promotions=data.promotions), _cfg(horizon=14),
                      products=products)
    row = result.models.set_index("unique_id").loc["NEW|jd"]
    assert row["demand_class"] == "new" and row["model"] == "lightgbm"
    new = result.channel.query("sku == 'NEW'")["forecast"]
    peers = result.channel.query("sku != 'NEW' and channel == 'jd'")["forecast"].mean()
    assert (new > 0).all()
    assert 0.4 * peers < new.mean() < 2.0 * peers


def test_future_closures_forecast_zero() -> None:
    data, _, _ = synthetic_demand(n_skus=4, days=150, seed=2)
    last = data.sales["date"].max()
    events = pd.DataFrame({"start": [last + pd.Timedelta(days=3)],
                           "end": [last + pd.Timedelta(days=4)], "name": ["move"],
                           "kind": ["closure"], "channel": [None], "sku": [None]})
    events = events.astype({c: t for c, t in zip(EVENTS.columns, ["datetime64[ns]"] * 2,
                                                    strict=False)})
    result = forecast(DemandData(data.sales, events=events), _cfg(horizon=7))
    closed = result.channel["date"].isin(pd.date_range(last + pd.Timedelta(days=3), periods=2))
    assert (result.channel.loc[closed, ["forecast", "p99"]] == 0).all().all()
    assert (result.channel.loc[~closed, "forecast"] > 0).all()


def test_weekly_data_end_to_end() -> None:
    data, products, _ = synthetic_demand(n_skus=8, days=7 * 120, seed=4)
    weekly = data.sales.assign(date=data.sales["date"].dt.to_period("W-FRI").dt.end_time
                               .dt.normalize())
    weekly = weekly.groupby(["date", "sku", "channel"], as_index=False).agg(
        units=("units", "sum"), stockout=("stockout", "max")).assign(price=np.nan)
    fitted = Forecaster(_cfg(horizon=8), n_jobs=1).fit(DemandData(weekly), products=products)
    assert fitted.freq_ == "W-FRI" and fitted.season_ == 52
    result = fitted.predict()
    assert (result.channel["date"].dt.dayofweek == 4).all()
    assert result.channel["date"].nunique() == 8
    weekly_mean = weekly.groupby(["sku", "channel"])["units"].mean().mean()
    assert result.channel["forecast"].mean() == pytest.approx(weekly_mean, rel=0.3)


def test_a_product_launched_at_the_backtest_cutoff_does_not_set_the_spread() -> None:
    """A SKU that began selling on the backtest window's cutoff was scored on a forecast
    made before it sold (zero against ~60 a day): that window's errors must not set any
    dispersion; the SKU takes its class's. Counted, they doubled the class's alpha here
    (0.34 -> 0.70) and raised it from 0.15 to 142 on the sample brand's 618, where the
    launch was alone in its class and the plan bought 8x the peak."""
    data, products, _ = synthetic_demand(n_skus=2, channels=("tmall",), days=400,
                                         level=(40.0, 80.0), seed=2)
    sales = data.sales
    as_of = sales["date"].max()
    cfg = _cfg(horizon=56, backtest_windows=1, global_model=False)
    cutoff = as_of - pd.Timedelta(days=56)
    launched = DemandData(sales[(sales["sku"] != "S000") | (sales["date"] >= cutoff)]
                          .reset_index(drop=True))
    fitted = Forecaster(cfg, n_jobs=1).fit(launched, as_of, products=products)
    assert fitted.window_forecasts_["cutoff"].eq(cutoff).all()
    assert fitted.window_forecasts_["unique_id"].eq("S000|tmall").any()  # scored unsold
    assert set(fitted.window_errors_["unique_id"]) == {"S001|tmall"}
    assert fitted.alpha_["S000|tmall"] == pytest.approx(fitted.alpha_["S001|tmall"])
    assert fitted.alpha_["S001|tmall"] < 0.5


def test_a_series_every_model_forecast_exactly_gets_its_class_s_model() -> None:
    """A series that sold nothing in the windows, forecast 0 by every model, has no ranking
    (every error is 0): it follows its class's best model instead of failing the blend (the
    sample brand's BDY-0228 on the mini-program stopped the forecast at 2026-09-05)."""
    from types import SimpleNamespace

    forecaster = Forecaster(ForecastConfig())
    forecaster.model_names_ = ["lightgbm", "croston_sba"]
    forecaster.panel_ = SimpleNamespace(series=pd.DataFrame({"unique_id": ["busy", "idle"]}))
    forecaster.classes_ = pd.DataFrame({"unique_id": ["busy", "idle"],
                                        "demand_class": ["smooth", "smooth"]})
    joined = pd.DataFrame({
        "unique_id": ["busy"] * 4 + ["idle"] * 4,
        "y": [10.0, 12.0, 9.0, 11.0, 0.0, 0.0, 0.0, 0.0],
        "lightgbm": [10.0, 11.0, 9.5, 11.0, 0.0, 0.0, 0.0, 0.0],
        "croston_sba": [8.0, 8.0, 8.0, 8.0, 0.0, 0.0, 0.0, 0.0],
    })
    weights = forecaster._series_weights(joined).set_index("unique_id")
    assert weights.loc["idle", "model"] == "lightgbm"  # the class's best
    assert weights.loc["idle", "weight"] == 1.0
    assert weights.loc[["busy"]].sort_values("weight").iloc[-1]["model"] == "lightgbm"


def test_days_with_big_events_are_forecast_by_the_global_model_alone() -> None:
    """On a promotion day that doubles demand every candidate carries the global model's
    forecast (the per-series models' level already averages past promotions, so their
    lifted forecast counted them twice); on the other days the per-series models keep their
    own forecasts, which the blend chooses among."""
    from forecasting.engine import EVENT_DAY_LIFT
    from forecasting.models import GLOBAL_MODEL

    data, products, _ = synthetic_demand(n_skus=8, days=240, promo_every=9, promo_lift=1.0,
                                         future_promo_days=28, seed=5)
    fitted = Forecaster(_cfg(horizon=28, ets_max_series=0)).fit(data, products=products)
    final = fitted.final_candidates_
    stats = [c for c in fitted.model_names_ if c != GLOBAL_MODEL]
    promos = data.promotions
    sku = final["unique_id"].str.split("|").str[0]
    on = np.zeros(len(final), bool)
    for p in promos.itertuples():
        on |= ((sku == p.sku) & (final["ds"] >= p.start) & (final["ds"] <= p.end)).to_numpy()
    assert EVENT_DAY_LIFT > 1 and on.any() and stats
    # The lift is learned per series: a promotion lifts most of them by about 2x, above the
    # threshold; a few dip days around promotions may fall below its inverse.
    same = np.isclose(final[stats].to_numpy(), final[[GLOBAL_MODEL]].to_numpy()).all(axis=1)
    assert same[on].mean() > 0.8
    assert same[~on].mean() < 0.1
