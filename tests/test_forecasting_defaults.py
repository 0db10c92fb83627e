"""Default behaviour planners rely on: the horizon covers planning, promotions move the
forecast on their own periods (also for per-series models), several promotions and sibling
promotions count, and the quantiles' median is calibrated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.config import ForecastConfig
from forecasting.contract import PROMOTIONS, DemandData, empty_table
from forecasting.engine import Forecaster, default_horizon, resolve_horizon
from forecasting.features import build_features
from forecasting.setup import MEAN_SETUPS, unseen_peak
from forecasting.uncertainty import calibrate_location, pit_coverage


def test_default_horizon_covers_a_quarter_at_any_frequency() -> None:
    config = ForecastConfig()
    assert config.horizon is None
    assert default_horizon("D") == 91
    assert default_horizon("W-FRI") == 13
    assert resolve_horizon(config, "D") == 91
    assert resolve_horizon(ForecastConfig(horizon=140), "D") == 140


def _weekly_promotions(seed: int = 0) -> tuple[DemandData, pd.DataFrame, list[str]]:
    """30 weekly series over 160 weeks; random promotion weeks sell 2.5x; in the 6 weeks
    after the history only half the series get one promotion, in week 3."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2021-01-01", periods=160, freq="W-FRI")
    future = pd.date_range(weeks[-1], periods=7, freq="W-FRI")[1:]
    sales, promos = [], []
    promoted_later = [f"S{i:02d}" for i in range(0, 30, 2)]
    for i in range(30):
        sku = f"S{i:02d}"
        level = rng.uniform(20, 200)
        on = rng.random(len(weeks)) < 0.12
        units = rng.poisson(level * np.where(on, 2.5, 1.0))
        sales.append(pd.DataFrame({"date": weeks, "sku": sku, "channel": "store",
                                   "units": units.astype(float), "price": np.nan,
                                   "stockout": 0}))
        for week in weeks[on]:
            promos.append({"start": week - pd.Timedelta(days=6), "end": week,
                           "kind": "display", "sku": sku, "discount": 0.2})
        if sku in promoted_later:
            promos.append({"start": future[2] - pd.Timedelta(days=6), "end": future[2],
                           "kind": "display", "sku": sku, "discount": 0.2})
    promotions = pd.DataFrame(promos)
    for col in empty_table(PROMOTIONS).columns:
        if col not in promotions:
            promotions[col] = None
    products = pd.DataFrame({"sku": [f"S{i:02d}" for i in range(30)], "category": "c"})
    return DemandData(pd.concat(sales, ignore_index=True), promotions=promotions), products, \
        promoted_later


@pytest.fixture(scope="module")
def weekly_fit() -> tuple[Forecaster, list[str]]:
    data, products, promoted = _weekly_promotions()
    config = ForecastConfig(horizon=6, stats_models=("seasonal_naive",), n_paths=50,
                            global_setups=("tweedie",))
    return Forecaster(config, n_jobs=1).fit(data, products=products), promoted


def test_a_week3_promotion_moves_the_week3_forecast(weekly_fit) -> None:
    # mlforecast's direct strategy once used step-1 features for every step (#705).
    fitted, promoted = weekly_fit
    result = fitted.predict()
    channel = result.channel.assign(step=lambda f: f.groupby("sku")["date"].rank())
    wide = channel.pivot(index="sku", columns="step", values="forecast")
    lift = wide[3.0] / wide[[1.0, 2.0, 4.0]].mean(axis=1)
    assert lift[promoted].median() > 1.8
    assert lift.drop(promoted).median() == pytest.approx(1.0, abs=0.2)


def test_per_series_models_carry_the_lift_of_a_known_promotion(weekly_fit) -> None:
    # Seasonal naive sees no promotion calendar; on its own it repeats last year's week.
    fitted, promoted = weekly_fit
    candidates = fitted.predict().candidates
    week3 = candidates["ds"] == candidates["ds"].sort_values().unique()[2]
    week1 = candidates["ds"] == candidates["ds"].min()
    naive = candidates.set_index("sku")["seasonal_naive"]
    ratio = naive[week3.to_numpy()] / naive[week1.to_numpy()]
    assert ratio[ratio.index.isin(promoted)].median() > 1.6
    assert ratio[~ratio.index.isin(promoted)].median() < 1.4


