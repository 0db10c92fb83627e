"""CPFR: the order forecast shared with each supplier, and the exceptions to talk about.

The order forecast projects, per SKU and calendar week (Monday to Sunday) for the next weeks,
the receipts the policy needs: expected demand from the scenarios, receipts already scheduled
(open orders and this run's orders) and, from the first week a new order can still reach,
planned receipts that bring the projected stock back to the safety stock plus the demand until
the next receipt (one review period later), in whole case packs and at least the MOQ; demand
the projected stock cannot meet is lost, not backlogged. Weeks starting within the supplier
lead time are *frozen*: only orders already placed (or placed in this run) can arrive in them.

Exceptions, each with the numbers behind it:

* ``commitment_shortfall``: a supplier confirmed (``commitments``) less than the order
  forecast of that week by more than ``commitment_shortfall_share`` of it;
* ``commitment_over``: a supplier committed more than the order forecast asked for that week
  by more than ``commitment_over_share`` of it, including weeks it asked nothing of (units
  made that nobody planned to receive: cash tied up and a warehouse slot to find). Its
  ``deviation`` is the share of the commitment not asked for (150 committed against 100:
  0.33; anything against 0: 1.0), so those weeks lead;
* ``forecast_move``: this run's SKU forecast for a week moved by more than
  ``forecast_move_share`` against the previous run's (over the days both cover);
* ``forecast_error``: the previous run's forecast of the last ``forecast_error_weeks`` weeks
  missed actual sales (weekly WAPE) by more than ``forecast_error_threshold``. Days flagged
  as stockouts are left out: their sales understate demand.

Moves and errors on fewer than ``exception_min_units`` units are left out as noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.contract import Problem
from forecasting.scenarios import DemandScenarios
from replenishment.config import PlanningConfig
from replenishment.messages import MESSAGES, Message, with_messages
from replenishment.projection import (
    expected_daily_demand,
    scenario_offset,
    stable_id,
    week_start,
)

__all__ = [
    "EXCEPTION_COLUMNS",
    "LINE_EXCEPTION_COLUMNS",
    "LINE_STATUSES",
    "OPEN_STATUSES",
    "ORDER_FORECAST_COLUMNS",
    "ORDER_FORECAST_ITEM_COLUMNS",
    "ORDER_LINE_COLUMNS",
    "PROJECTED_FORECAST_COLUMNS",
    "REPLIED_STATUSES",
    "REPLY_COLUMNS",
    "commitment_exceptions",
    "cpfr_exceptions",
    "forecast_error_exceptions",
    "forecast_move_exceptions",
    "lifecycle_open_orders",
    "line_due",
    "line_exceptions",
    "match_replies",
    "order_forecast",
    "over_commitment_exceptions",
    "projected_order_forecast",
    "received_lines",
    "reply_status",
]

ORDER_FORECAST_ITEM_COLUMNS = (
    "sku", "supplier", "lead_time_days", "review_days", "case_pack", "moq", "on_hand",
    "backorders", "safety_stock",
)
ORDER_FORECAST_COLUMNS = [
    "supplier", "sku", "week", "demand", "scheduled_receipts", "planned_receipts", "qty",
    "projected_on_hand", "frozen",
]
# The order forecast of a planning run (:func:`projected_order_forecast`): each bucket is a
# calendar week labelled by the first day it holds (the first may hold fewer than 7: ``days``),
# with the units the lost-sales projection expects to be lost in it.
PROJECTED_FORECAST_COLUMNS = [
    "supplier", "sku", "week", "days", "demand", "scheduled_receipts", "planned_receipts",
    "qty", "projected_on_hand", "expected_lost", "frozen",
]
# ``message`` in English; ``message_id`` and ``message_params`` as replenishment.messages.
EXCEPTION_COLUMNS = [
    "exception_id", "kind", "supplier", "sku", "week", "expected", "actual", "deviation",
    "threshold", "message", "message_id", "message_params",
]


def _weekly(daily: np.ndarray, lead_in: int) -> np.ndarray:
    """Sum days into calendar weeks; the first ``lead_in`` days of week 0 are before day 0."""
    padded = np.concatenate([np.zeros((len(daily), lead_in)), daily], axis=1)
    return padded.reshape(len(daily), -1, 7).sum(axis=2)


def _scheduled(
    receipts: pd.DataFrame, skus: pd.Index, first_day: pd.Timestamp, week0: pd.Timestamp,
    weeks: int,
) -> np.ndarray:
    """Receipts per SKU row and week; overdue ones are expected on the first day."""
    out = np.zeros((len(skus), weeks))
    if receipts.empty:
        return out
    rows = skus.get_indexer(pd.Index(receipts["sku"]))
    days_in = (pd.to_datetime(receipts["date"]).dt.normalize() - week0).dt.days.to_numpy()
    earliest = (first_day - week0).days
    bucket = np.maximum(days_in, earliest) // 7
    keep = (rows >= 0) & (bucket < weeks)
    np.add.at(out, (rows[keep], bucket[keep]), receipts["qty"].to_numpy(float)[keep])
    return out


def order_forecast(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    receipts: pd.DataFrame,
    as_of: pd.Timestamp,
    weeks: int = 13,
) -> pd.DataFrame:
    """Projected receipts per supplier, SKU and week (:data:`ORDER_FORECAST_COLUMNS`).

    ``items`` has one row per SKU with :data:`ORDER_FORECAST_ITEM_COLUMNS`; ``receipts``
    (``sku, date, qty``) are the open orders and this run's orders by arrival date.
    """
    as_of = pd.Timestamp(as_of).normalize()
    first_day = as_of + pd.Timedelta(days=1)
    week0 = first_day - pd.Timedelta(days=first_day.weekday())
    lead_in = int((first_day - week0).days)
    skus = pd.Index(items["sku"])
    positions = scenarios.skus.get_indexer(skus)
    if (positions < 0).any():
        raise KeyError(f"no demand scenarios for SKUs {skus[positions < 0].tolist()[:5]}")
    cadence = np.maximum(np.round(items["review_days"].to_numpy(float) / 7), 1).astype(int)
    total_weeks = weeks + int(cadence.max(initial=1))
    daily = expected_daily_demand(scenarios, scenario_offset(scenarios, as_of),
                                  total_weeks * 7 - lead_in)[positions]
    demand = _weekly(daily, lead_in)
    cumulative = np.concatenate([np.zeros((len(skus), 1)), np.cumsum(demand, axis=1)], axis=1)
    scheduled = _scheduled(receipts, skus, first_day, week0, weeks)
    starts = week0 + pd.to_timedelta(7 * np.arange(weeks), unit="D")
    days_ahead = np.asarray((starts - as_of).days, dtype=float)
    frozen = days_ahead[None, :] <= items["lead_time_days"].to_numpy(float)[:, None]
    first_open = frozen.sum(axis=1)
    pack = items["case_pack"].to_numpy(float)
    min_lot = np.ceil(items["moq"].to_numpy(float) / pack) * pack
    safety = np.maximum(items["safety_stock"].to_numpy(float), 0.0)
    balance = items["on_hand"].to_numpy(float) - items["backorders"].to_numpy(float)
    rows = np.arange(len(skus))
    planned = np.zeros_like(scheduled)
    on_hand = np.zeros_like(scheduled)
    for w in range(weeks):
        begin = balance + scheduled[:, w]
        cover = cumulative[rows, w + cadence] - cumulative[:, w]
        need = safety + cover - begin
        receipt_week = (w >= first_open) & ((w - first_open) % cadence == 0) & (need > 0)
        lot = np.maximum(np.ceil(need / pack - 1e-9) * pack, min_lot)
        planned[:, w] = np.where(receipt_week, lot, 0.0)
        # Demand the stock cannot meet is lost (online shoppers buy elsewhere), not carried
        # as a backlog that would inflate the next receipt.
        balance = np.maximum(begin + planned[:, w] - demand[:, w], 0.0)
        on_hand[:, w] = balance
    n = len(skus)
    return pd.DataFrame({
        "supplier": np.repeat(items["supplier"].to_numpy(), weeks),
        "sku": np.repeat(skus.to_numpy(), weeks),
        "week": np.tile(starts.to_numpy(), n),
        "demand": demand[:, :weeks].reshape(-1).round(2),
        "scheduled_receipts": scheduled.reshape(-1),
        "planned_receipts": planned.reshape(-1),
        "qty": (scheduled + planned).reshape(-1),
        "projected_on_hand": on_hand.reshape(-1).round(2),
        "frozen": frozen.reshape(-1),
    }, columns=ORDER_FORECAST_COLUMNS)


def projected_order_forecast(
    items: pd.DataFrame,
    scheduled: np.ndarray,
    planned: np.ndarray,
    on_hand: np.ndarray,
    demand: np.ndarray,
    lost: np.ndarray,
    as_of: pd.Timestamp,
    weeks: int = 13,
) -> pd.DataFrame:
    """The order forecast (:data:`PROJECTED_FORECAST_COLUMNS`) read off the planning run's
    projection: per SKU (rows of ``items``: ``sku, supplier, lead_time_days``) and day from
    ``as_of + 1``, ``scheduled`` receipts (open orders and this run's orders), ``planned``
    receipts of later reviews, mean ``on_hand`` at the end of the day, mean ``demand`` and
    mean units ``lost``. Weeks starting within the lead time are frozen."""
    as_of = pd.Timestamp(as_of).normalize()
    first_day = as_of + pd.Timedelta(days=1)
    week0 = first_day - pd.Timedelta(days=first_day.weekday())
    lead_in = int((first_day - week0).days)
    span = weeks * 7 - lead_in
    n = len(items)

    def weekly(daily: np.ndarray) -> np.ndarray:
        return _weekly(_fit(daily, span), lead_in)[:, :weeks]

    ends = np.minimum(7 * np.arange(1, weeks + 1) - lead_in, span) - 1
    stock = _fit(on_hand, span)[:, ends]
    starts = week0 + pd.to_timedelta(7 * np.arange(weeks), unit="D")
    labels = starts.where(starts >= first_day, first_day)
    days_held = np.full(weeks, 7)
    days_held[0] = 7 - lead_in
    days_ahead = np.asarray((starts - as_of).days, dtype=float)
    frozen = days_ahead[None, :] <= items["lead_time_days"].to_numpy(float)[:, None]
    sched, plan = weekly(scheduled), weekly(planned)
    return pd.DataFrame({
        "supplier": np.repeat(items["supplier"].to_numpy(), weeks),
        "sku": np.repeat(items["sku"].to_numpy(), weeks),
        "week": np.tile(labels.to_numpy(), n),
        "days": np.tile(days_held, n),
        "demand": weekly(demand).reshape(-1).round(2),
        "scheduled_receipts": sched.reshape(-1),
        "planned_receipts": plan.reshape(-1),
        "qty": (sched + plan).reshape(-1),
        "projected_on_hand": stock.reshape(-1).round(2),
        "expected_lost": weekly(lost).reshape(-1).round(2),
        "frozen": frozen.reshape(-1),
    }, columns=PROJECTED_FORECAST_COLUMNS)


def _fit(daily: np.ndarray, days: int) -> np.ndarray:
    """``daily`` cut or padded (with its last column) to ``days`` columns."""
    if daily.shape[1] >= days:
        return daily[:, :days]
    last = daily[:, -1:] if daily.shape[1] else np.zeros((len(daily), 1))
    return np.concatenate([daily, np.repeat(last, days - daily.shape[1], axis=1)], axis=1)


def _exceptions(kind: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Add ids (stable across runs: kind, supplier, SKU and week) to exception rows."""
    if rows.empty:
        return pd.DataFrame(columns=EXCEPTION_COLUMNS)
    out = rows.assign(kind=kind).reset_index(drop=True)
    out["exception_id"] = [
        stable_id(kind, s, k, pd.Timestamp(w).date())
        for s, k, w in zip(out["supplier"], out["sku"], out["week"], strict=True)
    ]
    return out[EXCEPTION_COLUMNS]


def _committed_weeks(forecast: pd.DataFrame, commitments: pd.DataFrame) -> pd.DataFrame:
    """The order forecast's weeks the supplier answered for: ``expected`` (the forecast's
    ``qty``) and ``actual`` (the commitments of that supplier, SKU and calendar week)."""
    committed = (
        commitments.assign(week=week_start(commitments["week"]), actual=commitments["qty"])
        .groupby(["supplier", "sku", "week"], as_index=False)[["actual"]].sum()
    )
    return forecast.rename(columns={"qty": "expected"}).assign(
        _monday=week_start(forecast["week"])
    ).merge(committed.rename(columns={"week": "_monday"}), on=["supplier", "sku", "_monday"],
            how="inner")


def commitment_exceptions(
    forecast: pd.DataFrame, commitments: pd.DataFrame, share: float
) -> pd.DataFrame:
    """Weeks where the supplier committed less than ``(1 - share)`` of the order forecast.

    Only weeks the supplier answered for are compared: no row is not a commitment of zero.
    """
    if commitments.empty or forecast.empty:
        return _exceptions("commitment_shortfall", pd.DataFrame())
    merged = _committed_weeks(forecast, commitments)
    merged = merged[merged["expected"] > 0]
    merged["deviation"] = (merged["expected"] - merged["actual"]) / merged["expected"]
    short = merged[merged["deviation"] > share].copy()
    short["threshold"] = share
    short = with_messages(short, [
        Message("commitment_shortfall", {"supplier": s, "actual": a, "sku": k, "week": w,
                                         "deviation": d, "expected": e, "tolerance": share})
        for s, k, w, e, a, d in zip(short["supplier"], short["sku"], short["week"],
                                    short["expected"], short["actual"], short["deviation"],
                                    strict=True)
    ])
    return _exceptions("commitment_shortfall", short)


def over_commitment_exceptions(
    forecast: pd.DataFrame, commitments: pd.DataFrame, share: float
) -> pd.DataFrame:
    """Weeks where the supplier committed more than ``(1 + share)`` times the order forecast
    (any units in a week it forecast none); see the module's decisions."""
    if commitments.empty or forecast.empty:
        return _exceptions("commitment_over", pd.DataFrame())
    merged = _committed_weeks(forecast, commitments)
    excess = merged["actual"] - merged["expected"]
    over = merged[(excess > share * merged["expected"]) & (excess > 0)].copy()
    over["deviation"] = (over["actual"] - over["expected"]) / over["actual"]
    over["threshold"] = share
    over = with_messages(over, [
        Message("commitment_over", {"supplier": s, "sku": k, "week": w, "actual": a,
                                    "expected": e, "excess": a - e, "tolerance": share})
        for s, k, w, e, a in zip(over["supplier"], over["sku"], over["week"],
                                 over["expected"], over["actual"], strict=True)
    ])
    return _exceptions("commitment_over", over)


def _sku_daily(forecast: pd.DataFrame) -> pd.DataFrame:
    """``sku, date, forecast`` with channels (if any) summed."""
    frame = forecast.assign(date=pd.to_datetime(forecast["date"]).dt.normalize())
    return frame.groupby(["sku", "date"], as_index=False)[["forecast"]].sum()


def _supplier_of(frame: pd.DataFrame, products: pd.DataFrame) -> pd.Series:
    return frame["sku"].map(products.drop_duplicates("sku").set_index("sku")["supplier"])


def forecast_move_exceptions(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    products: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
) -> pd.DataFrame:
    """Weeks whose forecast moved by more than ``forecast_move_share`` against ``previous``.

    Both frames hold ``sku, date, forecast`` (a ``channel`` column is summed over); weeks
    are compared over the days both forecasts cover, within the order forecast weeks.
    ``deviation`` is the move relative to the previous forecast (floored at one unit).
    """
    as_of = pd.Timestamp(as_of).normalize()
    end = as_of + pd.Timedelta(days=7 * config.order_forecast_weeks)
    both = _sku_daily(previous).merge(_sku_daily(current), on=["sku", "date"],
                                      suffixes=("_previous", "_current"))
    both = both[(both["date"] > as_of) & (both["date"] <= end)]
    weekly = both.assign(week=week_start(both["date"])).groupby(
        ["sku", "week"], as_index=False
    ).agg(expected=("forecast_previous", "sum"), actual=("forecast_current", "sum"))
    weekly["deviation"] = (weekly["actual"] - weekly["expected"]) / weekly["expected"].clip(
        lower=1.0
    )
    share = config.forecast_move_share
    moved = weekly[
        (weekly[["expected", "actual"]].max(axis=1) >= config.exception_min_units)
        & (weekly["deviation"].abs() > share)
    ].copy()
    moved["supplier"] = _supplier_of(moved, products)
    moved["threshold"] = share
    moved = with_messages(moved, [
        Message("forecast_move", {"sku": k, "week": w, "deviation": d, "expected": e,
                                  "actual": a, "tolerance": share})
        for k, w, e, a, d in zip(moved["sku"], moved["week"], moved["expected"],
                                 moved["actual"], moved["deviation"], strict=True)
    ])
    return _exceptions("forecast_move", moved)


def _stockout_days(sales: pd.DataFrame) -> pd.DataFrame:
    if "stockout" not in sales or sales.empty:
        return pd.DataFrame(columns=["sku", "date"])
    flagged = sales[sales["stockout"].fillna(0) > 0]
    return flagged[["sku", "date"]].drop_duplicates()


def forecast_error_exceptions(
    previous: pd.DataFrame,
    sales: pd.DataFrame,
    products: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
) -> pd.DataFrame:
    """SKUs whose previous forecast of the last weeks missed sales by a WAPE above the threshold.

    WAPE = sum over weeks of ``|forecast - sales|`` / total sales (floored at one unit), over
    the days of the last ``forecast_error_weeks`` weeks up to ``as_of`` that ``previous``
    covers; a day with no sales row sold nothing; stockout days are left out.
    """
    as_of = pd.Timestamp(as_of).normalize()
    start = as_of - pd.Timedelta(days=7 * config.forecast_error_weeks - 1)
    forecast = _sku_daily(previous)
    forecast = forecast[(forecast["date"] >= start) & (forecast["date"] <= as_of)]
    actual = sales.groupby(["sku", "date"], as_index=False)["units"].sum()
    merged = forecast.merge(actual, on=["sku", "date"], how="left").fillna({"units": 0.0})
    censored = _stockout_days(sales).assign(_censored=True)
    merged = merged.merge(censored, on=["sku", "date"], how="left")
    merged = merged[merged["_censored"].isna()]
    weekly = merged.assign(week=week_start(merged["date"])).groupby(
        ["sku", "week"], as_index=False
    ).agg(forecast=("forecast", "sum"), units=("units", "sum"))
    weekly["abs_error"] = (weekly["forecast"] - weekly["units"]).abs()
    per_sku = weekly.groupby("sku", as_index=False).agg(
        week=("week", "min"), expected=("forecast", "sum"), actual=("units", "sum"),
        abs_error=("abs_error", "sum"), weeks=("week", "nunique"),
    )
    per_sku["deviation"] = per_sku["abs_error"] / per_sku["actual"].clip(lower=1.0)
    threshold = config.forecast_error_threshold
    missed = per_sku[
        (per_sku[["expected", "actual"]].max(axis=1) >= config.exception_min_units)
        & (per_sku["deviation"] > threshold)
    ].copy()
    missed["supplier"] = _supplier_of(missed, products)
    missed["threshold"] = threshold
    missed = with_messages(missed, [
        Message("forecast_error", {"sku": k, "weeks": n, "week": w, "deviation": d,
                                   "expected": e, "actual": a, "threshold": threshold})
        for k, w, n, e, a, d in zip(missed["sku"], missed["week"], missed["weeks"],
                                    missed["expected"], missed["actual"], missed["deviation"],
                                    strict=True)
    ])
    return _exceptions("forecast_error", missed)


def cpfr_exceptions(
    forecast: pd.DataFrame,
    commitments: pd.DataFrame,
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    sales: pd.DataFrame,
    products: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
) -> pd.DataFrame:
    """Every exception of a run (:data:`EXCEPTION_COLUMNS`), largest deviation first per kind.

    ``forecast`` is the order forecast, ``current`` this run's SKU forecast and ``previous``
    the previous run's (None on a first run: no move or error exceptions).
    """
    parts = [commitment_exceptions(forecast, commitments, config.commitment_shortfall_share),
             over_commitment_exceptions(forecast, commitments, config.commitment_over_share)]
    if previous is not None and not previous.empty:
        parts.append(forecast_move_exceptions(current, previous, products, as_of, config))
        parts.append(forecast_error_exceptions(previous, sales, products, as_of, config))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=EXCEPTION_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["_size"] = out["deviation"].abs()
    out = out.sort_values(["kind", "_size", "sku"], ascending=[True, False, True], kind="stable")
    return out.drop(columns="_size").reset_index(drop=True)


# --- Purchase order lines: the lifecycle's replies, receipts and exceptions -----------------
#
# The run store keeps every purchase order line a run proposed (``flows/storage/orderbook.py``)
# and hands its lines here as a frame of :data:`ORDER_LINE_COLUMNS`. Decisions:
#
# * A line is *open* (ordered from the supplier, not yet received) once it is sent, until it
#   is received; a supplier's reply changes what is open: the confirmed quantity on the
#   confirmed date (``due``), not the ordered one. Open lines the ERP's ``open_orders`` does
#   not list yet (by ``po_id`` and SKU) are added to the next run's open orders, so that run
#   plans around a shortfall or a slipped date instead of counting the units ordered.
# * A line ships to a ``warehouse`` (its stock pool, with a ``warehouses`` table; missing
#   without one) and comes back as an open order of that warehouse, so it lands in the pool
#   it was bought for. One PO may hold a SKU for two warehouses: the ERP lists such a line
#   when it names the same PO, SKU and warehouse (or no warehouse); a SKU on one line of its
#   PO is listed by PO and SKU whatever warehouse the ERP names (it may name a warehouse of
#   the pool rather than the pool). A reply naming such a SKU by PO and SKU is refused (which
#   line?); it names the line by number or id.
# * A line is *received* when its due date has come and the ERP does not list it as open: the
#   inventory snapshot holds its units. Without PO numbers in ``open_orders`` a line cannot be
#   told late from received; it is taken as received on its due date.
# * Exceptions go both ways, one row per line and kind, with the supplier, PO, week of the due
#   date and the gap (units or days, ``gap_unit``): short (confirmed less than ordered, a
#   declined line confirms 0), over (confirmed more), date slipped (confirmed after the
#   requested date), late (due and still open in the ERP), unconfirmed (no reply N days after
#   it was sent).

LINE_STATUSES = ("proposed", "approved", "rejected", "withdrawn", "sent", "confirmed",
                 "partly_confirmed", "declined", "received")
OPEN_STATUSES = ("sent", "confirmed", "partly_confirmed")
REPLIED_STATUSES = ("confirmed", "partly_confirmed", "declined")
ORDER_LINE_COLUMNS = [
    "po_id", "line_id", "line_no", "supplier", "sku", "qty", "delivery_date", "status",
    "sent_at", "confirmed_qty", "confirmed_date", "warehouse",
]
LINE_EXCEPTION_COLUMNS = [*EXCEPTION_COLUMNS, "po_id", "line_id", "gap", "gap_unit"]
REPLY_COLUMNS = ("line_id", "po_number", "line", "sku", "confirmed_qty", "confirmed_date")
_LINE_KINDS = ("po_short", "po_over", "po_date_slipped", "po_late", "po_unconfirmed")
_LINE_MESSAGES = {
    "po_short": ("{supplier} confirmed {actual:,.0f} of the {expected:,.0f} units of {sku} "
                 "ordered on {po} line {line} (due {due}): {gap:,.0f} units short"),
    "po_over": ("{supplier} confirmed {actual:,.0f} units of {sku} on {po} line {line} (due "
                "{due}), {gap:,.0f} more than the {expected:,.0f} ordered"),
    "po_date_slipped": ("{supplier} confirmed {sku} on {po} line {line} for {due}, {gap:g} "
                        "day(s) after the requested {requested}"),
    "po_late": ("{sku} on {po} line {line} from {supplier} was due on {due} and is still open: "
                "{gap:g} day(s) late"),
    "po_unconfirmed": ("{supplier} has not confirmed {po} line {line} ({sku}, {expected:,.0f} "
                       "units) {gap:g} days after it was sent (expected within {limit:g} days)"),
    **{f"exception.{kind}": kind for kind in _LINE_KINDS},
}
# The core's sentences live in one registry (replenishment.messages.MESSAGES); the purchase
# order lines' sentences are kept with the code that writes them and registered here.
MESSAGES.update(_LINE_MESSAGES)


def _naive_days(moments: pd.Series) -> pd.Series:
    """Dates of moments (time zone aware ones read in their own zone), without a zone."""
    values = pd.to_datetime(moments)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    return values.dt.normalize()


def reply_status(ordered: pd.Series, confirmed: pd.Series) -> pd.Series:
    """``confirmed`` (at least the ordered units), ``partly_confirmed`` or ``declined`` (0)."""
    ordered, confirmed = ordered.astype(float), confirmed.astype(float)
    return pd.Series(np.where(confirmed <= 0, "declined",
                              np.where(confirmed < ordered, "partly_confirmed", "confirmed")),
                     index=confirmed.index, dtype=object)


def line_due(lines: pd.DataFrame) -> pd.Series:
    """When each line is expected: the confirmed date, else the requested delivery date."""
    return _naive_days(lines["confirmed_date"]).fillna(_naive_days(lines["delivery_date"]))


def _open_qty(lines: pd.DataFrame) -> pd.Series:
    replied = lines["status"].isin(REPLIED_STATUSES) & lines["confirmed_qty"].notna()
    return lines["confirmed_qty"].where(replied, lines["qty"]).astype(float)


def _warehouse(frame: pd.DataFrame) -> pd.Series:
    """Each row's warehouse as text, ``''`` for none (a frame without the column: none)."""
    if "warehouse" not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    where = frame["warehouse"]
    return where.where(where.notna(), "").astype(str)


def _listed(lines: pd.DataFrame, open_orders: pd.DataFrame) -> pd.Series:
    """Whether the ERP's open orders list each line: same ``po_id``, SKU and warehouse, or
    no warehouse on either side, or the SKU on one line of its PO (the section's
    decisions)."""
    if open_orders.empty or "po_id" not in open_orders:
        return pd.Series(False, index=lines.index)
    erp = pd.DataFrame({"po": open_orders["po_id"].astype(str),
                        "sku": open_orders["sku"].astype(str), "wh": _warehouse(open_orders)})
    pairs = set(zip(erp["po"], erp["sku"], strict=True))
    exact = set(zip(erp["po"], erp["sku"], erp["wh"], strict=True))
    po, sku, wh = lines["po_id"].astype(str), lines["sku"].astype(str), _warehouse(lines)
    single = ~pd.DataFrame({"po": po, "sku": sku}).duplicated(keep=False)
    listed = [(p, s) in pairs and (one or not w or (p, s, w) in exact or (p, s, "") in exact)
              for p, s, w, one in zip(po, sku, wh, single, strict=True)]
    return pd.Series(listed, index=lines.index)


def received_lines(lines: pd.DataFrame, open_orders: pd.DataFrame,
                   as_of: pd.Timestamp) -> list[str]:
    """Ids of open lines taken as received by ``as_of`` (see the section's decisions)."""
    if lines.empty:
        return []
    open_ = lines["status"].isin(OPEN_STATUSES)
    due = line_due(lines) <= pd.Timestamp(as_of).normalize()
    done = open_ & due & ~_listed(lines, open_orders)
    return lines.loc[done, "line_id"].astype(str).tolist()


def lifecycle_open_orders(lines: pd.DataFrame, open_orders: pd.DataFrame,
                          as_of: pd.Timestamp) -> pd.DataFrame:
    """``open_orders`` with the open lines it does not list yet (``sku, supplier, qty, eta,
    po_id, warehouse``): the confirmed quantity on the confirmed date once the supplier
    replied, in the warehouse the line ships to."""
    if lines.empty:
        return open_orders
    received = set(received_lines(lines, open_orders, as_of))
    keep = (lines["status"].isin(OPEN_STATUSES) & ~_listed(lines, open_orders)
            & ~lines["line_id"].isin(received) & (_open_qty(lines) > 0))
    where = _warehouse(lines)[keep]
    added = pd.DataFrame({
        "sku": lines.loc[keep, "sku"].astype(str), "supplier": lines.loc[keep, "supplier"],
        "qty": _open_qty(lines)[keep], "eta": line_due(lines)[keep],
        "po_id": lines.loc[keep, "po_id"].astype(str),
        "warehouse": [w if w else None for w in where],
    })
    if added.empty:
        return open_orders
    if "eta" in open_orders and isinstance(open_orders["eta"].dtype, pd.DatetimeTZDtype):
        added["eta"] = added["eta"].dt.tz_localize(open_orders["eta"].dt.tz)
    frames = [f for f in (open_orders, added) if not f.empty]
    return pd.concat(frames, ignore_index=True)[list(open_orders.columns)]


def _line_rows(kind: str, rows: pd.DataFrame, expected: pd.Series, actual: pd.Series,
               gap: pd.Series, unit: str, threshold: float, extra: dict[str, pd.Series],
               ) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=LINE_EXCEPTION_COLUMNS)
    due = line_due(rows)
    out = rows.assign(kind=kind, week=week_start(due), expected=expected.astype(float),
                      actual=actual.astype(float), gap=gap.astype(float), gap_unit=unit,
                      threshold=threshold)
    out["deviation"] = out["gap"] / out["expected"].clip(lower=1.0) if unit == "units" \
        else out["gap"]
    params = [
        {"supplier": str(s), "sku": str(k), "po": str(p), "line": int(n),
         "due": pd.Timestamp(d).date().isoformat(), "expected": float(e), "actual": float(a),
         "gap": float(g), **{name: values.loc[i] for name, values in extra.items()}}
        for i, s, k, p, n, d, e, a, g in zip(
            out.index, out["supplier"], out["sku"], out["po_id"], out["line_no"], due,
            out["expected"], out["actual"], out["gap"], strict=True)
    ]
    out = with_messages(out, [Message(kind, p) for p in params])
    out["exception_id"] = [stable_id(kind, line) for line in out["line_id"]]
    return out[LINE_EXCEPTION_COLUMNS].reset_index(drop=True)


