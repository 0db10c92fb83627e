"""Time-phased, lost-sales projection per demand path, and the orders sized on it.

Calendar: day 0 is the day after the planning date ``as_of``; an order placed at the review
of day ``d`` (the first on day 0, the morning after the data's last day) with a lead time of
``L`` days arrives at the start of day ``d + L`` and serves that day's demand (the replay of
:mod:`replenishment.replay` works the same way). Open orders arrive at the start of their
``eta`` day (overdue ones on day 0).

Projection (:func:`project`), per SKU and per demand sample path, day by day::

    available = on_hand + receipts of the day
    served    = min(available, backlog + demand)     (backlog first)
    unmet     = demand not served that day
    backlog  += backorder_share * unmet               (customers who wait, e.g. a presale)
    lost     += (1 - backorder_share) * unmet         (the rest buy elsewhere)

so a stock-out before an order arrives does not carry a backlog into the order's window
unless the SKU sells on channels where customers wait (``PlanningConfig.backorder_channels``).

Order sizing (:func:`size_orders`): the order of a review arrives on day ``a`` and the next
one can arrive ``R`` (review) days later, so it covers the *coverage window* ``[a, a + R)``.
Demand before ``a`` is served (or lost) by the stock already there. Per path ``k``::

    need_k = coverage_demand_k + backlog_at_arrival_k - stock_at_arrival_k
             - receipts_in_window_k

(receipts scheduled inside the window count from the window's start: an approximation that
is exact when they arrive on its first day and slightly generous otherwise). The quantity
``q*`` is, with ``alpha`` the SKU's service level:

* ``cycle_service``: the ``alpha`` quantile of ``need`` (the window passes without a
  stock-out in a share ``alpha`` of the paths);
* ``fill_rate``: the ``q`` with ``E[(need - q)^+] = (1 - alpha) E[coverage_demand]``: the
  units lost in the window are the share ``1 - alpha`` of its demand.

Both drive the orders: the optimiser's stock-out cost is set so that its unconstrained optimum
is ``q*`` (critical ratio = the share of paths with ``need <= q*``). The policy columns agree
with the decision: ``inventory_position`` is the projected stock at arrival plus receipts in
the window (mean over paths), ``order_up_to = inventory_position + q*``, and under periodic
review any position below it triggers an order, so ``reorder_point = order_up_to``;
``safety_stock = order_up_to - mean coverage demand``.

Lead-time uncertainty: the firm order's arrival day is drawn per path (``lead_time_strata``
equally likely gamma quantiles, as in :mod:`replenishment.levels`), and so is the arrival of
the next review's order (independently): a late next delivery lengthens the window the firm
order must cover. Planned receipts of later reviews are placed at their expected arrival.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replenishment.loss import empirical_loss

__all__ = [
    "FirmNeed",
    "Projection",
    "ReviewPlan",
    "project",
    "round_to_lots",
    "row_quantiles",
    "schedule",
    "size_orders",
    "sweep",
    "target_need",
    "window_ends",
]


@dataclass(frozen=True)
class Projection:
    """Per SKU, path and day: ``stock[i, k, t]`` units on hand at the start of day ``t``
    after its receipts, ``backlog`` waiting then, ``lost`` units lost on day ``t``."""

    stock: np.ndarray
    backlog: np.ndarray
    lost: np.ndarray


def project(demand: np.ndarray, receipts: np.ndarray, on_hand: np.ndarray,
            backorder_share: np.ndarray, backlog: np.ndarray | None = None) -> Projection:
    """Project ``demand`` (``(n, paths, days)``) against ``on_hand`` (``(n,)``) and
    ``receipts`` (``(n, days)`` or ``(n, paths, days)``), lost or backordered per SKU."""
    n, paths, days = demand.shape
    level = np.repeat(np.asarray(on_hand, float)[:, None], paths, axis=1)
    waiting = (np.zeros((n, paths)) if backlog is None
               else np.repeat(np.asarray(backlog, float)[:, None], paths, axis=1))
    share = np.asarray(backorder_share, float)[:, None]
    stock = np.empty((n, paths, days))
    queued = np.empty_like(stock)
    lost = np.empty_like(stock)
    per_path = receipts.ndim == 3
    for t in range(days):
        arriving = receipts[:, :, t] if per_path else receipts[:, t][:, None]
        level = level + arriving
        stock[:, :, t] = level
        queued[:, :, t] = waiting
        level, waiting, lost[:, :, t] = _serve(level, waiting, demand[:, :, t], share)
    return Projection(stock, queued, lost)


def _serve(level: np.ndarray, waiting: np.ndarray, demand: np.ndarray, share: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One day: serve the backlog, then the day's demand; returns stock, backlog, lost."""
    to_backlog = np.minimum(level, waiting)
    level = level - to_backlog
    waiting = waiting - to_backlog
    served = np.minimum(level, demand)
    unmet = demand - served
    return level - served, waiting + share * unmet, (1.0 - share) * unmet


