"""The model panel: sales exports omit zero days, so every (sku, channel) series is zero-filled
from its first sale (or its launch) to the origin, bucketed at the forecast frequency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.panel import build_panel, future_grid


def _sales(rows: list[tuple[str, str, str, float, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "sku", "channel", "units", "stockout"])
    return frame.assign(date=pd.to_datetime(frame["date"]), price=np.nan)


SALES = _sales([
    ("2025-01-01", "A", "tmall", 3, 0),
    ("2025-01-04", "A", "tmall", 2, 1),
    ("2025-01-03", "B", "jd", 7, 0),
    ("2025-01-09", "B", "jd", 1, 0),   # after the origin: not in the panel
])


def test_series_are_zero_filled_from_first_sale_to_the_origin() -> None:
    panel = build_panel(SALES, "D", pd.Timestamp("2025-01-05"))
    history = panel.history.set_index(["unique_id", "ds"])
    a = history.loc["A|tmall"]
    assert list(a.index.strftime("%m-%d")) == ["01-01", "01-02", "01-03", "01-04", "01-05"]
    assert a["y"].tolist() == [3.0, 0.0, 0.0, 2.0, 0.0]
    assert a["stockout"].tolist() == [False, False, False, True, False]
    b = history.loc["B|jd"]
    assert b["y"].tolist() == [7.0, 0.0, 0.0]
    series = panel.series.set_index("unique_id")
    assert series.loc["B|jd", "start"] == pd.Timestamp("2025-01-03")
    assert list(panel.series["unique_id"]) == ["A|tmall", "B|jd"]  # sorted as models sort


def test_weekly_buckets_sum_units_and_keep_a_stockout() -> None:
    panel = build_panel(SALES, "W-SUN", pd.Timestamp("2025-01-05"))
    history = panel.history.set_index("unique_id")
    # 2025-01-01..05 is the week ending Sunday the 5th.
    assert history.loc[["A|tmall"], "y"].tolist() == [5.0]
    assert history.loc[["A|tmall"], "stockout"].tolist() == [True]
    assert history.loc[["A|tmall"], "ds"].tolist() == [pd.Timestamp("2025-01-05")]


def test_a_launch_before_the_first_sale_starts_the_series_with_zeros() -> None:
    panel = build_panel(SALES, "D", pd.Timestamp("2025-01-05"),
                        categories={"A": "serum"},
                        launch_dates={"B": pd.Timestamp("2025-01-01"),
                                      "A": pd.Timestamp("2025-01-03")})
    series = panel.series.set_index("unique_id")
    # B launched two days before it first sold; A's launch after its first sale is ignored.
    assert series.loc["B|jd", "start"] == pd.Timestamp("2025-01-01")
    assert series.loc["A|tmall", "start"] == pd.Timestamp("2025-01-01")
    assert panel.history.query("unique_id == 'B|jd'")["y"].tolist() == [0.0, 0.0, 7.0, 0.0,
                                                                        0.0]
    assert series.loc["A|tmall", "category"] == "serum"
    assert pd.isna(series.loc["B|jd", "category"])


def test_the_future_grid_holds_every_series_on_every_horizon_period() -> None:
    panel = build_panel(SALES, "D", pd.Timestamp("2025-01-05"))
    grid = future_grid(panel.series, pd.Timestamp("2025-01-05"), "D", 3)
    assert len(grid) == 2 * 3
    assert grid.groupby("unique_id")["ds"].apply(list).to_dict() == {
        uid: list(pd.date_range("2025-01-06", periods=3)) for uid in ("A|tmall", "B|jd")}