def line_exceptions(lines: pd.DataFrame, open_orders: pd.DataFrame, as_of: pd.Timestamp, *,
                    unconfirmed_after_days: int = 3, tolerance_share: float = 0.0,
                    ) -> pd.DataFrame:
    """The exceptions of the open and answered purchase order lines as of ``as_of``
    (:data:`LINE_EXCEPTION_COLUMNS`; kinds ``po_short``, ``po_over``, ``po_date_slipped``,
    ``po_late``, ``po_unconfirmed``), largest gap first per kind. ``tolerance_share``: a
    quantity within this share of the order is not short or over."""
    as_of = pd.Timestamp(as_of).normalize()
    if lines.empty:
        return pd.DataFrame(columns=LINE_EXCEPTION_COLUMNS)
    live = lines[lines["status"].isin(OPEN_STATUSES)
                 | ((lines["status"] == "declined") & (line_due(lines) >= as_of))]
    received = set(received_lines(live, open_orders, as_of))
    live = live[~live["line_id"].isin(received)]
    qty, confirmed = live["qty"].astype(float), live["confirmed_qty"].astype(float)
    replied = live["status"].isin(REPLIED_STATUSES) & confirmed.notna()
    short = replied & (qty - confirmed > tolerance_share * qty) & (qty > 0)
    over = replied & (confirmed - qty > tolerance_share * qty)
    requested = _naive_days(live["delivery_date"])
    slip = (line_due(live) - requested).dt.days.fillna(0)
    slipped = replied & (confirmed > 0) & (slip > 0)
    late_days = (as_of - line_due(live)).dt.days
    late = live["status"].isin(OPEN_STATUSES) & _listed(live, open_orders) & (late_days > 0)
    waited = (as_of - _naive_days(live["sent_at"])).dt.days
    unconfirmed = (live["status"] == "sent") & (waited > unconfirmed_after_days)
    iso = requested.dt.strftime("%Y-%m-%d")
    parts = [
        _line_rows("po_short", live[short], qty[short], confirmed[short],
                   (qty - confirmed)[short], "units", tolerance_share, {}),
        _line_rows("po_over", live[over], qty[over], confirmed[over], (confirmed - qty)[over],
                   "units", tolerance_share, {}),
        _line_rows("po_date_slipped", live[slipped], qty[slipped], confirmed[slipped],
                   slip[slipped], "days", 0.0, {"requested": iso[slipped]}),
        _line_rows("po_late", live[late], qty[late], _open_qty(live)[late], late_days[late],
                   "days", 0.0, {}),
        _line_rows("po_unconfirmed", live[unconfirmed], qty[unconfirmed],
                   pd.Series(0.0, index=live.index)[unconfirmed], waited[unconfirmed], "days",
                   float(unconfirmed_after_days),
                   {"limit": pd.Series(float(unconfirmed_after_days), index=live.index)}),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=LINE_EXCEPTION_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["kind", "gap", "line_id"], ascending=[True, False, True],
                           kind="stable").reset_index(drop=True)


