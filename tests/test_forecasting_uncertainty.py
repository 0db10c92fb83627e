"""Calibration of the demand distributions: PIT coverage, quantiles, correlated paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecasting_synth import synthetic_demand

from flows.outbound.report.backtest_plot import plot_backtest
from forecasting.backtest import backtest
from forecasting.config import ForecastConfig
from forecasting.uncertainty import (
    DependenceEstimate,
    estimate_dependence,
    nb_quantiles,
    pit_coverage,
    sample_sku_paths,
    settled_rows,
)


def test_pit_coverage_of_true_distribution_matches_levels_for_counts() -> None:
    rng = np.random.default_rng(0)
    for mean in (0.2, 3.0, 80.0):  # intermittent to smooth
        mu = np.full(20_000, mean)
        alpha = np.full(20_000, 0.5)
        y = rng.negative_binomial(1 / 0.5, (1 / 0.5) / (1 / 0.5 + mu))
        for level in (0.5, 0.9, 0.99):
            assert pit_coverage(y, mu, alpha, level).mean() == pytest.approx(level, abs=0.015)


def test_quantiles_non_negative_and_monotone() -> None:
    mu = np.array([0.0, 0.05, 1.0, 30.0, 1e4])
    q = nb_quantiles(mu, np.array([0.1, 5.0, 1.0, 0.2, 0.01]), [0.5, 0.9, 0.95, 0.99])
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    assert (q[0] == 0).all() and q[4, 0] == pytest.approx(1e4, rel=0.02)


def test_correlated_paths_widen_the_window_sum_but_keep_the_mean() -> None:
    mu = np.full((2, 28), 10.0)
    alpha = np.array([0.3, 0.3])
    skus = pd.Index(["A"])
    dates = pd.date_range("2025-01-01", periods=28)
    independent = sample_sku_paths(mu, alpha, np.array([0, 0]), skus, dates,
                                   DependenceEstimate(0.0, 0.0), 4000, seed=1)
    correlated = sample_sku_paths(mu, alpha, np.array([0, 0]), skus, dates,
                                  DependenceEstimate(0.6, 0.5), 4000, seed=1)
    for paths in (independent, correlated):
        assert paths.window_mean(0, 28)[0] == pytest.approx(560, rel=0.03)
    assert correlated.window_sum(0, 28).std() > 1.5 * independent.window_sum(0, 28).std()


@pytest.mark.parametrize("intermittent_share", [0.0, 1.0], ids=["smooth", "intermittent"])
def test_backtest_coverage_within_bands(intermittent_share: float) -> None:
    data, products, _ = synthetic_demand(n_skus=24, days=330, seed=21,
                                         intermittent_share=intermittent_share)
    config = ForecastConfig(horizon=21, n_paths=50, ets_max_series=0)
    result = backtest(data, config, windows=2, products=products, n_jobs=1)
    overall = result.overall.set_index("model").loc["forecast"]
    assert 0.45 <= overall["coverage_p50"] <= 0.55
    assert 0.85 <= overall["coverage_p90"] <= 0.95
    assert overall["coverage_p99"] >= 0.96
    assert {"wape", "mase", "bias", "pinball_p90"} <= set(result.per_series.columns)
    assert {"seasonal_naive", "lightgbm", "forecast"} <= set(result.overall["model"])
    fig = plot_backtest(result, top_n=2)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2


def test_settled_rows_keep_windows_a_series_had_sold_four_weeks_before() -> None:
    cutoff = pd.Timestamp("2026-02-10")
    errors = pd.DataFrame({"unique_id": ["A", "B", "C"], "cutoff": [cutoff] * 3,
                           "y": [5.0, 7.0, 9.0]})
    starts = pd.Series({"A": pd.Timestamp("2026-01-13"),  # 28 days before: kept
                        "B": pd.Timestamp("2026-01-14"),  # 27 days: left out
                        "C": cutoff})                     # began on the cutoff: left out
    assert settled_rows(errors, starts)["unique_id"].tolist() == ["A"]
    # Nothing settled (a brand of launches): every row, rather than no error at all.
    assert settled_rows(errors[1:], starts)["unique_id"].tolist() == ["B", "C"]


def _multiplier_counts(level: float, rho: float, mean: float, series: int, days: int,
                       seed: int) -> pd.DataFrame:
    """Poisson counts around log-normal multipliers with a persistent ``level`` share and an
    AR(1) ``rho`` of the rest (alpha 0.5), as backtest rows with a perfect mean forecast."""
    rng = np.random.default_rng(seed)
    alpha = 0.5
    sigma = np.sqrt(np.log1p(alpha))
    z = np.empty((series, days))
    z[:, 0] = rng.standard_normal(series)
    for t in range(1, days):
        z[:, t] = rho * z[:, t - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(series)
    z = np.sqrt(1 - level) * z + np.sqrt(level) * rng.standard_normal((series, 1))
    y = rng.poisson(mean * np.exp(sigma * z - sigma**2 / 2))
    ids = np.repeat([f"S{i}" for i in range(series)], days)
    return pd.DataFrame({
        "unique_id": ids, "sku": ids, "window": 0,
        "ds": np.tile(pd.date_range("2026-01-01", periods=days), series),
        "y": y.reshape(-1), "mu": mean, "alpha": alpha})


def test_dependence_is_measured_on_the_multipliers_not_the_small_counts() -> None:
    # Two units a day: Poisson noise is most of a day's variance, so the counts correlate
    # at ~0.2 x the multipliers' 0.5; a plan reading that as the multipliers' correlation
    # draws window sums far too narrow.
    errors = _multiplier_counts(level=0.4, rho=0.3, mean=2.0, series=400, days=91, seed=3)
    estimate = estimate_dependence(errors)
    assert estimate.level == pytest.approx(0.4, abs=0.08)
    assert estimate.rho == pytest.approx(0.3, abs=0.12)
    independent = estimate_dependence(
        _multiplier_counts(level=0.0, rho=0.0, mean=2.0, series=400, days=91, seed=4))
    assert independent.level < 0.05 and independent.rho < 0.08


def test_a_persistent_level_widens_long_window_sums_as_measured() -> None:
    mu = np.full((1, 56), 10.0)
    args = (np.array([0.4]), np.array([0]), pd.Index(["A"]), pd.date_range("2026-01-01",
                                                                            periods=56))
    short_memory = sample_sku_paths(mu, *args, DependenceEstimate(0.3, 0.0), 4000, seed=2)
    persistent = sample_sku_paths(mu, *args, DependenceEstimate(0.3, 0.0, 0.4), 4000, seed=2)
    for paths in (short_memory, persistent):
        assert paths.window_mean(0, 56)[0] == pytest.approx(560, rel=0.03)
        day = paths.paths[0, :, 10]  # a single day keeps its calibrated spread
        assert day.var() == pytest.approx(10 + 0.4 * 100, rel=0.15)
    # Variance of a 56-day sum: the level share adds 0.4 * 560^2 * (e^s2 - 1) ~ 0.4 * 0.4
    # x 560^2 on top of the short-memory part.
    assert persistent.window_sum(0, 56).std() > 2.0 * short_memory.window_sum(0, 56).std()
