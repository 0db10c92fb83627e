"""How earlier runs' forecasts fared against the sales that came after them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

__all__ = ["ACCURACY_COLUMNS", "PreviousForecast", "recent_accuracy"]

ACCURACY_COLUMNS = [
    "run_id", "as_of", "first_date", "last_date", "days", "skus", "actual", "forecast",
    "wape", "bias", "below_p90",
]
PreviousForecast = tuple[str, date | pd.Timestamp | str, pd.DataFrame]


def _daily_actuals(sales: pd.DataFrame) -> pd.DataFrame:
    """Units per (sku, date) over all channels, with a flag for days any channel ran out."""
    frame = sales.assign(date=pd.to_datetime(sales["date"]).dt.normalize())
    stockout = frame["stockout"] if "stockout" in frame else pd.Series(0, index=frame.index)
    frame = frame.assign(_out=pd.to_numeric(stockout, errors="coerce").fillna(0) > 0)
    return frame.groupby(["sku", "date"], as_index=False).agg(
        actual=("units", "sum"), stockout=("_out", "any")
    )


def _one_run(run_id: str, as_of: pd.Timestamp, forecast: pd.DataFrame,
             actuals: pd.DataFrame, last_sale: pd.Timestamp) -> dict[str, object] | None:
    frame = forecast.assign(date=pd.to_datetime(forecast["date"]).dt.normalize())
    frame = frame[(frame["date"] > as_of) & (frame["date"] <= last_sale)]
    if frame.empty:
        return None
    joined = frame.merge(actuals, on=["sku", "date"], how="left")
    # A day without a sales row is a day with no sales (the data contract), not a gap.
    joined["actual"] = joined["actual"].fillna(0.0)
    joined = joined[~joined["stockout"].eq(True)]  # NaN: no sales row, no stockout
    if joined.empty:
        return None
    actual = float(joined["actual"].sum())
    predicted = joined["forecast"].to_numpy(float)
    error = predicted - joined["actual"].to_numpy(float)
    below = (joined["actual"] <= joined["p90"]).mean() if "p90" in joined else np.nan
    return {
        "run_id": run_id, "as_of": as_of,
        "first_date": joined["date"].min(), "last_date": joined["date"].max(),
        "days": int(joined["date"].nunique()), "skus": int(joined["sku"].nunique()),
        "actual": actual, "forecast": float(predicted.sum()),
        "wape": float(np.abs(error).sum() / actual) if actual > 0 else np.nan,
        "bias": float(error.sum() / actual) if actual > 0 else np.nan,
        "below_p90": float(below),
    }


def recent_accuracy(previous_forecasts: Sequence[PreviousForecast],
                    sales: pd.DataFrame) -> pd.DataFrame:
    """WAPE and bias of each earlier run's SKU forecast over the days sales are known since.

    ``previous_forecasts`` holds ``(run_id, as_of, frame)`` with ``frame`` a SKU forecast
    (``sku, date, forecast``; ``p90`` optional); ``sales`` has ``date, sku, units`` and
    optionally ``stockout``. Days are compared from the day after each run's as-of date up to
    the last sales date; SKU-days with a recorded stockout are left out (their sales show the
    stock, not the demand). ``wape = sum|f - a| / sum a``, ``bias = sum(f - a) / sum a``
    (positive: the forecast was too high); ``below_p90`` is the share of SKU-days at or below
    the p90. Runs with no day to compare yet are left out; rows come oldest first.
    """
    if sales.empty or not previous_forecasts:
        return pd.DataFrame(columns=ACCURACY_COLUMNS)
    # Only sales after the earliest as-of date can be compared: aggregate just those.
    earliest = min(pd.Timestamp(as_of).normalize() for _, as_of, _ in previous_forecasts)
    dates = pd.to_datetime(sales["date"])
    last_sale = dates.max().normalize()
    actuals = _daily_actuals(sales[dates > earliest])
    rows = []
    for run_id, as_of, frame in previous_forecasts:
        if frame.empty:
            continue
        row = _one_run(str(run_id), pd.Timestamp(as_of).normalize(), frame, actuals, last_sale)
        if row is not None:
            rows.append(row)
    if not rows:
        return pd.DataFrame(columns=ACCURACY_COLUMNS)
    table = pd.DataFrame(rows, columns=ACCURACY_COLUMNS)
    return table.sort_values(["as_of", "run_id"], ignore_index=True)
