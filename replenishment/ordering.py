"""From the time-phased projection to this run's order lines, each explaining itself.

Steps (called by :func:`replenishment.plan.plan`):

1. :func:`timeline_inputs`: per SKU whole-day lead and review, service level, lots, stock.
2. The firm order's need per path (:func:`replenishment.timeline.firm_needs`) and its target
   ``q*`` (:func:`replenishment.phased.target_need`); every later review sized on the
   projection (:func:`replenishment.timeline.review_plan`); the capacity pass
   (:func:`replenishment.multiperiod.build_ahead`) moves the excess of a peak to earlier
   reviews, into the firm order when needed.
3. :func:`optimise_firm`: the order MILP of :mod:`replenishment.optimizer` on the firm need
   plus the units built ahead (mandatory when they fit), with the stock-out cost set so that
   the unconstrained optimum is ``q*`` (cycle service or fill rate alike).
4. :func:`explain_lines`: the order lines with the demand of their coverage window, projected
   stock at arrival, safety stock, case rounding, MOQ lift, minimum-order-value lift and any
   capacity or budget cut, so that ``qty = need + build_ahead + case_rounding + moq_lift +
   min_value_lift - cut``. A cut is the unfunded need: ``unfunded_value`` = cut x unit
   cost, and ``value_at_risk`` = the expected units lost because of it (expected shortage
   over the coverage window with the line as ordered minus as wanted) x price.

A line is cut by the budget when the budget is (nearly: 99%) spent, or when funding its
unfunded need would overspend it: the second catches a supplier dropped whole because its
minimum order value no longer fits in what is left, with the budget only half spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replenishment.alerts import ORDERABLE
from replenishment.config import PlanningConfig
from replenishment.contract import SupplyData
from replenishment.multiperiod import BuildAhead
from replenishment.optimizer import OrderPlan, OrderProblem, optimize_orders, order_suppliers
from replenishment.phased import FirmNeed, round_to_lots, row_quantiles
from replenishment.timeline import TimelineInputs, firm_arrival

__all__ = [
    "LINE_EXPLANATION_COLUMNS",
    "FirmDecision",
    "explain_lines",
    "optimise_firm",
    "supplier_capacity",
    "supplier_min_value",
    "timeline_inputs",
]

LINE_EXPLANATION_COLUMNS = [
    "coverage_start", "coverage_end", "demand_before_arrival", "lost_before_arrival",
    "stock_at_arrival", "receipts_in_window", "need", "build_ahead", "case_rounding",
    "moq_lift", "min_value_lift", "cut", "cut_reason", "unfunded_value", "value_at_risk",
]


def timeline_inputs(frame: pd.DataFrame, rows: np.ndarray, share: np.ndarray) -> TimelineInputs:
    """Per-SKU arrays of the projection from prepared items (service levels resolved)."""
    orderable = (frame[ORDERABLE].to_numpy(bool) if ORDERABLE in frame
                 else np.ones(len(frame), bool))
    return TimelineInputs(
        rows=rows,
        lead=frame["lead_time_days"].to_numpy(float),
        lead_std=frame["lead_time_std_days"].to_numpy(float),
        review=np.maximum(np.round(frame["review_days"].to_numpy(float)), 1.0),
        level=frame["service_level"].to_numpy(float),
        case_pack=frame["case_pack"].to_numpy(float),
        moq=frame["moq"].to_numpy(float),
        orderable=orderable.astype(float),
        backorder_share=share,
        on_hand=frame["on_hand"].to_numpy(float),
    )


def supplier_capacity(supply: SupplyData, suppliers: pd.Index,
                      config: PlanningConfig) -> np.ndarray:
    """Units one order of each supplier may hold (``inf``: no limit)."""
    table = order_suppliers(supply.suppliers.drop_duplicates("supplier"), config)
    capacity = table.set_index("supplier")["capacity_units"].reindex(suppliers)
    return capacity.fillna(math.inf).to_numpy(float)


def supplier_min_value(supply: SupplyData, suppliers: pd.Index) -> np.ndarray:
    """Each supplier's minimum order value (0: none)."""
    table = order_suppliers(supply.suppliers.drop_duplicates("supplier"))
    return table.set_index("supplier")["min_order_value"].reindex(suppliers).fillna(
        0.0).to_numpy(float)


@dataclass(frozen=True)
class FirmDecision:
    """The optimiser's plan and what it was asked: ``target`` (``q*`` per SKU), ``ahead``
    (units built ahead into the firm order), ``wanted`` (``q* + ahead`` in lots)."""

    plan: OrderPlan
    target: np.ndarray
    ahead: np.ndarray
    wanted: np.ndarray
    shortage_wanted: np.ndarray
    shortage_ordered: np.ndarray


