"""Supplier working calendars: the days a supplier is closed, and when an order arrives.

Decisions:

- A supplier's lead time counts **days it works**. An order placed on day ``d`` with a lead
  time of ``L`` days arrives on the first day ``a`` such that ``[d, a)`` holds ``L`` days on
  which the supplier is open; without closures ``a = d + L`` as before. So every closed day
  between the order and its arrival delays the arrival by one day, and a closure the delay
  runs into delays it further (the arrival is found, not added once). Example: ordered on
  2027-01-18 with 21 days of lead time, a closure from 2027-02-01 to 2027-02-21 (21 days)
  moves the arrival from 2027-02-08 to 2027-03-01 (21 days later): 14 days are worked before
  the closure, 7 after it.
- The arrival day itself need not be a working day (the goods travelled before it), so an
  order whose lead time ends on the first day of a closure is on time.
- Closures come from the ``supplier_closures`` table (:data:`replenishment.contract.
  SUPPLIER_CLOSURES`): an empty ``supplier`` closes every supplier. A statutory make-up
  workday (调休上班, ``events`` of kind ``workday``) inside a closure is worked only where the
  row says ``works_makeup_days`` = 1: a factory shut two to four weeks for Chinese New Year
  does not open for one Saturday, one closed for the statutory holiday only does.
- Days past the last closure are open, so the masks stop at the last closed day.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["arrival_days", "closed_days", "makeup_workdays"]


def makeup_workdays(events: pd.DataFrame) -> pd.DatetimeIndex:
    """Every day of the ``events`` rows of kind ``workday`` (statutory make-up workdays)."""
    if events.empty or "kind" not in events:
        return pd.DatetimeIndex([])
    rows = events[events["kind"] == "workday"]
    days = [pd.date_range(s, e, freq="D") for s, e in zip(rows["start"], rows["end"],
                                                           strict=True)]
    if not days:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(np.unique(np.concatenate([d.to_numpy() for d in days])))


def closed_days(closures: pd.DataFrame, suppliers: Sequence[str], first_day: pd.Timestamp,
                workdays: pd.DatetimeIndex | None = None) -> np.ndarray | None:
    """Per entry of ``suppliers`` (rows; a supplier may repeat, one row per SKU) and day
    from ``first_day`` (columns), whether the supplier is closed; None when no closure
    touches those suppliers on or after ``first_day``. The columns end on the last closed
    day (later days are open)."""
    if closures.empty:
        return None
    first_day = pd.Timestamp(first_day).normalize()
    names = pd.Index([str(s) for s in suppliers])
    scope = closures["supplier"]
    applies = scope.isna() | scope.astype(str).isin(set(names))
    rows = closures[applies & (closures["end"] >= first_day)]
    if rows.empty:
        return None
    days = int((rows["end"].max() - first_day).days) + 1
    closed = np.zeros((len(names), days), dtype=bool)
    worked = _day_offsets(workdays, first_day, days)
    for supplier, start, end, makeup in zip(
            rows["supplier"], rows["start"], rows["end"], _flags(rows), strict=True):
        lo = max(int((start - first_day).days), 0)
        hi = int((end - first_day).days) + 1
        span = np.zeros(days, dtype=bool)
        span[lo:hi] = True
        if makeup:
            span[worked] = False
        every = supplier is None or pd.isna(supplier)
        target = np.ones(len(names), dtype=bool) if every else names == str(supplier)
        closed[target] |= span
    return closed


def _flags(rows: pd.DataFrame) -> np.ndarray:
    if "works_makeup_days" not in rows:
        return np.zeros(len(rows), dtype=bool)
    flags = pd.to_numeric(rows["works_makeup_days"], errors="coerce")
    return flags.fillna(0.0).to_numpy(dtype=float) > 0


def _day_offsets(days: pd.DatetimeIndex | None, first_day: pd.Timestamp, span: int
                 ) -> np.ndarray:
    if days is None or len(days) == 0:
        return np.zeros(0, dtype=int)
    offsets = np.asarray((pd.DatetimeIndex(days).normalize() - first_day).days)
    return offsets[(offsets >= 0) & (offsets < span)]


def arrival_days(closed: np.ndarray | None, order_day: np.ndarray, lead: np.ndarray
                 ) -> np.ndarray:
    """Arrival day of orders placed on ``order_day`` with ``lead`` working days (whole days,
    both ``(n, k)`` or ``(n,)``, day 0 = the first column of ``closed``): the first day
    ``a`` with ``lead`` open days in ``[order_day, a)``. ``closed`` is ``(n, days)`` (see
    :func:`closed_days`); days past its end are open; None: ``order_day + lead``."""
    order_day = np.asarray(order_day, dtype=np.int64)
    lead = np.broadcast_to(np.asarray(lead, dtype=np.int64), order_day.shape)
    if closed is None:
        return order_day + lead
    n, days = closed.shape
    # opened[i, t]: open days of supplier row i in [0, t), t = 0..days.
    opened = np.concatenate([np.zeros((n, 1), dtype=np.int64),
                             np.cumsum(~closed, axis=1, dtype=np.int64)], axis=1)
    out = np.empty(order_day.shape, dtype=np.int64)
    flat_day = order_day.reshape(n, -1)
    flat_lead = lead.reshape(n, -1)
    flat_out = out.reshape(n, -1)
    for i in range(n):
        start = np.minimum(flat_day[i], days)
        before = opened[i, start] + np.maximum(flat_day[i] - days, 0)
        target = before + flat_lead[i]
        found = np.searchsorted(opened[i], target, side="left")
        # Past the mask every day is open: one more day per missing working day.
        beyond = days + target - opened[i, days]
        # Never before the order (a zero lead after closed days would find an earlier day).
        flat_out[i] = np.maximum(np.where(target <= opened[i, days], found, beyond),
                                 flat_day[i])
    return out
