"""Backtest scores a planner reads (WAPE, bias, MASE, MAE, pinball loss, coverage), checked
against answers worked out by hand on a few numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.metrics import point_metrics, quantile_label, quantile_metrics, seasonal_scale


@pytest.mark.parametrize(("level", "label"), [(0.5, "p50"), (0.9, "p90"), (0.975, "p97.5"),
                                              (0.99, "p99")])
def test_quantile_columns_are_named_by_percent(level: float, label: str) -> None:
    assert quantile_label(level) == label


def _series(uid: str, y: list[float], censored: list[bool] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2025-01-01", periods=len(y)),
                          "y": y})
    return frame.assign(censored=censored) if censored is not None else frame


def test_seasonal_scale_is_the_mean_seasonal_difference() -> None:
    # |8 - 1| and |9 - 2|, a week apart.
    history = _series("a", [1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert seasonal_scale(history, 7)["a"] == pytest.approx(7.0)


def test_seasonal_scale_falls_back_to_lag_1_and_leaves_flat_series_unscaled() -> None:
    history = pd.concat([
        _series("short", [2, 4, 8]),          # shorter than a season: |4-2|, |8-4| -> 3
        _series("flat", [5] * 10),            # no error to scale by: NaN, not a division by 0
    ])
    scale = seasonal_scale(history, 7)
    assert scale["short"] == pytest.approx(3.0)
    assert np.isnan(scale["flat"])


def test_seasonal_scale_ignores_censored_periods() -> None:
    # The stockout day (100 sold is not demand) drops out: y = 2, -, 6, 8, shorter than a
    # season, so lag 1: only |8 - 6| = 2 does not touch the censored day.
    history = _series("a", [2, 100, 6, 8], [False, True, False, False])
    assert seasonal_scale(history, 7)["a"] == pytest.approx(2.0)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "unique_id": ["a", "a", "a", "b", "b"],
        "demand_class": ["smooth", "smooth", "smooth", "lumpy", "lumpy"],
        "y": [2.0, 0.0, 4.0, 0.0, 10.0],
        "good": [1.0, 1.0, 5.0, 0.0, 8.0],
        "partial": [2.0, 0.0, 4.0, np.nan, np.nan],   # forecast series a only
    })


def test_point_metrics_per_series_by_hand() -> None:
    scale = pd.Series({"a": 2.0, "b": 5.0})
    scores = point_metrics(_frame(), ["good"], scale).set_index("unique_id")
    a, b = scores.loc["a"], scores.loc["b"]
    # a: errors -1, +1, +1 on actuals 2, 0, 4.
    assert a["wape"] == pytest.approx(3 / 6)
    assert a["bias"] == pytest.approx(1 / 6)
    assert a["mae"] == pytest.approx(1.0)
    assert a["mase"] == pytest.approx(1 / 2)
    # b: errors 0, -2 on actuals 0, 10.
    assert (b["wape"], b["bias"], b["mae"], b["mase"]) == pytest.approx((0.2, -0.2, 1.0, 0.2))
    assert list(scores["model"]) == ["good", "good"] and list(scores["series"]) == [1, 1]


def test_point_metrics_pool_groups_and_score_a_partial_model_on_its_rows() -> None:
    scale = pd.Series({"a": 2.0, "b": 5.0})
    frame = _frame().assign(_all="all")
    scores = point_metrics(frame, ["good", "partial"], scale, by=["_all"]).set_index("model")
    # All five rows: |e| = 1, 1, 1, 0, 2 over sum(y) = 16; e sums to +1 - 2 = -1.
    assert scores.loc["good", "wape"] == pytest.approx(5 / 16)
    assert scores.loc["good", "bias"] == pytest.approx(-1 / 16)
    assert scores.loc["good", "mase"] == pytest.approx((0.5 + 0.5 + 0.5 + 0 + 0.4) / 5)
    assert scores.loc["good", "series"] == 2
    # The model that skipped series b is perfect on a, and counted on one series only.
    assert scores.loc["partial", ["wape", "bias", "mae"]].tolist() == [0.0, 0.0, 0.0]
    assert scores.loc["partial", "series"] == 1


def test_no_sales_gives_no_wape_rather_than_infinity() -> None:
    frame = pd.DataFrame({"unique_id": ["z", "z"], "y": [0.0, 0.0], "m": [1.0, 0.0]})
    [row] = point_metrics(frame, ["m"], pd.Series({"z": 1.0})).to_dict("records")
    assert np.isnan(row["wape"]) and np.isnan(row["bias"])
    assert row["mae"] == pytest.approx(0.5)


def test_quantile_metrics_by_hand() -> None:
    frame = pd.DataFrame({
        "unique_id": ["a", "a"], "y": [0.0, 10.0], "p50": [2.0, 2.0], "p90": [5.0, 12.0],
        "forecast": [2.0, 2.0], "dispersion": [1e-6, 1e-6],
    })
    [row] = quantile_metrics(frame, [0.5, 0.9]).to_dict("records")
    # p50: y - q = -2, 8 -> losses 0.5 * 2 = 1 and 0.5 * 8 = 4.
    assert row["pinball_p50"] == pytest.approx(2.5)
    # p90: y - q = -5, -2 -> losses 0.1 * 5 and 0.1 * 2.
    assert row["pinball_p90"] == pytest.approx(0.35)
    assert (row["below_p50"], row["below_p90"]) == (0.5, 1.0)
    # Poisson(2) (dispersion ~0): 0 sits wholly below both levels (P(Y <= 0) = 0.135), 10
    # wholly above (P(Y < 10) > 0.9999): the randomised PIT covers one of two rows.
    assert row["coverage_p50"] == pytest.approx(0.5, abs=1e-6)
    assert row["coverage_p90"] == pytest.approx(0.5, abs=1e-6)


def test_coverage_counts_a_tie_at_zero_by_its_share() -> None:
    """Zero sales against a forecast quantile of 0: the plain share says covered, the
    randomised PIT covers only the part of P(Y = 0) below the level."""
    mu = 0.2231435513  # P(Y = 0) = exp(-mu) = 0.8 under Poisson
    frame = pd.DataFrame({"unique_id": ["a"], "y": [0.0], "p50": [0.0], "forecast": [mu],
                          "dispersion": [1e-9]})
    [row] = quantile_metrics(frame, [0.5]).to_dict("records")
    assert row["below_p50"] == 1.0
    assert row["coverage_p50"] == pytest.approx(0.5 / 0.8, abs=1e-4)