def target_need(need: np.ndarray, level: np.ndarray, cover: np.ndarray,
                fill_rate: bool) -> np.ndarray:
    """``q*`` per row of ``need`` (``(n, paths)``): the ``level`` quantile (cycle service), or
    the ``q`` losing ``(1 - level) * cover`` units in expectation (fill rate). May be < 0."""
    if not fill_rate:
        return row_quantiles(need, level)
    allowed = (1.0 - level) * np.maximum(cover, 0.0)
    low = need.min(axis=1) - 1.0
    high = need.max(axis=1)
    for _ in range(50):
        mid = (low + high) / 2
        ok = empirical_loss(need, mid[:, None])[:, 0] <= allowed
        high = np.where(ok, mid, high)
        low = np.where(ok, low, mid)
    return high


def row_quantiles(samples: np.ndarray, levels: np.ndarray) -> np.ndarray:
    ordered = np.sort(samples, axis=1)
    positions = np.clip(levels, 0.0, 1.0) * (samples.shape[1] - 1)
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, samples.shape[1] - 1)
    rows = np.arange(len(samples))
    frac = positions - below
    return np.asarray(ordered[rows, below] * (1 - frac) + ordered[rows, above] * frac)


def round_to_lots(qty: np.ndarray, case_pack: np.ndarray, moq: np.ndarray) -> np.ndarray:
    """Units ordered for a need of ``qty``: nothing when ``qty <= 0``, else whole case packs,
    at least the MOQ (itself rounded up to cases)."""
    cases = np.ceil(np.maximum(qty, 0.0) / case_pack - 1e-9)
    lot = np.ceil(moq / case_pack - 1e-9) * case_pack
    return np.where(cases > 0, np.maximum(cases * case_pack, lot), 0.0)


@dataclass(frozen=True)
class FirmNeed:
    """The firm order's need per SKU (rows) and path (columns) with its parts."""

    need: np.ndarray
    cover: np.ndarray
    stock_at_arrival: np.ndarray
    receipts_in_window: np.ndarray
    demand_before: np.ndarray
    lost_before: np.ndarray


