"""The day-by-day stock replay behind ``replenish simulate``: receive, review, serve.

One warehouse stock per SKU (all channels ship from it). Each simulated day, in this order:

1. purchase orders due that day arrive (at the start of the day);
2. on a review day the policy sees the stock, the open orders and the sales so far (up to
   yesterday) and returns a quantity per SKU; each supplier's lines form one purchase order
   whose lead time is drawn once per (review, supplier) — the same draws for every policy
   replayed on the same :class:`World`, so two policies meet the same supplier delays;
3. the day's demand is served while stock lasts; what cannot be served is lost (customers
   buy elsewhere, as on a marketplace), and a short SKU's stock is shared among its
   channels in proportion to their demand.

An order placed on review day ``d`` with a drawn lead time ``L`` arrives at the start of day
``d + L``: exactly the window the policy covers (demand from day ``d`` over ``L + R`` days).
Lead times are drawn as ``round(normal(mean, std))``, at least one day. Orders due after the
last simulated day stay open (they count as on order, never as received).

The purchase orders already open at the start (:attr:`World.in_transit`, e.g. the data's
``open_orders``) are part of the state every policy starts from: they arrive at the start
of their ETA's day (an overdue one on the first day), are on order until then, and are seen
by every policy at its reviews; they are not the policy's orders (``Replay.orders``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ORDER_LINE_COLUMNS", "Policy", "Replay", "ReviewState", "World", "draw_lead_days",
           "in_transit_lines", "replay"]

ORDER_LINE_COLUMNS = ["review", "order_day", "sku_index", "supplier_index", "qty",
                      "expected_day", "arrival_day"]


def _no_lines() -> pd.DataFrame:
    lines = pd.DataFrame({c: pd.Series(dtype="int64") for c in ORDER_LINE_COLUMNS})
    lines["qty"] = lines["qty"].astype(float)
    return lines


def in_transit_lines(sku_index: np.ndarray, supplier_index: np.ndarray, qty: np.ndarray,
                     arrival_day: np.ndarray) -> pd.DataFrame:
    """Order lines (:data:`ORDER_LINE_COLUMNS`) open at the start: review and order day -1
    (before the first day), expected and arriving on ``arrival_day`` (at least day 0)."""
    arrival = np.maximum(np.asarray(arrival_day, dtype=np.int64), 0)
    return pd.DataFrame({
        "review": -1, "order_day": -1,
        "sku_index": np.asarray(sku_index, dtype=np.int64),
        "supplier_index": np.asarray(supplier_index, dtype=np.int64),
        "qty": np.asarray(qty, dtype=float), "expected_day": arrival, "arrival_day": arrival,
    }, columns=ORDER_LINE_COLUMNS)


def draw_lead_days(mean: np.ndarray, std: np.ndarray, reviews: int, seed: int) -> np.ndarray:
    """Whole-day lead times per (review, supplier): ``round(normal(mean, std))``, >= 1 day."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((reviews, len(mean)))
    return np.maximum(np.round(mean[None, :] + std[None, :] * noise), 1).astype(np.int64)


@dataclass(frozen=True)
class World:
    """What every replayed policy faces: demand, catalogue, review days and supplier delays.

    ``demand[i, c, t]`` is the demand of ``skus[i]`` on channel ``channels[c]`` on
    ``dates[t]``; ``supplier[i]`` the position of the SKU's supplier in ``suppliers``;
    ``review_days`` the day positions of the reviews; ``lead_days[r, j]`` the lead time of
    supplier ``j``'s order at review ``r``; ``expected_lead_days[j]`` what the supplier
    quotes (the mean, rounded up), which is when the planner expects an order;
    ``in_transit`` the purchase order lines open at the start (:func:`in_transit_lines`).
    """

    skus: pd.Index
    channels: pd.Index
    dates: pd.DatetimeIndex
    demand: np.ndarray
    supplier: np.ndarray
    suppliers: pd.Index
    review_days: np.ndarray
    lead_days: np.ndarray
    expected_lead_days: np.ndarray
    unit_cost: np.ndarray
    in_transit: pd.DataFrame = field(default_factory=_no_lines)

    def __post_init__(self) -> None:
        expected = (len(self.skus), len(self.channels), len(self.dates))
        if self.demand.shape != expected:
            raise ValueError(f"demand must have shape (skus, channels, days) = {expected}, "
                             f"got {self.demand.shape}")
        if self.lead_days.shape != (len(self.review_days), len(self.suppliers)):
            raise ValueError("lead_days must have one row per review and one column per "
                             "supplier")
        if (self.demand < 0).any():
            raise ValueError("demand must be non-negative")
        lines = self.in_transit
        if list(lines.columns) != ORDER_LINE_COLUMNS or (lines["qty"] < 0).any() or (
                ~lines["sku_index"].between(0, len(self.skus) - 1)).any():
            raise ValueError("in_transit must hold ORDER_LINE_COLUMNS with known SKUs and "
                             "quantities >= 0")

    @property
    def n_days(self) -> int:
        return len(self.dates)


