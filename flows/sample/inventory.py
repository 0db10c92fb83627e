"""Day-by-day stock of the sample brand under a planner-like reorder rule.

The brand holds one stock per SKU (all channels ship from one warehouse). Each day deliveries
arrive, demand is served while stock lasts (when it runs out, the channels' orders are served
first come, first served and the rest is lost: the censored sales of the ``sales`` table), and
suppliers on their review day receive purchase orders. The rule is what many planners use
today: order up to a few weeks of the recent in-stock average, lifted a little ahead of known
festivals, in whole cases of at least the MOQ, topped up to the supplier's minimum order value.
It ignores promotions and livestreams, so hot items still sell out and spikes leave overstock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flows.sample.catalog import Catalog

__all__ = ["Replay", "replay_inventory"]

_AVERAGE_DAYS = 28
_FESTIVAL_PREBUILD = 0.7  # share of a known festival lift the planner stocks for
_STOP_BEFORE_END = 60  # days before a planned discontinuation when reordering stops


@dataclass(frozen=True)
class Replay:
    """What happened: ``sales`` and ``stockout`` are (sku, channel, day); ``on_hand`` (end of
    day) and ``received`` are (sku, day); ``orders`` lists every purchase order line."""

    sales: NDArray[np.int64]
    stockout: NDArray[np.bool_]
    on_hand: NDArray[np.int64]
    received: NDArray[np.int64]
    orders: pd.DataFrame


@dataclass
class _Planner:
    """The reorder rule's inputs that do not change from day to day."""

    catalog: Catalog
    plan: NDArray[np.float64]  # (sku, day) level the planner budgets for a new SKU
    outlook: NDArray[np.float64]  # (day,) festival lift expected across channels
    closed: NDArray[np.bool_]  # (day,) no deliveries (logistics pause)
    weekday: NDArray[np.int64]  # (day,) Monday = 0

    def reviewing(self, day: int) -> NDArray[np.bool_]:
        """Suppliers whose review falls on ``day`` (weekly or every other week)."""
        c = self.catalog
        weekday_ok = c.review_weekday == self.weekday[day]
        weeks = np.maximum(c.review_days // 7, 1)
        return weekday_ok & ((day // 7) % weeks == 0)

    def rate(self, skus: NDArray[np.int64], day: int, sold: NDArray[np.int64],
             in_stock: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Average daily sales over the last weeks' in-stock days (the budget for new SKUs)."""
        launch = np.clip(self.catalog.launch[skus], 0, None)
        lo = max(day - _AVERAGE_DAYS + 1, 0)
        units = sold[skus, lo: day + 1].sum(axis=1)
        days_in_stock = np.maximum(in_stock[skus, lo: day + 1].sum(axis=1), 7)
        observed = units / days_in_stock
        # The budget of a new SKU is its planned level once the launch ramp-up is over.
        budget_day = np.clip(np.maximum(launch, day) + 14, 0, self.plan.shape[1] - 1)
        budget = self.plan[skus, budget_day]
        return np.where(day - launch >= _AVERAGE_DAYS, observed, budget)

    def arrival(self, rng: np.random.Generator, supplier: int, day: int) -> int:
        c = self.catalog
        lead = max(1, round(rng.normal(c.lead_time[supplier], c.lead_time_std[supplier])))
        arrive = day + lead
        if arrive < len(self.closed) and self.closed[arrive]:
            reopen = arrive + int(np.argmin(self.closed[arrive:]))
            arrive = reopen + int(rng.integers(0, 4))
        return arrive


def _initial_stock(rng: np.random.Generator, planner: _Planner) -> NDArray[np.int64]:
    c = planner.catalog
    cover = (c.lead_time[c.supplier] + c.review_days[c.supplier] + c.safety_days)
    cover = cover * rng.uniform(0.7, 1.1, len(cover))
    return np.round(planner.plan[:, 0] * cover).astype(np.int64)


def _order_quantities(planner: _Planner, skus: NDArray[np.int64], day: int,
                      position: NDArray[np.int64], rate: NDArray[np.float64]
                      ) -> NDArray[np.int64]:
    c = planner.catalog
    lead = c.lead_time[c.supplier[skus]]
    review = c.review_days[c.supplier[skus]]
    horizon = len(planner.outlook)
    cover_from = np.minimum(day + lead.astype(int), horizon - 1)
    cover_to = np.minimum(cover_from + (review + c.safety_days[skus]).astype(int) + 1, horizon)
    total = np.concatenate([[0.0], np.cumsum(planner.outlook)])
    outlook = (total[cover_to] - total[cover_from]) / (cover_to - cover_from)
    rate = rate * (1 + _FESTIVAL_PREBUILD * (outlook - 1))
    reorder_point = rate * (lead + c.safety_days[skus])
    order_up_to = rate * (lead + review + c.safety_days[skus])
    case = c.case_pack[skus]
    cases = np.ceil(np.maximum(order_up_to - position, 0) / case)
    qty = np.maximum(cases * case, c.moq[skus]).astype(np.int64)
    return np.where((position < reorder_point) & (rate > 0), qty, 0)


def _meet_order_value(planner: _Planner, skus: NDArray[np.int64],
                      qty: NDArray[np.int64]) -> NDArray[np.int64]:
    """Scale a supplier's order up to its minimum order value, in whole cases."""
    c = planner.catalog
    value = float((qty * c.unit_cost[skus]).sum())
    minimum = c.min_order_value[c.supplier[skus[0]]]
    if value == 0 or value >= minimum:
        return qty
    case = c.case_pack[skus]
    scaled = np.ceil(qty * (minimum / value) / case) * case
    return np.where(qty > 0, scaled, 0).astype(np.int64)


def _serve(rng: np.random.Generator, demand: NDArray[np.int64],
           on_hand: NDArray[np.int64]) -> NDArray[np.int64]:
    """Units sold per (sku, channel): all demand while stock lasts, else a random share of the
    orders (first come, first served across channels)."""
    sold = demand.copy()
    for s in np.flatnonzero(demand.sum(axis=1) > on_hand):
        sold[s] = rng.multivariate_hypergeometric(demand[s], int(on_hand[s]))
    return sold


def replay_inventory(rng: np.random.Generator, catalog: Catalog, demand: NDArray[np.int64],
                     plan: NDArray[np.float64], outlook: NDArray[np.float64],
                     closed: NDArray[np.bool_], dates: pd.DatetimeIndex) -> Replay:
    """Simulate the ``demand.shape[2]`` history days; ``plan``, ``outlook``, ``closed`` and
    ``dates`` extend past them (orders placed near the end look ahead and arrive later)."""
    n_skus, _, n_days = demand.shape
    planner = _Planner(catalog, plan, outlook, closed, dates.dayofweek.to_numpy())
    arrivals = np.zeros((n_skus, len(closed) + 1), dtype=np.int64)
    on_hand = _initial_stock(rng, planner)
    on_order = np.zeros(n_skus, dtype=np.int64)
    sales = np.zeros_like(demand)
    stockout = np.zeros(demand.shape, dtype=bool)
    stock = np.zeros((n_skus, n_days), dtype=np.int64)
    received = np.zeros((n_skus, n_days), dtype=np.int64)
    sold_total = np.zeros((n_skus, n_days), dtype=np.int64)
    in_stock = np.zeros((n_skus, n_days), dtype=bool)
    orders: list[tuple[str, int, int, int, int]] = []
    ordering_ends = catalog.end - _STOP_BEFORE_END
    suppliers = catalog.suppliers["supplier"].to_numpy()
    # Each supplier's SKUs, found once: scanning every SKU for every supplier under review
    # each day grew with SKUs x suppliers (10,000 SKUs have 667 suppliers).
    made_by = np.split(np.argsort(catalog.supplier, kind="stable"),
                       np.cumsum(np.bincount(catalog.supplier, minlength=len(suppliers)))[:-1])
    for day in range(n_days):
        received[:, day] = arrivals[:, day]
        on_hand += arrivals[:, day]
        on_order -= arrivals[:, day]
        sold = _serve(rng, demand[:, :, day], on_hand)
        sales[:, :, day] = sold
        stockout[:, :, day] = sold < demand[:, :, day]
        sold_total[:, day] = sold.sum(axis=1)
        on_hand -= sold_total[:, day]
        stock[:, day] = on_hand
        in_stock[:, day] = ~stockout[:, :, day].any(axis=1)
        for j in np.flatnonzero(planner.reviewing(day)).tolist():
            lead = catalog.lead_time[j] + catalog.review_days[j] + 7
            own = made_by[j]
            skus = own[(day < ordering_ends[own]) & (day >= catalog.launch[own] - lead)]
            if len(skus) == 0:
                continue
            rate = planner.rate(skus, day, sold_total, in_stock)
            qty = _order_quantities(planner, skus, day, on_hand[skus] + on_order[skus], rate)
            qty = _meet_order_value(planner, skus, qty)
            if not qty.any():
                continue
            arrive = min(planner.arrival(rng, j, day), arrivals.shape[1] - 1)
            po_id = f"PO-{dates[day]:%Y%m%d}-{suppliers[j]}"
            for s, q in zip(skus[qty > 0], qty[qty > 0], strict=True):
                arrivals[s, arrive] += q
                on_order[s] += q
                orders.append((po_id, int(s), int(q), day, arrive))
    order_frame = pd.DataFrame(orders, columns=["po_id", "sku_index", "qty", "order_day",
                                                "arrival_day"])
    return Replay(sales, stockout, stock, received, order_frame)
