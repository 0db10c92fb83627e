"""Per-SKU series behind a report chart: recent history, arrivals and projected inventory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["ARRIVAL_KINDS", "arrivals", "daily_history", "projected_inventory"]

# Which receipts a chart shows: orders already placed, and the orders this run proposes.
ARRIVAL_KINDS = ("open order", "new order")


def daily_history(sales: pd.DataFrame, skus: Sequence[str], as_of: pd.Timestamp,
                  days: int) -> pd.DataFrame:
    """``sku, date, units, stockout`` of ``skus`` over all channels for the ``days`` days up
    to ``as_of``, every day present (no sales row = zero units sold)."""
    first = as_of - pd.Timedelta(days=days - 1)
    grid = pd.MultiIndex.from_product(
        [pd.Index(skus, dtype=object), pd.date_range(first, as_of, freq="D")],
        names=["sku", "date"],
    )
    if sales.empty:
        daily = pd.DataFrame({"units": pd.Series(dtype=float),
                              "stockout": pd.Series(dtype=bool)})
    else:
        dates = pd.to_datetime(sales["date"]).dt.normalize()
        window = sales[(dates >= first) & (dates <= as_of)].assign(
            date=dates, sku=sales["sku"].astype(str))
        flag = window["stockout"] if "stockout" in window else pd.Series(0, index=window.index)
        window = window.assign(stockout=pd.to_numeric(flag, errors="coerce").fillna(0) > 0)
        daily = window.groupby(["sku", "date"]).agg(units=("units", "sum"),
                                                    stockout=("stockout", "any"))
    full = daily.reindex(grid)
    full["units"] = full["units"].fillna(0.0)
    full["stockout"] = full["stockout"].eq(True)
    return full.reset_index()


def arrivals(open_orders: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """``sku, date, qty, kind, supplier`` of open orders (by ETA) and this run's new orders
    (by expected arrival)."""
    parts = []
    for frame, date_column, kind in ((open_orders, "eta", ARRIVAL_KINDS[0]),
                                     (orders, "expected_arrival", ARRIVAL_KINDS[1])):
        if frame.empty:
            continue
        supplier = frame["supplier"] if "supplier" in frame else pd.Series("", index=frame.index)
        parts.append(pd.DataFrame({
            "sku": frame["sku"].to_numpy(),
            "date": pd.to_datetime(frame[date_column]).dt.normalize().to_numpy(),
            "qty": frame["qty"].to_numpy(float),
            "kind": kind,
            "supplier": supplier.fillna("").astype(str).to_numpy(),
        }))
    if not parts:
        return pd.DataFrame(columns=["sku", "date", "qty", "kind", "supplier"])
    return pd.concat(parts, ignore_index=True).sort_values(["sku", "date"], ignore_index=True)


def projected_inventory(on_hand: float, receipts: pd.DataFrame, forecast: pd.DataFrame,
                        as_of: pd.Timestamp) -> pd.DataFrame:
    """``date, inventory, short`` from ``as_of`` to the forecast's last day: stock at the end of
    each day = previous stock + arrivals that day - mean demand, never below zero (sales that
    find no stock are lost, not backordered); ``short`` is the demand left unserved that day.

    The first row is ``as_of`` itself with the stock on hand. Overdue receipts count on the
    first day after ``as_of``.
    """
    ahead = forecast[pd.to_datetime(forecast["date"]) > as_of].sort_values("date")
    dates = pd.DatetimeIndex(pd.to_datetime(ahead["date"]).dt.normalize())
    demand = ahead["forecast"].to_numpy(float)
    received = np.zeros(len(dates))
    if len(dates) and not receipts.empty:
        when = pd.to_datetime(receipts["date"]).dt.normalize()
        when = when.mask(when < dates[0], dates[0])
        position = dates.get_indexer(pd.DatetimeIndex(when))
        keep = position >= 0
        np.add.at(received, position[keep], receipts["qty"].to_numpy(float)[keep])
    stock = np.empty(len(dates))
    short = np.empty(len(dates))
    level = float(on_hand)
    for day in range(len(dates)):
        available = level + received[day]
        short[day] = max(demand[day] - available, 0.0)
        level = max(available - demand[day], 0.0)
        stock[day] = level
    return pd.DataFrame({
        "date": pd.DatetimeIndex([as_of]).append(dates),
        "inventory": np.concatenate([[float(on_hand)], stock]),
        "short": np.concatenate([[0.0], short]),
    })
