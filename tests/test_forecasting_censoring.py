"""Censored periods (stockouts, closures) are imputed from the series' own recent past, never
below what was sold, and never from the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.censoring import impute_censored


def _history(series: dict[str, tuple[list[float], list[bool]]]) -> pd.DataFrame:
    frames = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2025-01-01", periods=len(y)),
                            "y": y, "censored": censored})
              for uid, (y, censored) in series.items()]
    return pd.concat(frames, ignore_index=True)


def test_without_censored_periods_sales_are_demand() -> None:
    history = _history({"a": ([3.0, 0.0, 5.0], [False, False, False])})
    pd.testing.assert_series_equal(impute_censored(history, window=2), history["y"])


def test_a_stockout_day_takes_the_mean_of_the_previous_window() -> None:
    history = _history({"a": ([4.0, 6.0, 1.0, 8.0], [False, False, True, False])})
    # Day 3 sold 1 while out of stock; the two days before averaged 5.
    assert impute_censored(history, window=2).tolist() == [4.0, 6.0, 5.0, 8.0]


def test_censored_periods_inside_the_window_are_left_out_of_the_mean() -> None:
    history = _history({"a": ([10.0, 2.0, 0.0, 0.0], [False, False, True, True])})
    # window=3 looks at rows 0-2 for row 3: 10 and 2 are uncensored -> 6 (row 2 is skipped).
    imputed = impute_censored(history, window=3)
    assert imputed.tolist() == [10.0, 2.0, 6.0, 6.0]


def test_never_below_what_was_sold() -> None:
    history = _history({"a": ([1.0, 1.0, 9.0], [False, False, True])})
    assert impute_censored(history, window=2).iloc[-1] == 9.0


def test_a_censored_first_period_takes_the_series_mean() -> None:
    history = _history({"a": ([0.0, 4.0, 6.0], [True, False, False])})
    assert impute_censored(history, window=2).iloc[0] == pytest.approx(5.0)


def test_series_do_not_borrow_from_each_other_and_the_future_is_not_read() -> None:
    history = _history({
        "a": ([2.0, 2.0, 0.0, 100.0], [False, False, True, False]),
        "b": ([50.0, 50.0], [False, False]),
    })
    imputed = impute_censored(history, window=5)
    # a's stockout day sees a's 2 and 2, not b's 50 nor a's 100 the day after.
    assert imputed.tolist() == [2.0, 2.0, 2.0, 100.0, 50.0, 50.0]


def test_a_series_censored_throughout_keeps_its_sales() -> None:
    history = _history({"a": ([3.0, 0.0], [True, True])})
    imputed = impute_censored(history, window=2)
    assert imputed.tolist() == [3.0, 0.0] and not np.isnan(imputed).any()
