"""Demand over a window (lead time + review) read off joint sample paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.scenarios import DemandScenarios


def _scenarios(paths: np.ndarray) -> DemandScenarios:
    skus = pd.Index([f"SKU-{i}" for i in range(paths.shape[0])])
    return DemandScenarios(skus, pd.date_range("2026-11-01", periods=paths.shape[2]), paths)


def test_window_sum_inside_the_horizon_is_the_sum_of_the_path_days() -> None:
    rng = np.random.default_rng(1)
    paths = rng.poisson(5.0, (3, 50, 28)).astype(float)
    scenarios = _scenarios(paths)
    sums = scenarios.window_sum(np.array([0, 3, 10]), np.array([7, 14, 2.5]))
    np.testing.assert_allclose(sums[0], paths[0, :, 0:7].sum(axis=1))
    np.testing.assert_allclose(sums[1], paths[1, :, 3:17].sum(axis=1))
    np.testing.assert_allclose(sums[2], paths[2, :, 10:12].sum(axis=1) + 0.5 * paths[2, :, 12])


def test_quantile_of_a_sum_is_not_the_sum_of_daily_quantiles() -> None:
    rng = np.random.default_rng(2)
    paths = rng.poisson(2.0, (1, 4000, 14)).astype(float)
    scenarios = _scenarios(paths)
    p95_of_sum = scenarios.window_quantile(0.95, 0, 14)[0]
    sum_of_p95 = np.quantile(paths[0], 0.95, axis=0).sum()
    assert p95_of_sum < 0.8 * sum_of_p95
    assert p95_of_sum == pytest.approx(np.quantile(paths[0].sum(axis=1), 0.95))


def test_past_the_horizon_a_final_peak_is_not_projected_for_months() -> None:
    paths = np.full((1, 20, 28), 10.0)
    paths[:, :, -4:] = 400.0  # the horizon ends on a festival
    scenarios = _scenarios(paths)
    beyond = scenarios.window_mean(28, 70)[0]
    assert beyond == pytest.approx(70 * 10.0)


def test_paths_keep_their_relative_level_past_the_horizon() -> None:
    paths = np.stack([np.full((1, 28), 5.0), np.full((1, 28), 15.0)], axis=1)  # 2 paths
    tail = _scenarios(paths).tail_rate()
    np.testing.assert_allclose(tail[0], [5.0, 15.0])


def test_shape_and_sign_are_checked() -> None:
    with pytest.raises(ValueError, match="shape"):
        DemandScenarios(pd.Index(["a"]), pd.date_range("2026-11-01", periods=3),
                        np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        _scenarios(-np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        _scenarios(np.ones((1, 2, 3))).window_sum(-1, 2)
