"""Customer returns back on the shelf: restocked units as receipts of the projection.

The forecast (:mod:`forecasting.returns`) gives per channel and day the units expected back
from customers and the share of them that can be sold again (``restocked``). Planning adds
the restocked units to the projected stock on the day they arrive, like a delivery nobody
has to order: the firm order, the later reviews, the projected stock of the order forecast
and the stock-out alerts all see them. They are kept apart from purchase orders (they are no
supplier's receipt), so the order forecast shared with suppliers does not count them as
scheduled receipts. Demand paths stay gross: a sold unit leaves the shelf on its sale day
and comes back, if it does, days later.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from replenishment.timeline import receipts_by_day

__all__ = ["restock_by_day", "restocked_receipts"]


def restocked_receipts(returns: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.DataFrame:
    """``sku, date, qty``: restocked units per SKU and day after ``as_of``, summed over
    channels, from a forecast's ``returns`` frame (None or empty: none)."""
    if returns is None or returns.empty or "restocked" not in returns:
        return pd.DataFrame({"sku": pd.Series(dtype=object),
                             "date": pd.Series(dtype="datetime64[ns]"),
                             "qty": pd.Series(dtype=float)})
    ahead = returns[(returns["date"] > as_of) & (returns["restocked"] > 0)]
    return ahead.groupby(["sku", "date"], as_index=False).agg(qty=("restocked", "sum"))


def restock_by_day(returns: pd.DataFrame | None, skus: pd.Index, as_of: pd.Timestamp,
                   days: int) -> np.ndarray:
    """Restocked units per SKU (rows of ``skus``) and day (day 0 = ``as_of + 1``)."""
    return receipts_by_day(restocked_receipts(returns, as_of), skus, as_of, days)