def _aligned_need(need: np.ndarray, target: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Need samples shifted so that their ``level`` quantile is ``target``: a newsvendor with
    critical ratio ``level`` then orders ``target`` (zero shift under cycle service; under a
    fill rate, the shift from the quantile to the fill-rate quantity)."""
    return need + (target - row_quantiles(need, level))[:, None]


def _mandatory(ahead: np.ndarray, target: np.ndarray, sells: np.ndarray, items: pd.DataFrame,
               capacity: np.ndarray, supplier: np.ndarray, budget: float | None) -> np.ndarray:
    """Units the firm order must hold: the units built ahead, and a whole MOQ lot where the
    target needs stock and the lot sells within ``sells`` (expected demand over
    ``overstock_days`` from arrival). The one-window newsvendor would refuse such a lot (its
    leftover counts as cost, the later windows it serves as nothing); a planner buys it.
    None under a budget, nor for a supplier whose mandatory lots exceed its capacity (the
    need curve then carries them and the optimiser decides)."""
    if budget is not None:
        return np.zeros_like(ahead)
    pack = items["case_pack"].to_numpy(float)
    moq = items["moq"].to_numpy(float)
    lot = round_to_lots(np.where(target > 0, target, 0.0), pack, moq)
    lifted = (target > 0) & (lot > target) & (lot <= sells)
    wanted = np.where(lifted, np.maximum(lot, ahead), ahead)
    lots = round_to_lots(wanted, pack, moq)
    load = np.bincount(supplier, lots, len(capacity))
    fits = load <= capacity + 1e-9
    return np.where(fits[supplier], wanted, 0.0)


def optimise_firm(items: pd.DataFrame, inputs: TimelineInputs, firm: FirmNeed,
                  target: np.ndarray, built: BuildAhead, supply: SupplyData,
                  suppliers: pd.Index, config: PlanningConfig,
                  sells: np.ndarray | None = None) -> FirmDecision:
    """The firm order in whole case packs under MOQ, minimum order value, capacity, budget
    and volume (:func:`replenishment.optimizer.optimize_orders`); ``sells``: expected
    demand per SKU over ``overstock_days`` from the firm order's arrival (MOQ lots within it
    are bought when the target needs stock)."""
    supplier = suppliers.get_indexer(pd.Index(items["supplier"]))
    capacity = supplier_capacity(supply, suppliers, config)
    ahead = built.ahead[:, 0] if built.ahead.shape[1] else np.zeros(len(items))
    need = _aligned_need(firm.need, target, inputs.level) + ahead[:, None]
    unit_cost = items["unit_cost"].to_numpy(float)
    holding = unit_cost * config.holding_cost_rate * inputs.review / 365.0
    if config.stockout_cost_rate is None:
        ratio = np.clip(inputs.level, 0.5, 0.999)
        stockout = holding * ratio / (1 - ratio)
    else:
        price = items["price"].fillna(items["unit_cost"]).to_numpy(float)
        stockout = config.stockout_cost_rate * price
    opt_items = pd.DataFrame({
        "sku": items["sku"].to_numpy(), "supplier": items["supplier"].to_numpy(),
        "unit_cost": unit_cost, "case_pack": inputs.case_pack, "moq": inputs.moq,
        "volume_m3": (items["volume_m3"].fillna(0.0).to_numpy(float)
                      if "volume_m3" in items else 0.0),
        "inventory_position": 0.0, "holding_cost": holding, "stockout_cost": stockout,
        "min_qty": _mandatory(ahead, target, np.zeros(len(items)) if sells is None else sells,
                              items, capacity, supplier, config.budget) * inputs.orderable,
        "max_qty": np.where(inputs.orderable > 0, math.inf, 0.0),
    })
    used = supply.suppliers[supply.suppliers["supplier"].isin(set(items["supplier"]))]
    problem = OrderProblem(opt_items, need, order_suppliers(used, config),
                           budget=config.budget, volume_cap_m3=config.warehouse_volume_m3)
    result = optimize_orders(problem, config)
    wanted = round_to_lots(np.maximum(target, 0.0) + ahead, inputs.case_pack,
                           inputs.moq) * inputs.orderable
    qty = result.items["qty"].to_numpy(float)
    actual = firm.need + ahead[:, None]
    return FirmDecision(
        plan=result, target=target, ahead=ahead, wanted=wanted,
        shortage_wanted=np.maximum(actual - wanted[:, None], 0.0).mean(axis=1),
        shortage_ordered=np.maximum(actual - qty[:, None], 0.0).mean(axis=1),
    )


def _funding_gap(decision: FirmDecision, qty: np.ndarray) -> np.ndarray:
    """Per SKU, what funding its unfunded need would cost: the missing units at unit cost,
    at least what its supplier's order lacks of its minimum order value."""
    table = decision.plan.items
    gap = np.maximum(decision.wanted - qty, 0.0) * table["unit_cost"].to_numpy(float)
    orders = decision.plan.suppliers.set_index("supplier")
    lacking = (orders["min_order_value"] - orders["value"]).clip(lower=0.0)
    lacks = lacking.reindex(pd.Index(table["supplier"])).fillna(0.0).to_numpy(float)
    return np.where(gap > 0, np.maximum(gap, lacks), 0.0)