def test_blend_choice_is_scored_out_of_sample(weekly_fit) -> None:
    fitted, _ = weekly_fit
    scores = fitted.blend_scores_
    assert set(scores) == {"single", "per_class", "per_series"}
    assert scores[fitted.blend_] == min(scores.values())


def test_stacked_sibling_and_upcoming_promotions_are_features() -> None:
    series = pd.DataFrame({"unique_id": ["A|jd", "B|jd", "C|jd"], "sku": ["A", "B", "C"],
                           "channel": ["jd"] * 3, "category": ["face", "face", "face"]})
    dates = pd.date_range("2024-03-01", periods=10, freq="D")
    grid = pd.DataFrame({"unique_id": np.repeat(series["unique_id"], 10).to_numpy(),
                         "ds": np.tile(dates, 3)})
    promotions = pd.DataFrame({
        "start": pd.to_datetime(["2024-03-05", "2024-03-06"]),
        "end": pd.to_datetime(["2024-03-07", "2024-03-06"]),
        "kind": ["deal", "coupon"], "sku": ["A", "A"], "category": [None, None],
        "channel": [None, None], "discount": [0.2, 0.1]})
    sales = pd.DataFrame({"date": dates[:1], "sku": ["A"], "channel": ["jd"], "units": [1.0],
                          "price": [np.nan], "stockout": [0]})
    features = build_features(grid, series, DemandData(sales, promotions=promotions), "D")
    frame = pd.concat([grid, features], axis=1).set_index(["unique_id", "ds"])
    a = frame.loc["A|jd"]
    assert a.loc["2024-03-06", "promo_count"] == 2 and a.loc["2024-03-05", "promo_count"] == 1
    assert a.loc["2024-03-04", "promo_days_before"] == 1
    assert a.loc["2024-03-02", "promo_days_before"] == 3
    # B and C lose sales to A while A is on deal: half of each one's peers are promoted.
    assert frame.loc[("B|jd", pd.Timestamp("2024-03-06")), "promo_peer_share"] == 0.5
    assert frame.loc[("B|jd", pd.Timestamp("2024-03-09")), "promo_peer_share"] == 0.0
    assert frame.loc[("A|jd", pd.Timestamp("2024-03-06")), "promo_peer_share"] == 0.0


def test_quantile_location_brings_p50_coverage_to_one_half() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    mean = rng.uniform(5, 50, n)
    y = rng.negative_binomial(1 / 0.3, 1 / (1 + 0.3 * mean))
    mu = mean * 1.3  # a forecast 30% high
    errors = pd.DataFrame({"y": y, "mu": mu, "alpha": 0.3, "demand_class": "smooth"})
    before = pit_coverage(y, mu, np.full(n, 0.3), 0.5).mean()
    factor = calibrate_location(errors)["smooth"]
    after = pit_coverage(y, mu * factor, np.full(n, 0.3), 0.5).mean()
    assert before > 0.6
    assert factor == pytest.approx(1 / 1.3, rel=0.08)
    assert after == pytest.approx(0.5, abs=0.03)


def _event_rows(lift: float, recent_event: bool) -> pd.DataFrame:
    """Two series over two years of days; a yearly festival on Nov 11 selling ``lift`` x
    normal; the origin is Oct 31 2026; optionally the festival also ran in the recent weeks."""
    days = pd.date_range("2024-11-01", "2026-11-30", freq="D")
    frames = []
    for uid in ("a", "b"):
        on = ((days.month == 11) & (days.day == 11)) | (
            recent_event & (days == pd.Timestamp("2026-10-01")))
        y = np.where(on, 10.0 * lift, 10.0)
        y = np.where(days > pd.Timestamp("2026-10-31"), np.nan, y)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": days, "y": y,
                                    "ev_double11_on": on.astype(float)}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize(("lift", "recent_event", "expected"), [
    (4.0, False, True),   # a peak the recent windows do not hold: only the mean set-up
    (1.1, False, False),  # an event that is no peak: the windows may choose any set-up
    (4.0, True, False),   # the recent windows hold the event: they can judge it
])
def test_a_peak_the_recent_windows_miss_restricts_the_setups_to_the_mean(
        lift: float, recent_event: bool, expected: bool) -> None:
    rows = _event_rows(lift, recent_event)
    origin = pd.Timestamp("2026-10-31")
    first_cutoff = origin - pd.Timedelta(days=56)
    assert unseen_peak(rows, ["ev_double11_on"], origin, first_cutoff, 28, "D") is expected
    assert MEAN_SETUPS == ("tweedie",)
