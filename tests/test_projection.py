"""Demand scenarios on the planning calendar: day 0 is the day after the planning date, and
days past the forecast horizon continue at each path's mean of its last week."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.scenarios import DemandScenarios
from replenishment.projection import (
    daily_paths,
    expected_daily_demand,
    scenario_offset,
    stable_id,
    week_start,
)


def _scenarios(days: int = 10, start: str = "2025-03-01") -> DemandScenarios:
    # SKU 0: path k sells k + t on day t; SKU 1 sells 5 every day on every path.
    t = np.arange(days, dtype=float)
    paths = np.stack([np.stack([k + t for k in range(3)]), np.full((3, days), 5.0)])
    return DemandScenarios(pd.Index(["A", "B"]), pd.date_range(start, periods=days), paths)


def test_the_first_day_to_plan_is_the_day_after_as_of() -> None:
    scenarios = _scenarios()
    assert scenario_offset(scenarios, pd.Timestamp("2025-02-28")) == 0
    assert scenario_offset(scenarios, pd.Timestamp("2025-03-03 17:30")) == 3


def test_scenarios_starting_after_the_first_day_or_not_daily_are_refused() -> None:
    with pytest.raises(ValueError, match="after the first day to plan for"):
        scenario_offset(_scenarios(), pd.Timestamp("2025-02-20"))
    weekly = DemandScenarios(pd.Index(["A"]), pd.date_range("2025-03-02", periods=3, freq="W"),
                             np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="daily demand scenarios"):
        scenario_offset(weekly, pd.Timestamp("2025-03-01"))


def test_daily_paths_inside_the_horizon_are_the_scenarios() -> None:
    out = daily_paths(_scenarios(), np.array([0]), start=2, days=3)
    assert out.shape == (1, 3, 3)
    np.testing.assert_allclose(out[0, 1], [3.0, 4.0, 5.0])  # path 1: 1 + t, t = 2..4


def test_past_the_horizon_each_path_continues_at_its_last_week() -> None:
    out = daily_paths(_scenarios(), np.array([0, 1]), start=8, days=5)
    # Path 0 of SKU A: days 8, 9 as forecast, then the mean of days 3..9 = 6 per day.
    np.testing.assert_allclose(out[0, 0], [8.0, 9.0, 6.0, 6.0, 6.0])
    np.testing.assert_allclose(out[0, 2], [10.0, 11.0, 8.0, 8.0, 8.0])
    np.testing.assert_allclose(out[1], 5.0)


def test_expected_daily_demand_is_the_mean_path_extended_the_same_way() -> None:
    mean = expected_daily_demand(_scenarios(), start=8, days=4)
    # Mean over paths of k + t is 1 + t; the last week's mean of 1 + t (t = 3..9) is 7.
    np.testing.assert_allclose(mean[0], [9.0, 10.0, 7.0, 7.0])
    np.testing.assert_allclose(mean[1], 5.0)
    # It agrees with the mean of daily_paths.
    np.testing.assert_allclose(mean, daily_paths(_scenarios(), np.array([0, 1]), 8, 4).mean(1))


def test_weeks_start_on_monday() -> None:
    dates = pd.Series(pd.to_datetime(["2025-03-03 00:00", "2025-03-05 14:00", "2025-03-09 23:59"]))
    assert week_start(dates).tolist() == [pd.Timestamp("2025-03-03")] * 3


def test_stable_ids_depend_only_on_their_parts() -> None:
    first = stable_id("SUP-A", "SKU-1", pd.Timestamp("2025-03-03"))
    assert first == stable_id("SUP-A", "SKU-1", pd.Timestamp("2025-03-03"))
    assert len(first) == 16 and int(first, 16) >= 0
    assert first != stable_id("SUP-A", "SKU-2", pd.Timestamp("2025-03-03"))
    # Parts are separated, so ("ab", "c") is not ("a", "bc"); None reads as empty.
    assert stable_id("ab", "c") != stable_id("a", "bc")
    assert stable_id(None, "x") == stable_id("", "x")
