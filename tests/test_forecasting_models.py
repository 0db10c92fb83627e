"""Per-series statistical models on edge cases of the panel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.models import stats_forecast


def test_auto_ets_series_absent_at_a_cutoff_do_not_break_the_other_models() -> None:
    # A recently launched SKU is among the AutoETS series of the final fit but has no history
    # yet at an early backtest cutoff.
    days = pd.date_range("2026-01-01", periods=60)
    history = pd.DataFrame({"unique_id": "old|tmall", "ds": days,
                            "y": np.random.default_rng(0).poisson(5, len(days)).astype(float)})
    out = stats_forecast(history, h=7, freq="D", season=7,
                         names=("seasonal_naive", "auto_ets"), ets_ids=["new|tmall"])
    assert len(out) == 7
    assert out["seasonal_naive"].notna().all()
