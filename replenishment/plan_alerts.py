"""Alerts the planning run raises about its own decisions (nothing is cut or skipped in
silence): a line cut by supplier capacity or by the budget (with the unfunded units and the
value of the sales they put at risk), a MOQ no order of the supplier can hold, units built
ahead of a peak, and SKUs the run could not plan (with the reason).

Each carries its period (the days the money concerns, for :mod:`replenishment.exposure`) and
an action (:mod:`replenishment.alert_actions`): a cut line's period runs from the order's
arrival over its review period (the coverage window the cut leaves short), and its action
asks the supplier for capacity (or another supplier) or the budget holder for the unfunded
amount, by the order date; a MOQ above capacity concerns the SKU's next year of sales (365
days), fixed with the supplier tomorrow; build-ahead is approved by its first order date; a
SKU without a plan gets one tomorrow, a late launch secures stock by the day before it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replenishment.alert_actions import Action, soonest, with_actions
from replenishment.alerts import ALERT_COLUMNS, alert_rows
from replenishment.messages import CUT_REASONS, Message, with_messages

__all__ = ["build_ahead_alerts", "cut_alerts", "moq_capacity_alerts", "unplanned_alerts"]


def _base(items: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    category = items["category"] if "category" in items else pd.Series("", index=items.index)
    return pd.DataFrame({"sku": items["sku"].to_numpy()[mask],
                         "supplier": items["supplier"].to_numpy()[mask],
                         "category": category.to_numpy()[mask]})


def cut_alerts(lines: pd.DataFrame, items: pd.DataFrame, capacity: np.ndarray,
               suppliers: pd.Index) -> pd.DataFrame:
    """One alert per SKU whose firm order was cut by capacity, budget or volume: units
    wanted and ordered, expected units lost because of the cut x price."""
    reason = lines["cut_reason"].astype(str).to_numpy()
    cut = lines["cut"].to_numpy(float)
    mask = (cut > 0) & (reason != "cost") & (reason != "")
    if not mask.any():
        return pd.DataFrame(columns=ALERT_COLUMNS)
    price = items["price"].to_numpy(float)
    at_risk = (lines["expected_shortage"] - lines["expected_shortage_wanted"]).to_numpy(float)
    out = _base(items, mask)
    out["date"] = lines["expected_arrival"].to_numpy()[mask]
    out["value_at_risk"] = np.maximum(at_risk[mask], 0.0) * price[mask]
    cap = capacity[suppliers.get_indexer(pd.Index(out["supplier"]))]
    wanted = (lines["qty"] + lines["cut"]).to_numpy(float)[mask]
    ordered = lines["qty"].to_numpy(float)[mask]
    out = with_messages(out, [
        Message("cut", {"reason": _reason(r), "supplier": s, "sku": k, "ordered": o,
                        "wanted": w, "capacity": c, "unfunded": w - o, "lost": max(a, 0.0)})
        for r, s, k, o, w, c, a in zip(reason[mask], out["supplier"], out["sku"], ordered,
                                       wanted, cap, at_risk[mask], strict=True)
    ])
    out = _cut_periods(out, lines, items, mask)
    out = with_actions(out, [
        _cut_action(r, s, w - o, cost, max(a, 0.0), p, by)
        for r, s, w, o, cost, a, p, by in zip(
            reason[mask], out["supplier"], wanted, ordered,
            items["unit_cost"].to_numpy(float)[mask], at_risk[mask], price[mask],
            out["action_by"], strict=True)
    ])
    kinds = np.where(np.char.find(reason[mask].astype(str), "budget") >= 0,
                     "budget_shortfall", "capacity_bound")
    parts = [alert_rows(str(kind), out[kinds == kind].reset_index(drop=True))
             for kind in np.unique(kinds)]
    return pd.concat(parts, ignore_index=True)


def _cut_periods(out: pd.DataFrame, lines: pd.DataFrame, items: pd.DataFrame,
                 mask: np.ndarray) -> pd.DataFrame:
    """A cut's period: from the order's arrival over its review period; act by the order
    date (the arrival when the lines do not say)."""
    review = (items["review_days"].to_numpy(float)[mask] if "review_days" in items
              else np.full(int(mask.sum()), 7.0))
    arrival = pd.to_datetime(out["date"])
    ordered_on = (pd.to_datetime(lines["order_date"].to_numpy()[mask]) if "order_date" in lines
                  else arrival)
    return out.assign(period_start=arrival,
                      period_end=arrival + pd.to_timedelta(np.ceil(review) - 1, unit="D"),
                      action_by=ordered_on)


def _cut_action(reason: str, supplier: str, unfunded: float, unit_cost: float, lost: float,
                price: float, by: pd.Timestamp) -> Action:
    """Budget cuts: raise the budget by the unfunded amount at cost; capacity and volume
    cuts: more capacity, or another supplier."""
    saves = Message("effect.saves_sales", {"units": lost, "value": lost * price})
    if "budget" in reason:
        return Action(Message("action.raise_budget", {
            "value": unfunded * unit_cost, "units": unfunded}), by, saves)
    return Action(Message("action.more_capacity", {"supplier": supplier, "units": unfunded}),
                  by, saves)


def _reason(reason: str) -> Message | str:
    """A cut's reason as a translatable word (or as it is, when it is not a known one)."""
    return Message(f"cut_reason.{reason}") if reason in CUT_REASONS else reason