def _reply_key(reply: pd.DataFrame, source: str) -> tuple[pd.Series, list[Problem]]:
    """How each reply row names its line: ``line_id``, else ``po_number`` with ``line`` or
    ``sku`` (as text keys of the same shape as :func:`_line_keys`)."""
    def text(column: str) -> pd.Series:
        if column not in reply:
            return pd.Series("", index=reply.index)
        return reply[column].fillna("").astype(str).str.strip()

    if "line_id" in reply:
        return "id|" + text("line_id"), []
    if "po_number" in reply and ("line" in reply or "sku" in reply):
        line = text("line").str.replace(r"\.0+$", "", regex=True)
        by_line = "no|" + text("po_number") + "|" + line
        return by_line.where(line != "", "sku|" + text("po_number") + "|" + text("sku")), []
    return pd.Series("", index=reply.index), [Problem(
        source=source, expected="a column line_id, or po_number with line or sku, naming "
        "the purchase order line each row answers")]


def _line_keys(lines: pd.DataFrame) -> tuple[dict[str, str], dict[str, list[int]]]:
    """Reply keys -> line id, and the (PO, SKU) keys naming more than one line (a SKU
    shipped to two warehouses) -> their line numbers."""
    keys: dict[str, str] = {}
    numbers: dict[str, list[int]] = {}
    for line, po, number, sku in zip(lines["line_id"], lines["po_id"], lines["line_no"],
                                     lines["sku"], strict=True):
        keys[f"id|{line}"] = str(line)
        keys[f"no|{po}|{int(number)}"] = str(line)
        keys[f"sku|{po}|{sku}"] = str(line)
        numbers.setdefault(f"sku|{po}|{sku}", []).append(int(number))
    twice = {key: sorted(n) for key, n in numbers.items() if len(n) > 1}
    return {k: v for k, v in keys.items() if k not in twice}, twice


