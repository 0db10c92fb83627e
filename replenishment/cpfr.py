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

from forecasting.scenarios import DemandScenarios
from replenishment.config import PlanningConfig
from replenishment.messages import Message, with_messages
from replenishment.projection import (
    expected_daily_demand,
    scenario_offset,
    stable_id,
    week_start,
)

__all__ = [
    "EXCEPTION_COLUMNS",
    "ORDER_FORECAST_COLUMNS",
    "ORDER_FORECAST_ITEM_COLUMNS",
    "PROJECTED_FORECAST_COLUMNS",
    "commitment_exceptions",
    "cpfr_exceptions",
    "forecast_error_exceptions",
    "forecast_move_exceptions",
    "order_forecast",
    "projected_order_forecast",
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


def commitment_exceptions(
    forecast: pd.DataFrame, commitments: pd.DataFrame, share: float
) -> pd.DataFrame:
    """Weeks where the supplier committed less than ``(1 - share)`` of the order forecast.

    Only weeks the supplier answered for are compared: no row is not a commitment of zero.
    """
    if commitments.empty or forecast.empty:
        return _exceptions("commitment_shortfall", pd.DataFrame())
    committed = (
        commitments.assign(week=week_start(commitments["week"]), actual=commitments["qty"])
        .groupby(["supplier", "sku", "week"], as_index=False)[["actual"]].sum()
    )
    merged = forecast.rename(columns={"qty": "expected"}).assign(
        _monday=week_start(forecast["week"])
    ).merge(committed.rename(columns={"week": "_monday"}), on=["supplier", "sku", "_monday"],
            how="inner")
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
    parts = [commitment_exceptions(forecast, commitments, config.commitment_shortfall_share)]
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
