"""What a planner should do about an alert, by when, and what it is expected to bring.

Every alert carries one recommended action (``action``, a sentence written as a message id
and parameters like the alert's own: :data:`replenishment.messages.ACTION_COLUMNS`), the day
by which to act (``action_by``) and the expected effect (``action_effect``,
:data:`~replenishment.messages.EFFECT_COLUMNS`). The rules, first match wins:

* short of stock (stockout before an order placed now can arrive, an event short of stock):
  1. an open PO of the SKU due after the day the units are needed: expedite the earliest one
     by the days between (act tomorrow; covers up to its quantity);
  2. an order placed now arrives before the need (an event beyond the lead time): raise this
     run's order by the units short (act tomorrow, when the order is placed);
  3. a livestream planning more units than stock: cap its units at the stock (by the day
     before it starts), so orders that cannot ship are not taken;
  4. a channel event with other channels' sales before it: hold those units back for the
     event's channel (by the day before it starts);
  5. else ask the supplier to rush the units (act tomorrow).
* overstock: push out or cancel the open PO due last (by 7 days before its ETA, when it can
  still be held at the supplier; at the earliest tomorrow), else cut this run's order, else
  clear the excess within ``clearance_days`` (30 by default).
* stock outliving its shelf life: clear it ``clearance_days`` before it expires.

Other kinds (supplier exceptions, cut lines, MOQs, build-ahead, launches, suspected
stockouts, stale data) have one action each, set where the alert is made.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from replenishment.messages import ACTION_COLUMNS, EFFECT_COLUMNS, Message, with_messages

__all__ = [
    "ACTION_FIELDS",
    "Action",
    "Shortage",
    "open_po_rows",
    "overstock_action",
    "shortage_action",
    "soonest",
    "with_actions",
]

ACTION_FIELDS = (*ACTION_COLUMNS[:1], "action_by", *EFFECT_COLUMNS[:1], *ACTION_COLUMNS[1:],
                 *EFFECT_COLUMNS[1:])
_HOLD_DAYS = 7  # a PO can still be pushed out until about a week before its ETA


@dataclass(frozen=True)
class Action:
    """One recommended action: what, by when, and the expected effect."""

    what: Message
    by: pd.Timestamp
    effect: Message | None = None


@dataclass(frozen=True)
class Shortage:
    """A shortage to act on: ``short`` units of ``sku`` needed by ``need_by``; an order
    placed now arrives on ``arrival``. For events: the channel, a livestream's planned units,
    the stock available at its start and the expected sales before it."""

    sku: str
    supplier: str
    short: float
    price: float
    need_by: pd.Timestamp
    arrival: pd.Timestamp
    channel: str = ""
    planned: float = 0.0
    available: float = 0.0
    before: float = 0.0


def with_actions(frame: pd.DataFrame, actions: Sequence[Action | None]) -> pd.DataFrame:
    """``frame`` with the action columns (:data:`ACTION_FIELDS`) set, one action per row."""
    out = with_messages(frame, [a.what if a else None for a in actions], ACTION_COLUMNS)
    out = with_messages(out, [a.effect if a else None for a in actions], EFFECT_COLUMNS)
    return out.assign(action_by=pd.Series([a.by if a else pd.NaT for a in actions],
                                          index=out.index, dtype="datetime64[ns]"))


def soonest(day: pd.Timestamp, first_day: pd.Timestamp) -> pd.Timestamp:
    """``day``, or ``first_day`` (tomorrow) when it has passed."""
    return max(pd.Timestamp(day), pd.Timestamp(first_day))


def open_po_rows(open_orders: pd.DataFrame | None, sku: str) -> pd.DataFrame:
    """The SKU's open orders (``sku, date, qty``; ``po_id``, ``supplier`` when known)."""
    if open_orders is None or open_orders.empty:
        return pd.DataFrame(columns=["sku", "date", "qty", "po_id", "supplier"])
    rows = open_orders[open_orders["sku"] == sku]
    return rows.assign(date=pd.to_datetime(rows["date"]).dt.normalize())