@dataclass(frozen=True)
class ReviewState:
    """What a policy knows at a review: the morning stock (after today's arrivals), the
    orders not yet received, and per (sku, channel, day) the units served and whether
    demand went unserved, for the simulated days before today."""

    review: int
    day: int
    date: pd.Timestamp
    on_hand: np.ndarray
    open_orders: pd.DataFrame
    served: np.ndarray
    short: np.ndarray

    def on_order(self, n_skus: int) -> np.ndarray:
        """Units ordered and not yet received, per SKU."""
        return np.bincount(self.open_orders["sku_index"].to_numpy(dtype=np.int64),
                           weights=self.open_orders["qty"].to_numpy(dtype=float),
                           minlength=n_skus)


Policy = Callable[[ReviewState], np.ndarray]


@dataclass(frozen=True)
class Replay:
    """What happened. ``served``/``short``: (sku, channel, day); ``received``, ``on_hand``
    (end of day) and ``on_order`` (end of day): (sku, day); ``orders``: one row per order
    line (:data:`ORDER_LINE_COLUMNS`); ``start_stock``: on hand before the first day."""

    start_stock: np.ndarray
    served: np.ndarray
    short: np.ndarray
    received: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray
    orders: pd.DataFrame


def _serve(demand: np.ndarray, on_hand: np.ndarray) -> np.ndarray:
    """Units served per (sku, channel): all demand while stock lasts, else the stock shared in
    proportion to each channel's demand."""
    total = demand.sum(axis=1)
    share = np.divide(np.minimum(on_hand, total), total, out=np.ones_like(total),
                      where=total > 0)
    return demand * np.minimum(share, 1.0)[:, None]


def _check_quantities(qty: np.ndarray, n_skus: int) -> np.ndarray:
    qty = np.asarray(qty, dtype=float)
    if qty.shape != (n_skus,) or not np.isfinite(qty).all() or (qty < 0).any():
        raise ValueError(f"a policy must return {n_skus} finite quantities >= 0 (one per SKU)")
    return qty


def replay(world: World, policy: Policy, start_stock: np.ndarray) -> Replay:
    """Run ``policy`` over every day of ``world`` from ``start_stock`` units on hand."""
    n_skus, _, n_days = world.demand.shape
    on_hand = np.asarray(start_stock, dtype=float).copy()
    if on_hand.shape != (n_skus,) or (on_hand < 0).any():
        raise ValueError(f"start_stock must hold {n_skus} quantities >= 0 (one per SKU)")
    arrivals = np.zeros((n_skus, n_days + 1))  # the last column: after the simulation
    _schedule(arrivals, world.in_transit, n_days)
    served = np.zeros_like(world.demand, dtype=float)
    short = np.zeros(world.demand.shape, dtype=bool)
    received = np.zeros((n_skus, n_days))
    stock = np.zeros((n_skus, n_days))
    on_order = np.zeros((n_skus, n_days))
    lines: list[pd.DataFrame] = []
    open_lines = world.in_transit.reset_index(drop=True)
    reviews = {int(day): r for r, day in enumerate(world.review_days)}
    for day in range(n_days):
        received[:, day] = arrivals[:, day]
        on_hand += arrivals[:, day]
        open_lines = open_lines[open_lines["arrival_day"] > day]
        if day in reviews:
            review = reviews[day]
            state = ReviewState(review, day, world.dates[day], on_hand.copy(), open_lines,
                                served[:, :, :day], short[:, :, :day])
            qty = _check_quantities(policy(state), n_skus)
            placed = _order_lines(world, review, day, qty)
            _schedule(arrivals, placed, n_days)
            lines.append(placed)
            open_lines = pd.concat([open_lines, placed], ignore_index=True)
        served[:, :, day] = _serve(world.demand[:, :, day], on_hand)
        short[:, :, day] = served[:, :, day] < world.demand[:, :, day] - 1e-9
        on_hand = np.maximum(on_hand - served[:, :, day].sum(axis=1), 0.0)
        stock[:, day] = on_hand
        on_order[:, day] = np.bincount(open_lines["sku_index"].to_numpy(dtype=np.int64),
                                       weights=open_lines["qty"].to_numpy(dtype=float),
                                       minlength=n_skus)
    orders = pd.concat(lines, ignore_index=True) if lines else _no_lines()
    return Replay(np.asarray(start_stock, dtype=float).copy(), served, short, received, stock,
                  on_order, orders)


def _schedule(arrivals: np.ndarray, lines: pd.DataFrame, n_days: int) -> None:
    """Add ``lines`` to ``arrivals`` on their arrival day (after the last day: the last
    column, never received)."""
    np.add.at(arrivals, (lines["sku_index"].to_numpy(dtype=np.int64),
                         np.minimum(lines["arrival_day"].to_numpy(dtype=np.int64), n_days)),
              lines["qty"].to_numpy(dtype=float))


def _order_lines(world: World, review: int, day: int, qty: np.ndarray) -> pd.DataFrame:
    ordered = np.flatnonzero(qty > 0)
    supplier = world.supplier[ordered]
    return pd.DataFrame({
        "review": review,
        "order_day": day,
        "sku_index": ordered.astype(np.int64),
        "supplier_index": supplier.astype(np.int64),
        "qty": qty[ordered],
        "expected_day": day + world.expected_lead_days[supplier],
        "arrival_day": day + world.lead_days[review, supplier],
    }, columns=ORDER_LINE_COLUMNS)
