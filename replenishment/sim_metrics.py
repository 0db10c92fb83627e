"""Service and inventory metrics of a replayed policy, and its daily trace.

Measured over the simulated days from ``first_day`` on (a warm-up before it lets the start
stock wash out):

* ``fill_rate``: units served / units demanded;
* ``cycle_service_level``: share of (SKU, review cycle) pairs with demand in which no
  demand went unserved; a cycle runs from one review day to the day before the next;
* ``stockout_days``: (SKU, day) pairs on which some demand went unserved;
* ``avg_on_hand_units``: end-of-day units on hand in every pool plus those moving between
  pools (still the brand's stock), summed over SKUs, averaged over days;
* ``avg_on_hand_value``: the same valued at ``unit_cost``;
* ``orders``: purchase order lines placed (one per SKU, ship-to pool and review that
  ordered);
* ``units_returned``: units customers sent back; ``units_restocked``: those of them put back
  on the shelf (both 0 without returns);
* ``transfers``, ``transfer_units``, ``transfer_cost``: stock moves between pools started,
  their units and cost (0 with one pool).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from replenishment.replay import Replay, World

__all__ = ["METRIC_KEYS", "TRACE_COLUMNS", "replay_metrics", "replay_trace"]

METRIC_KEYS = ("fill_rate", "cycle_service_level", "stockout_days", "avg_on_hand_units",
               "avg_on_hand_value", "orders", "units_returned", "units_restocked", "transfers",
               "transfer_units", "transfer_cost")
TRACE_COLUMNS = ["policy", "date", "sku", "demand", "served", "lost", "received", "restocked",
                 "ordered", "on_hand", "in_transfer", "on_order", "on_hand_value"]


def _cycle_service_level(world: World, result: Replay, first_day: int) -> float:
    starts = world.review_days[world.review_days >= first_day]
    if len(starts) == 0:
        return float("nan")
    edges = np.append(starts, world.n_days)
    demand = world.demand.sum(axis=1)
    short = np.asarray(result.short.any(axis=1), dtype=bool)
    with_demand = stocked_out = 0
    for begin, end in pairwise(edges):
        active = demand[:, begin:end].sum(axis=1) > 0
        with_demand += int(active.sum())
        stocked_out += int((active & short[:, begin:end].any(axis=1)).sum())
    return 1.0 - stocked_out / with_demand if with_demand else float("nan")


def replay_metrics(world: World, result: Replay, first_day: int = 0) -> dict[str, float]:
    """The metrics of the module docstring for ``result``, from ``first_day`` on."""
    if not 0 <= first_day < world.n_days:
        raise ValueError(f"first_day must be within the {world.n_days} simulated days")
    days = slice(first_day, None)
    demand = float(world.demand[:, :, days].sum())
    served = float(result.served[:, :, days].sum())
    on_hand = result.on_hand[:, days] + result.in_transfer[:, days]
    orders = result.orders
    moved = result.transfers[result.transfers["day"] >= first_day]
    return {
        "fill_rate": served / demand if demand > 0 else float("nan"),
        "cycle_service_level": _cycle_service_level(world, result, first_day),
        "stockout_days": int(result.short[:, :, days].any(axis=1).sum()),
        "avg_on_hand_units": float(on_hand.sum(axis=0).mean()),
        "avg_on_hand_value": float((on_hand * world.unit_cost[:, None]).sum(axis=0).mean()),
        "orders": int((orders["order_day"] >= first_day).sum()),
        "units_returned": float(result.returned[:, :, days].sum()),
        "units_restocked": float(result.restocked[:, days].sum()),
        "transfers": len(moved),
        "transfer_units": float(moved["qty"].sum()),
        "transfer_cost": float(moved["cost"].sum()),
    }


def replay_trace(world: World, result: Replay, policy: str) -> pd.DataFrame:
    """One row per (day, SKU): demand, served, lost, received (purchase orders), restocked
    (customer returns), ordered, end-of-day on hand (all pools), moving between pools, on
    order and the value of on hand and moving."""
    n_skus, n_days = len(world.skus), world.n_days
    ordered = np.zeros((n_skus, n_days))
    np.add.at(ordered, (result.orders["sku_index"].to_numpy(dtype=np.int64),
                        result.orders["order_day"].to_numpy(dtype=np.int64)),
              result.orders["qty"].to_numpy(dtype=float))
    demand = world.demand.sum(axis=1)
    served = result.served.sum(axis=1)

    def flat(values: np.ndarray) -> np.ndarray:
        return values.T.reshape(-1)  # day-major: all SKUs of day 0, then day 1, ...

    return pd.DataFrame({
        "policy": policy,
        "date": np.repeat(world.dates.to_numpy(), n_skus),
        "sku": np.tile(world.skus.to_numpy(), n_days),
        "demand": flat(demand),
        "served": flat(served),
        "lost": flat(demand - served),
        "received": flat(result.received),
        "restocked": flat(result.restocked),
        "ordered": flat(ordered),
        "on_hand": flat(result.on_hand),
        "in_transfer": flat(result.in_transfer),
        "on_order": flat(result.on_order),
        "on_hand_value": flat((result.on_hand + result.in_transfer) * world.unit_cost[:, None]),
    }, columns=TRACE_COLUMNS)
