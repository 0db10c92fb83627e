"""Multi-period plan across reviews: supplier capacity per order, built ahead when a peak
needs more than one order's capacity.

The review-by-review plan (:func:`replenishment.phased.sweep`) sizes every future order on
its own. A supplier can make at most ``capacity_units_per_week * capacity_weeks`` units for
one order, so when the orders of a review need more (a Double 11 peak, a launch), the excess
is made for the review before it and arrives earlier: stock bought early is still there for
the peak under lost sales (nothing expires unless a shelf life says so, which alerts check),
so moving units earlier never loses a sale, while cutting them does. :func:`build_ahead`
walks each supplier's reviews from the last to the first and moves each review's excess
(cut from every SKU in proportion to its quantity, in whole case packs) to the review
before; what review 0 (the firm order) cannot hold either is a capacity shortfall, reported
with its units and the value it puts at risk.

The walk is greedy, not an optimisation of holding cost: it moves the fewest units the
least distance (one review earlier at a time), which is what minimises holding cost when
all SKUs of a supplier carry the same holding rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BuildAhead", "build_ahead"]


@dataclass(frozen=True)
class BuildAhead:
    """``qty[i, j]``: units of SKU ``i`` at review ``j`` after the capacity pass;
    ``ahead[i, j]``: of those, units built ahead for later reviews; ``short[i]``: units the
    firm order could not hold either (capacity shortfall of the horizon)."""

    qty: np.ndarray
    ahead: np.ndarray
    short: np.ndarray


def _trim(qty: np.ndarray, capacity: float, pack: np.ndarray) -> np.ndarray:
    """Quantities in whole cases, scaled down in proportion to fit ``capacity``."""
    total = float(qty.sum())
    if total <= capacity + 1e-9:
        return qty
    kept = np.floor(qty * (capacity / total) / pack + 1e-9) * pack
    # Whole cases left over by the flooring go to the largest lines while they fit.
    room = capacity - float(kept.sum())
    for i in np.argsort(-qty):
        if kept[i] < qty[i] and pack[i] <= room + 1e-9:
            kept[i] += pack[i]
            room -= pack[i]
    return kept


def build_ahead(qty: np.ndarray, supplier: np.ndarray, capacity: np.ndarray,
                case_pack: np.ndarray) -> BuildAhead:
    """Capacity pass over ``qty`` (``(n, reviews)``, review 0 = the firm order).

    ``supplier[i]`` is the position of SKU ``i``'s supplier in ``capacity`` (units per order;
    ``inf``: no limit). Columns of SKUs of one supplier are the same review dates (lead time
    and review period are the supplier's).
    """
    out = np.array(qty, dtype=float, copy=True)
    ahead = np.zeros_like(out)
    short = np.zeros(len(out))
    for s in np.unique(supplier):
        cap = float(capacity[s])
        if not np.isfinite(cap):
            continue
        rows = np.flatnonzero(supplier == s)
        pack = case_pack[rows]
        for j in range(out.shape[1] - 1, -1, -1):
            kept = _trim(out[rows, j], cap, pack)
            excess = out[rows, j] - kept
            out[rows, j] = kept
            if j > 0:
                out[rows, j - 1] += excess
                ahead[rows, j - 1] += excess + np.minimum(ahead[rows, j], 0.0) * 0.0
            else:
                short[rows] += excess
        ahead[rows] = np.minimum(ahead[rows], out[rows])
    return BuildAhead(out, ahead, short)