def moq_capacity_alerts(items: pd.DataFrame, capacity: np.ndarray, suppliers: pd.Index,
                        as_of: pd.Timestamp) -> pd.DataFrame:
    """SKUs whose MOQ (in whole cases) exceeds what one order of their supplier may hold."""
    pack = items["case_pack"].to_numpy(float)
    lot = np.ceil(items["moq"].to_numpy(float) / pack - 1e-9) * pack
    cap = capacity[suppliers.get_indexer(pd.Index(items["supplier"]))]
    mask = lot > cap
    if not mask.any():
        return pd.DataFrame(columns=ALERT_COLUMNS)
    out = _base(items, mask)
    out["date"] = pd.Timestamp(as_of).normalize()
    out["value_at_risk"] = items["revenue"].to_numpy(float)[mask] if "revenue" in items else 0.0
    out["period_start"] = out["date"] + pd.Timedelta(days=1)
    out["period_end"] = out["date"] + pd.Timedelta(days=365)
    out = with_messages(out, [
        Message("moq_above_capacity", {"sku": k, "supplier": s, "moq": m, "capacity": c})
        for k, s, m, c in zip(out["sku"], out["supplier"], lot[mask], cap[mask], strict=True)
    ])
    out = with_actions(out, [
        Action(Message("action.fix_moq", {"supplier": s, "capacity": c}), by,
               Message("effect.orderable", {"sku": k, "value": v}))
        for k, s, c, v, by in zip(out["sku"], out["supplier"], cap[mask], out["value_at_risk"],
                                  out["period_start"], strict=True)
    ])
    return alert_rows("moq_above_capacity", out)


def build_ahead_alerts(items: pd.DataFrame, ahead: np.ndarray, short: np.ndarray,
                       order_dates: np.ndarray, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per SKU whose plan builds ahead of a peak (``ahead[i, j]`` units at review ``j``,
    ordered on ``order_dates[i, j]``), or whose peak exceeds even the firm order's capacity
    (``short[i]`` units); value at risk = the short units x price."""
    built = ahead.sum(axis=1)
    mask = (built > 0) | (short > 0)
    if not mask.any():
        return pd.DataFrame(columns=ALERT_COLUMNS)
    out = _base(items, mask)
    first = np.argmax(ahead[mask] > 0, axis=1)
    out["date"] = pd.to_datetime(order_dates[mask][np.arange(mask.sum()), first])
    out.loc[built[mask] == 0, "date"] = pd.Timestamp(as_of).normalize()
    out["value_at_risk"] = short[mask] * items["price"].to_numpy(float)[mask]
    out = with_messages(out, [
        Message("build_ahead_short" if s > 0 else "build_ahead",
                {"sku": k, "built": b, "first_order": pd.Timestamp(d), "short": s})
        for k, b, d, s in zip(out["sku"], built[mask], out["date"], short[mask], strict=True)
    ])
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    out = with_actions(out, [
        _build_action(sup, b, d, s, p, c, first_day)
        for sup, b, d, s, p, c in zip(out["supplier"], built[mask], out["date"], short[mask],
                                      items["price"].to_numpy(float)[mask],
                                      items["unit_cost"].to_numpy(float)[mask], strict=True)
    ])
    return alert_rows("build_ahead", out)


def _build_action(supplier: str, built: float, first_order: pd.Timestamp, short: float,
                  price: float, unit_cost: float, first_day: pd.Timestamp) -> Action:
    """Units no order can hold: find them elsewhere; else approve the build-ahead."""
    by = soonest(pd.Timestamp(first_order), first_day)
    if short > 0:
        return Action(Message("action.find_peak_units", {"supplier": supplier, "short": short}),
                      by, Message("effect.saves_sales", {"units": short, "value": short * price}))
    return Action(Message("action.approve_build_ahead", {
        "built": built, "first_order": pd.Timestamp(first_order)}), by,
        Message("effect.secures", {"units": built, "value": built * unit_cost}))


def _plan_action(kind: str, sku: str, reason: Message, first_day: pd.Timestamp) -> Action:
    """A late launch: secure stock by the day before it; else give the SKU a plan."""
    launch = reason.params.get("launch")
    if kind == "launch" and launch:
        day = pd.Timestamp(str(launch))
        return Action(Message("action.launch_stock", {"sku": sku, "launch": day}),
                      soonest(day - pd.Timedelta(days=1), first_day))
    return Action(Message("action.add_plan", {"sku": sku}), first_day,
                  Message("effect.planned", {"sku": sku}))


def unplanned_alerts(products: pd.DataFrame, reasons: dict[str, Message], kind: str,
                     as_of: pd.Timestamp) -> pd.DataFrame:
    """One alert per SKU the run could not plan, saying why (``reasons[sku]``)."""
    if not reasons:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    table = products.drop_duplicates("sku").set_index("sku")
    skus = list(reasons)
    out = with_messages(pd.DataFrame({
        "sku": skus,
        "supplier": table["supplier"].reindex(skus).to_numpy(),
        "category": (table["category"].reindex(skus).fillna("").to_numpy()
                     if "category" in table else ""),
        "date": pd.Timestamp(as_of).normalize(),
        "value_at_risk": 0.0,
    }), [reasons[s] for s in skus])
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    out = with_actions(out, [_plan_action(kind, s, reasons[s], first_day) for s in skus])
    return alert_rows(kind, out)