def size_orders(demand: np.ndarray, receipts: np.ndarray, on_hand: np.ndarray,
                backorder_share: np.ndarray, arrival: np.ndarray, review: np.ndarray,
                window: np.ndarray | None = None) -> FirmNeed:
    """The firm order's need per path: ``arrival`` (``(n, paths)`` whole days, per path)
    and ``review`` (``(n,)`` days); ``window`` (``(n, paths)``, default ``review``) the days
    the order covers on each path (until the next order arrives); ``demand`` must hold
    ``(arrival + window).max()`` days. Receipts are the open orders only (``(n, days)``)."""
    n, paths, days = demand.shape
    proj = project(demand, receipts, on_hand, backorder_share)
    rows = np.arange(n)[:, None]
    cols = np.arange(paths)[None, :]
    at = np.minimum(arrival, days - 1)
    length = (np.broadcast_to(review[:, None], arrival.shape) if window is None else window)
    end = np.minimum(arrival + np.asarray(length).astype(int), days)
    cum = np.concatenate([np.zeros((n, paths, 1)), np.cumsum(demand, axis=2)], axis=2)
    cum_lost = np.concatenate([np.zeros((n, paths, 1)), np.cumsum(proj.lost, axis=2)], axis=2)
    cum_r = np.concatenate([np.zeros((n, 1)), np.cumsum(receipts, axis=1)], axis=1)
    cover = cum[rows, cols, end] - cum[rows, cols, at]
    stock = proj.stock[rows, cols, at] - proj.backlog[rows, cols, at]
    inside = cum_r[np.arange(n)[:, None], end] - cum_r[np.arange(n)[:, None], at + 1]
    inside = np.maximum(inside, 0.0)
    return FirmNeed(
        need=cover - stock - inside, cover=cover, stock_at_arrival=stock,
        receipts_in_window=inside, demand_before=cum[rows, cols, at],
        lost_before=cum_lost[rows, cols, at],
    )


@dataclass(frozen=True)
class ReviewPlan:
    """Outcome of :func:`sweep` per SKU (rows) and review (columns), means over paths, and
    per SKU and day. ``arrival[i, j]`` is the day review ``j``'s order arrives (-1: none
    within the horizon); ``qty`` the units received then (review 0: the firm order)."""

    arrival: np.ndarray
    qty: np.ndarray
    target: np.ndarray
    cover: np.ndarray
    stock_at_arrival: np.ndarray
    receipts_in_window: np.ndarray
    daily_demand: np.ndarray
    daily_on_hand: np.ndarray
    daily_lost: np.ndarray
    daily_backlog: np.ndarray
    stockout_probability: np.ndarray


