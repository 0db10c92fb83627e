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