def _reply_values(reply: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[Problem]]:
    """The confirmed quantity and date of each answered row (blank quantity: unanswered)."""
    problems: list[Problem] = []
    if "confirmed_qty" not in reply:
        return pd.DataFrame(), [Problem(source=source, column="confirmed_qty",
                                        expected="a column of the confirmed quantities")]
    raw_qty = reply["confirmed_qty"].fillna("").astype(str).str.strip()
    qty = pd.to_numeric(raw_qty.str.replace(",", ""), errors="coerce")
    raw_date = (reply["confirmed_date"].fillna("").astype(str).str.strip()
                if "confirmed_date" in reply else pd.Series("", index=reply.index))
    day = pd.to_datetime(raw_date.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    for i in reply.index:
        row = int(i) + 2
        if raw_qty[i] and (pd.isna(qty[i]) or qty[i] < 0):
            problems.append(Problem(source=source, row=row, column="confirmed_qty",
                                    value=raw_qty[i], expected="a number of units >= 0"))
        if raw_date[i] and pd.isna(day[i]):
            problems.append(Problem(source=source, row=row, column="confirmed_date",
                                    value=raw_date[i], expected="a date YYYY-MM-DD"))
    return pd.DataFrame({"confirmed_qty": qty, "confirmed_date": day,
                         "answered": raw_qty != ""}), problems


def match_replies(lines: pd.DataFrame, reply: pd.DataFrame, source: str,
                  ) -> tuple[pd.DataFrame, list[Problem]]:
    """Match a supplier's reply to the purchase order lines, row by row.

    ``reply`` holds text cells under the machine column names (:data:`REPLY_COLUMNS`); each
    row names its line by ``line_id``, or ``po_number`` with ``line`` or ``sku``. A row with
    a blank ``confirmed_qty`` is not an answer; a blank ``confirmed_date`` keeps the
    requested date. Returns ``line_id, confirmed_qty, confirmed_date, status`` per answered
    row, and every problem (rows count as a spreadsheet shows them, the header is row 1):
    unknown lines, lines never sent, the same line answered twice, bad numbers or dates.
    """
    keys, problems = _reply_key(reply, source)
    values, bad = _reply_values(reply, source)
    problems += bad
    if problems:
        return pd.DataFrame(columns=["line_id", "confirmed_qty", "confirmed_date", "status"]), \
            problems
    (known, twice), status = _line_keys(lines), lines.set_index("line_id")["status"].astype(str)
    matched: dict[str, int] = {}
    for i in reply.index[values["answered"].to_numpy(bool)]:
        row, line = int(i) + 2, known.get(keys[i])
        if keys[i] in twice:
            problems.append(Problem(source=source, row=row, value=keys[i].partition("|")[2],
                                    expected=(
                f"one line: this SKU is on lines {', '.join(map(str, twice[keys[i]]))} of "
                "the PO (one per warehouse); name the line by its number or line_id")))
        elif line is None:
            problems.append(Problem(source=source, row=row, value=keys[i].partition("|")[2],
                                    expected="a line of a purchase order in the run store"))
        elif status[line] not in (*OPEN_STATUSES, *REPLIED_STATUSES):
            problems.append(Problem(source=source, row=row, value=line, expected=(
                f"a line that was sent to the supplier (this one is {status[line]})")))
        elif line in matched:
            problems.append(Problem(source=source, row=row, value=line, expected=(
                f"one answer per line (row {matched[line]} answers it already)")))
        else:
            matched[line] = row
    rows = [i for i in reply.index if values["answered"][i]
            and known.get(keys[i]) in matched and matched[known[keys[i]]] == int(i) + 2]
    ordered = lines.set_index("line_id")["qty"]
    out = pd.DataFrame({
        "line_id": [known[keys[i]] for i in rows],
        "confirmed_qty": values.loc[rows, "confirmed_qty"].to_numpy(float),
        "confirmed_date": values.loc[rows, "confirmed_date"].to_numpy(),
    })
    out["status"] = reply_status(out["line_id"].map(ordered), out["confirmed_qty"])
    return out, problems