def _binding(decision: FirmDecision, items: pd.DataFrame, capacity: np.ndarray,
             suppliers: pd.Index, config: PlanningConfig) -> np.ndarray:
    """Why a line is below its wanted quantity: the constraint that binds, per SKU."""
    table = decision.plan.items
    qty = table["qty"].to_numpy(float)
    supplier = suppliers.get_indexer(pd.Index(items["supplier"]))
    units = np.bincount(supplier, qty, len(capacity))
    pack_max = np.zeros(len(capacity))
    np.maximum.at(pack_max, supplier, items["case_pack"].to_numpy(float))
    full = units + pack_max > capacity
    reason = np.where(full[supplier], "capacity", "")
    value = float(table["line_value"].sum())
    if config.budget is not None:
        gap = _funding_gap(decision, qty)
        spent = value > config.budget * 0.99
        binds = (gap > 0) & (spent | (value + gap > config.budget + 1e-6))
        reason = np.where(~binds, reason,
                          np.where(reason == "", "budget", reason + "+budget"))
    volume = float(table["line_volume_m3"].sum())
    if config.warehouse_volume_m3 is not None and volume > config.warehouse_volume_m3 * 0.99:
        reason = np.where(reason == "", "volume", reason + "+volume")
    return np.where(reason == "", "cost", reason)


def explain_lines(decision: FirmDecision, items: pd.DataFrame, firm: FirmNeed,
                  inputs: TimelineInputs, capacity: np.ndarray, suppliers: pd.Index,
                  as_of: pd.Timestamp, config: PlanningConfig) -> pd.DataFrame:
    """Per SKU (rows of ``items``): the decision and every number behind it."""
    table = decision.plan.items
    qty = table["qty"].to_numpy(float)
    pack = inputs.case_pack
    need = np.maximum(decision.target, 0.0) * inputs.orderable
    wanted_raw = need + decision.ahead * inputs.orderable
    cases = np.ceil(wanted_raw / pack - 1e-9) * pack
    rounded = round_to_lots(wanted_raw, pack, inputs.moq)
    reason = _binding(decision, items, capacity, suppliers, config)
    # Below the rounded need without a binding limit: the optimiser rounded down to the
    # case its cost prefers, which is rounding, not a cut.
    cut = np.where(reason == "cost", 0.0, np.maximum(rounded - qty, 0.0))
    cases = np.where((reason == "cost") & (qty < rounded), qty, cases)
    rounded = np.where((reason == "cost") & (qty < rounded), qty, rounded)
    price = items["price"].fillna(items["unit_cost"]).to_numpy(float)
    at_risk = np.maximum(decision.shortage_ordered - decision.shortage_wanted, 0.0) * price
    position = (firm.stock_at_arrival + firm.receipts_in_window).mean(axis=1)
    order_up_to = position + decision.target
    cover = firm.cover.mean(axis=1)
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    arrival_day, following = firm_arrival(inputs)  # a supplier closure delays both
    arrival = first_day + pd.to_timedelta(arrival_day, unit="D")
    end = first_day + pd.to_timedelta(np.maximum(following, arrival_day + 1) - 1, unit="D")
    return pd.DataFrame({
        "sku": items["sku"].to_numpy(),
        "supplier": items["supplier"].to_numpy(),
        "qty": qty,
        "order_date": first_day,
        "expected_arrival": arrival,
        "coverage_start": arrival,
        "coverage_end": end,
        "demand_before_arrival": firm.demand_before.mean(axis=1),
        "lost_before_arrival": firm.lost_before.mean(axis=1),
        "stock_at_arrival": firm.stock_at_arrival.mean(axis=1),
        "receipts_in_window": firm.receipts_in_window.mean(axis=1),
        "protection_demand": cover,
        "safety_stock": order_up_to - cover,
        "reorder_point": order_up_to,
        "order_up_to": order_up_to,
        "inventory_position": position,
        "need": need,
        "build_ahead": decision.ahead * inputs.orderable,
        "case_rounding": np.where(wanted_raw > 0, cases - wanted_raw, 0.0),
        "moq_lift": rounded - np.where(wanted_raw > 0, cases, 0.0),
        "min_value_lift": np.maximum(qty - rounded, 0.0),
        "cut": cut,
        "cut_reason": np.where(cut > 0, reason, ""),
        "unfunded_value": cut * items["unit_cost"].to_numpy(float),
        "value_at_risk": np.where(cut > 0, at_risk, 0.0),
        "expected_shortage_wanted": decision.shortage_wanted,
        "expected_shortage": decision.shortage_ordered,
    })
