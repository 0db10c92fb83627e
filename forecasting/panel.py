"""The model panel: one row per series and period, zero-filled, from first sale to the origin.

A series is one (sku, channel) pair. Sales exports omit zero days, so every period between a
series' first sale (or its product launch, when earlier) and the origin that has no sales row
is a period with zero units sold.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from forecasting.frequency import period_labels

__all__ = ["Panel", "build_panel", "future_grid"]


class Panel:
    """Series table plus the long history grid (``unique_id, ds, y, stockout``).

    ``series`` has one row per series: ``unique_id, sku, channel, category, start``; the
    history is sorted by series then date, contiguous at ``freq``.
    """

    def __init__(self, series: pd.DataFrame, history: pd.DataFrame, freq: str,
                 origin: pd.Timestamp) -> None:
        self.series = series
        self.history = history
        self.freq = freq
        self.origin = origin


def _series_id(sku: pd.Series, channel: pd.Series) -> pd.Series:
    return sku.astype(str) + "|" + channel.astype(str)


def build_panel(
    sales: pd.DataFrame,
    freq: str,
    origin: pd.Timestamp,
    categories: Mapping[str, str] | None = None,
    launch_dates: Mapping[str, pd.Timestamp] | None = None,
) -> Panel:
    """Bucket sales into periods of ``freq`` and zero-fill each series up to ``origin``."""
    sales = sales[sales["date"] <= origin]
    labels = period_labels(sales["date"], freq)
    bucketed = (
        sales.assign(ds=labels, stockout=sales["stockout"].fillna(0))
        .groupby(["sku", "channel", "ds"], as_index=False, sort=True)
        .agg(y=("units", "sum"), stockout=("stockout", "max"))
    )
    series: pd.DataFrame = (
        bucketed.groupby(["sku", "channel"], sort=True)["ds"].min().rename("start").reset_index()
    )
    if launch_dates:
        launch = series["sku"].map(launch_dates)
        launch_label = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
        known = launch.notna()
        if known.any():
            launch_label[known] = period_labels(pd.DatetimeIndex(launch[known]), freq)
        series["start"] = series["start"].where(
            launch_label.isna() | (launch_label >= series["start"]), launch_label
        )
    series.insert(0, "unique_id", _series_id(series["sku"], series["channel"]))
    # Models sort by the id string; keep the panel in the same order.
    series = series.sort_values("unique_id", ignore_index=True)
    series["category"] = series["sku"].map(categories) if categories else None
    all_dates = pd.date_range(series["start"].min(), origin, freq=freq)
    first = all_dates.get_indexer(pd.DatetimeIndex(series["start"]))
    lengths = len(all_dates) - first
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid = pd.DataFrame({
        "unique_id": np.repeat(series["unique_id"].to_numpy(), lengths),
        "ds": all_dates[np.repeat(first, lengths) + offsets],
    })
    bucketed["unique_id"] = _series_id(bucketed["sku"], bucketed["channel"])
    history = grid.merge(bucketed[["unique_id", "ds", "y", "stockout"]],
                         on=["unique_id", "ds"], how="left")
    history["y"] = history["y"].fillna(0.0).astype("float64")
    history["stockout"] = history["stockout"].fillna(0).astype(bool)
    return Panel(series.reset_index(drop=True), history, freq, origin)


def future_grid(series: pd.DataFrame, origin: pd.Timestamp, freq: str, horizon: int
                ) -> pd.DataFrame:
    """Every series on every one of the ``horizon`` periods after ``origin``."""
    dates = pd.date_range(origin, periods=horizon + 1, freq=freq)[1:]
    return pd.DataFrame({
        "unique_id": np.repeat(series["unique_id"].to_numpy(), horizon),
        "ds": np.tile(dates.to_numpy(), len(series)),
    })