def _po_params(po: pd.Series, fallback_supplier: str) -> tuple[str, dict[str, object]]:
    supplier = po.get("supplier")
    supplier = supplier if isinstance(supplier, str) and supplier else fallback_supplier
    number = po.get("po_id")
    params = {"supplier": supplier, "qty": float(po["qty"]), "eta": po["date"]}
    if isinstance(number, str) and number:
        return "po", {**params, "po": number}
    return "open", params


def _covers(units: float, short: float, price: float) -> Message:
    return Message("effect.covers", {"units": units, "short": short, "value": units * price})


def _expedite(case: Shortage, later: pd.DataFrame, first_day: pd.Timestamp) -> Action:
    po = later.sort_values("date").iloc[0]
    kind, params = _po_params(po, case.supplier)
    days = (po["date"] - case.need_by).days
    what = Message(f"action.expedite_{kind}", {**params, "need_by": case.need_by, "days": days})
    return Action(what, first_day, _covers(min(float(po["qty"]), case.short), case.short,
                                           case.price))


def shortage_action(case: Shortage, open_orders: pd.DataFrame | None,
                    first_day: pd.Timestamp) -> Action:
    """The action for a shortage (rules in the module docstring)."""
    units = float(math.ceil(case.short - 1e-9))
    pos = open_po_rows(open_orders, case.sku)
    later = pos[pos["date"] > case.need_by]
    eve = soonest(case.need_by - pd.Timedelta(days=1), first_day)
    if not later.empty:
        return _expedite(case, later, first_day)
    if case.arrival <= case.need_by:
        return Action(Message("action.raise_order", {
            "supplier": case.supplier, "units": units, "arrival": case.arrival}),
            first_day, _covers(case.short, case.short, case.price))
    if case.planned > case.available:
        return Action(Message("action.cap_livestream", {
            "cap": max(math.floor(case.available), 0), "planned": case.planned}), eve,
            Message("effect.no_oversell", {"units": case.short,
                                           "value": case.short * case.price}))
    if case.channel and case.before >= 1:
        moved = float(math.floor(min(case.short, case.before)))
        return Action(Message("action.move_stock", {
            "units": moved, "channel": case.channel, "start": case.need_by}), eve,
            Message("effect.reallocates", {"channel": case.channel, "units": moved}))
    return Action(Message("action.rush_order", {
        "supplier": case.supplier, "units": units, "need_by": case.need_by,
        "arrival": case.arrival}), first_day, _covers(case.short, case.short, case.price))


def overstock_action(sku: str, supplier: str, excess: float, unit_cost: float,
                     open_orders: pd.DataFrame | None, ordered: float,
                     first_day: pd.Timestamp, clearance_days: int) -> Action:
    """The action for overstock: push out the open PO due last, else cut this run's order,
    else clear the excess (rules in the module docstring)."""
    pos = open_po_rows(open_orders, sku)
    pos = pos[pos["date"] >= first_day]
    if not pos.empty:
        po = pos.sort_values("date").iloc[-1]
        kind, params = _po_params(po, supplier)
        units = min(float(po["qty"]), excess)
        return Action(Message(f"action.push_out_{kind}", params),
                      soonest(po["date"] - pd.Timedelta(days=_HOLD_DAYS), first_day),
                      Message("effect.less_excess", {"units": units, "value": units * unit_cost}))
    if ordered > 0:
        units = min(ordered, excess)
        return Action(Message("action.cut_order", {"supplier": supplier, "units": units}),
                      first_day,
                      Message("effect.less_excess", {"units": units, "value": units * unit_cost}))
    return Action(Message("action.clear_overstock", {"units": excess}),
                  first_day + pd.Timedelta(days=clearance_days - 1),
                  Message("effect.less_excess", {"units": excess, "value": excess * unit_cost}))
