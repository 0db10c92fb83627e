"""Alerts the planning run raises about its own decisions (nothing is cut or skipped in
silence): a line cut by supplier capacity or by the budget (with the unfunded units and the
value of the sales they put at risk), a MOQ no order of the supplier can hold, units built
ahead of a peak, and SKUs the run could not plan (with the reason)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    kinds = np.where(np.char.find(reason[mask].astype(str), "budget") >= 0,
                     "budget_shortfall", "capacity_bound")
    parts = [alert_rows(str(kind), out[kinds == kind].reset_index(drop=True))
             for kind in np.unique(kinds)]
    return pd.concat(parts, ignore_index=True)


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
    out = with_messages(out, [
        Message("moq_above_capacity", {"sku": k, "supplier": s, "moq": m, "capacity": c})
        for k, s, m, c in zip(out["sku"], out["supplier"], lot[mask], cap[mask], strict=True)
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
    return alert_rows("build_ahead", out)


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
    return alert_rows(kind, out)