def schedule(lead: np.ndarray, review: np.ndarray, days: int,
             reviews: int | None = None) -> np.ndarray:
    """Arrival day of every review's order per SKU, ``(n, reviews)``; -1 past ``days``."""
    count = (int(np.max((days - lead) // np.maximum(review, 1), initial=0)) + 1
             if reviews is None else reviews)
    arrival = lead[:, None] + review[:, None] * np.arange(count)[None, :]
    return np.where(arrival < days, arrival, -1).astype(int)


def sweep(demand: np.ndarray, receipts: np.ndarray, on_hand: np.ndarray,
          backorder_share: np.ndarray, lead: np.ndarray, review: np.ndarray,
          level: np.ndarray, fill_rate: bool, case_pack: np.ndarray, moq: np.ndarray,
          orderable: np.ndarray, fixed: np.ndarray | None = None,
          reviews: int | None = None, arrival: np.ndarray | None = None) -> ReviewPlan:
    """Plan every review over the horizon of ``demand`` (``(n, paths, days)``).

    ``lead`` and ``review`` are whole days per SKU; review ``j`` orders on day ``j * review``
    and its order arrives on ``lead + j * review``, unless ``arrival`` (``(n, reviews)``, -1:
    none within the horizon) gives the arrival days (a supplier closure delays some:
    :mod:`replenishment.closures`). ``fixed[i, j]`` (NaN: size it) fixes a
    quantity: the firm order and capacity-feasible future orders. Sized orders meet the
    service target over their coverage window given the lost-sales projection at arrival,
    rounded to case packs and the MOQ; SKUs not ``orderable`` get none.
    """
    n, paths, days = demand.shape
    arrival = schedule(lead, review, days, reviews) if arrival is None else arrival
    ends = window_ends(arrival, review)
    reviews = arrival.shape[1]
    if fixed is None:
        fixed = np.full((n, reviews), np.nan)
    fixed = _fit_columns(fixed, reviews)
    cum = np.concatenate([np.zeros((n, paths, 1)), np.cumsum(demand, axis=2)], axis=2)
    cum_r = np.concatenate([np.zeros((n, 1)), np.cumsum(receipts, axis=1)], axis=1)
    out = {name: np.zeros((n, reviews)) for name in (
        "qty", "target", "cover", "stock_at_arrival", "receipts_in_window")}
    daily = {name: np.zeros((n, days)) for name in ("on_hand", "lost", "backlog", "out")}
    level_now = np.repeat(np.asarray(on_hand, float)[:, None], paths, axis=1)
    waiting = np.zeros((n, paths))
    share = np.asarray(backorder_share, float)[:, None]
    planned = np.zeros((n, days))
    by_day: dict[int, list[tuple[int, int]]] = {}
    for i, j in zip(*np.nonzero(arrival >= 0), strict=True):
        by_day.setdefault(int(arrival[i, j]), []).append((int(i), int(j)))
    for t in range(days):
        level_now = level_now + receipts[:, t][:, None]
        if t in by_day:
            rows = np.array([i for i, _ in by_day[t]])
            cols = np.array([j for _, j in by_day[t]])
            end = np.minimum(ends[rows, cols], days)
            cover = cum[rows, :, end] - cum[rows, :, t]
            stock = level_now[rows] - waiting[rows]
            inside = (cum_r[rows, end] - cum_r[rows, t + 1])[:, None]
            target = target_need(cover - stock - inside, level[rows], cover.mean(axis=1),
                                 fill_rate)
            sized = round_to_lots(target, case_pack[rows], moq[rows]) * orderable[rows]
            given = fixed[rows, cols]
            qty = np.where(np.isnan(given), sized, given)
            for name, value in (("qty", qty), ("target", target),
                                ("cover", cover.mean(axis=1)),
                                ("stock_at_arrival", stock.mean(axis=1)),
                                ("receipts_in_window", inside[:, 0])):
                out[name][rows, cols] = value
            planned[rows, t] += qty
            level_now[rows] += qty[:, None]
        level_now, waiting, lost = _serve(level_now, waiting, demand[:, :, t], share)
        daily["on_hand"][:, t] = level_now.mean(axis=1)
        daily["lost"][:, t] = lost.mean(axis=1)
        daily["backlog"][:, t] = waiting.mean(axis=1)
        daily["out"][:, t] = ((lost > 1e-9) | (waiting > 1e-9)).mean(axis=1)
    return ReviewPlan(
        arrival=arrival, qty=out["qty"], target=out["target"], cover=out["cover"],
        stock_at_arrival=out["stock_at_arrival"],
        receipts_in_window=out["receipts_in_window"], daily_demand=demand.mean(axis=1),
        daily_on_hand=daily["on_hand"], daily_lost=daily["lost"],
        daily_backlog=daily["backlog"], stockout_probability=daily["out"],
    )


def window_ends(arrival: np.ndarray, review: np.ndarray) -> np.ndarray:
    """End (exclusive) of each review's coverage window: the next arrival of the same SKU,
    or ``review`` days after its own when none follows within the horizon (-1). Equals
    ``arrival + review`` on the regular schedule; a supplier closure stretches the window of
    the last order before it to the first arrival after it."""
    n, reviews = arrival.shape
    ends = np.where(arrival >= 0, arrival + np.asarray(review, dtype=int)[:, None], -1)
    following = np.full(n, -1)
    for j in range(reviews - 1, -1, -1):
        ends[:, j] = np.where((arrival[:, j] >= 0) & (following >= 0), following, ends[:, j])
        following = np.where(arrival[:, j] >= 0, arrival[:, j], following)
    return ends


def _fit_columns(frame: np.ndarray, columns: int) -> np.ndarray:
    if frame.shape[1] >= columns:
        return frame[:, :columns]
    pad = np.full((frame.shape[0], columns - frame.shape[1]), np.nan)
    return np.concatenate([frame, pad], axis=1)
