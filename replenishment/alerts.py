"""Alerts a planner acts on: what is wrong, the money at stake, what to do and by when.

Kinds (:data:`ALERT_KINDS`):

* ``stockout_risk``: the chance, over the demand scenarios, of running out before a new order
  placed today can arrive (stock on hand and open orders by their arrival day against each
  path's cumulative demand, day by day), with the typical day of running out (median over the
  paths that do); value at risk = expected units short x price.
* ``overstock``: stock, open orders and this run's order left after ``overstock_days`` of
  expected demand (the coming peaks sold through at their forecast, days past the forecast at
  the non-event rate); value at risk = those units x unit cost. Days of cover walk the same
  demand, so a festival no longer inflates the rate the stock is judged against.
* ``expiry_risk``: stock on hand larger than the expected sales within its shelf life
  (assuming it is fresh: older stock expires sooner); value = those units x unit cost.
* ``event_readiness``: a promotion, livestream or calendar event (``events``: Double 11,
  618...; not closures or make-up workdays) starting within ``event_window_days`` or the
  SKU's lead time, whichever is longer, with less stock at its start (on hand + arrivals
  before it, this run's orders included - expected sales before it) than its expected demand
  (the forecast, or the livestream's planned units if larger); value = the gap x price.
* ``supplier_exception``: a CPFR exception; value = the units apart x unit cost, summed over
  its weeks (the purchase at stake, not the sales).
* ``suspected_stockout``: a recent run of zero or collapsed sales the series' rate cannot
  explain (the forecast's ``data_quality`` table): a stockout, or a listing problem when
  stock is on hand; value = units not sold against the rate x price.
* ``data_freshness``: a channel's newest sales older than expected (:mod:`replenishment.
  freshness`).

Every alert has its period (``period_start``, ``period_end``), from which the run's money at
risk is counted once per SKU (:mod:`replenishment.exposure`; ``exposure`` is the alert's
share), and a recommended action with its by-when and expected effect
(:mod:`replenishment.alert_actions`).

Severity reads absolute thresholds only, so it never depends on the other alerts: the money
level of ``value_at_risk`` (``severity_thresholds``, by default critical from 50,000, high
from 10,000, medium from 2,000) and, for shortages (lost sales and supplier problems), the
level of ``cover_days``, the days from ``as_of`` until the problem bites
(``severity_cover_days``, by default critical within 7, high within 21, medium within 45);
a shortage takes the less severe of the two (a big loss two months out, or a small one
tomorrow, is not critical). ``alert_id`` hashes the kind, SKU, channel and the problem's
identity (the event, the exception) — never the run — so an unchanged problem keeps its id
from run to run.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from forecasting.scenarios import DemandScenarios
from replenishment.alert_actions import (
    ACTION_FIELDS,
    Action,
    Shortage,
    overstock_action,
    shortage_action,
    soonest,
    with_actions,
)
from replenishment.config import PlanningConfig
from replenishment.exposure import LOST_SALES, SUPPLY, exposure_shares, pool_of
from replenishment.messages import MESSAGE_COLUMNS, MESSAGES, Message, with_messages
from replenishment.projection import (
    daily_paths,
    expected_daily_demand,
    scenario_offset,
    stable_id,
)

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_ITEM_COLUMNS",
    "ALERT_KINDS",
    "ORDERABLE",
    "PLAN_ALERT_KINDS",
    "SEVERITIES",
    "alert_rows",
    "build_alerts",
    "data_quality_alerts",
    "event_alerts",
    "event_days",
    "event_rows",
    "overstock_alerts",
    "rank_severity",
    "stockout_alerts",
    "supplier_alerts",
]

# ``message`` is the English sentence; ``message_id`` and ``message_params`` (JSON) let the
# flows layer write it in the planner's language (replenishment.messages).
# After them: the period the money concerns, the days of cover that rank a shortage, the
# alert's share of the run's money at risk, and its action (replenishment.alert_actions).
ALERT_COLUMNS = [
    "alert_id", "kind", "severity", "sku", "channel", "date", "message", "value_at_risk",
    "supplier", "category", "message_id", "message_params",
    "period_start", "period_end", "cover_days", "exposure", *ACTION_FIELDS,
]
ALERT_ITEM_COLUMNS = (
    "sku", "supplier", "category", "price", "unit_cost", "on_hand", "backorders",
    "lead_time_days", "shelf_life_days",
)
# Optional item column: False for SKUs no longer ordered (no stockout or event alerts).
ORDERABLE = "orderable"
ALERT_KINDS = ("stockout_risk", "overstock", "expiry_risk", "event_readiness",
               "supplier_exception", "suspected_stockout", "capacity_bound",
               "budget_shortfall",
               "moq_above_capacity", "build_ahead", "launch", "unplanned",
               "data_freshness")
# Kinds raised by the planning run itself (:mod:`replenishment.plan_alerts`, and
# :mod:`replenishment.freshness`).
PLAN_ALERT_KINDS = ALERT_KINDS[6:]
SEVERITIES = ("critical", "high", "medium", "low")
# The sentence of each data-quality reason (others: "suspected_stockout").
_QUALITY_MESSAGES = {"stockout": "stockout", "listing": "listing", "dormant": "dormant"}
_CELLS_PER_CHUNK = 4_000_000  # SKU x path x day cells per block of the stockout check


def alert_rows(kind: str, rows: pd.DataFrame, identity: pd.Series | None = None,
               ) -> pd.DataFrame:
    """Alert rows of one kind (``sku, supplier, category, date, message, value_at_risk``,
    optionally ``channel``, and ``message_id, message_params`` as
    :func:`replenishment.messages.with_messages` sets them) with stable ids from the kind,
    SKU, channel and ``identity``."""
    return _alerts(kind, rows, identity)


def _alerts(kind: str, rows: pd.DataFrame, identity: pd.Series | None = None) -> pd.DataFrame:
    """Alert rows with their stable ids; severity and exposure are set later, over all kinds
    at once. A period defaults to the alert's date, actions to none."""
    if rows.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    out = rows.reset_index(drop=True).assign(kind=kind, severity="", exposure=0.0)
    defaults: dict[str, Any] = {
        "channel": "", "period_start": out["date"], "period_end": out["date"],
        "cover_days": np.nan, "action_by": pd.NaT,
    }
    out = out.assign(**{c: v for c, v in defaults.items() if c not in out})
    for column in (*MESSAGE_COLUMNS[1:], *ACTION_FIELDS):
        if column not in out:
            out[column] = ""
    keys = [""] * len(out) if identity is None else identity.reset_index(drop=True).tolist()
    out["alert_id"] = [
        stable_id(kind, sku, channel, key)
        for sku, channel, key in zip(out["sku"], out["channel"], keys, strict=True)
    ]
    return out[ALERT_COLUMNS]


def _orderable(items: pd.DataFrame) -> pd.DataFrame:
    if ORDERABLE not in items:
        return items.reset_index(drop=True)
    return items[items[ORDERABLE].fillna(True).astype(bool)].reset_index(drop=True)


def _arrival_days(receipts: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Day index of each receipt (day 0 = the day after ``as_of``; overdue ones arrive then)."""
    first_day = as_of + pd.Timedelta(days=1)
    return (pd.to_datetime(receipts["date"]).dt.normalize() - first_day).dt.days.clip(lower=0)


def _stocked(receipts: pd.DataFrame, restocks: pd.DataFrame | None) -> pd.DataFrame:
    """Receipts with the restocked customer returns (``sku, date, qty``) added."""
    if restocks is None or restocks.empty:
        return receipts
    return pd.concat([receipts, restocks], ignore_index=True)


def _supply_curve(
    items: pd.DataFrame, receipts: pd.DataFrame, as_of: pd.Timestamp, days: int
) -> np.ndarray:
    """Stock available for each day's demand (on hand - backorders + receipts so far)."""
    supply = np.zeros((len(items), days))
    if not receipts.empty and days > 0:
        rows = pd.Index(items["sku"]).get_indexer(receipts["sku"])
        day = _arrival_days(receipts, as_of).to_numpy()
        keep = (rows >= 0) & (day < days)
        np.add.at(supply, (rows[keep], day[keep]), receipts["qty"].to_numpy(float)[keep])
    start = (items["on_hand"] - items["backorders"]).to_numpy(float)
    return start[:, None] + np.cumsum(supply, axis=1)


def stockout_alerts(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    open_receipts: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
    restocks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """SKUs likely to run out before the earliest arrival of an order placed today
    (``restocks``: customer returns back on the shelf, :func:`_stocked`)."""
    as_of = pd.Timestamp(as_of).normalize()
    items = _orderable(items)
    offset = scenario_offset(scenarios, as_of)
    positions = scenarios.skus.get_indexer(pd.Index(items["sku"]))
    window = np.ceil(items["lead_time_days"].to_numpy(float)).astype(int)
    n_paths = scenarios.n_paths
    probability = np.zeros(len(items))
    short_units = np.zeros(len(items))
    stockout_day = np.full(len(items), np.nan)
    longest = int(window.max(initial=0))
    chunk = max(1, _CELLS_PER_CHUNK // max(n_paths * longest, 1))
    for begin in range(0, len(items), chunk):
        rows = np.arange(begin, min(begin + chunk, len(items)))
        days = int(window[rows].max(initial=0))
        if days == 0:
            continue
        demand = np.cumsum(daily_paths(scenarios, positions[rows], offset, days), axis=2)
        supply = _supply_curve(items.iloc[rows], _stocked(open_receipts, restocks), as_of,
                               days)
        gap = demand - supply[:, None, :]
        inside = np.arange(days)[None, None, :] < window[rows][:, None, None]
        gap = np.where(inside, gap, -np.inf)
        short = np.asarray(gap > 1e-9)
        ran_out = np.asarray(short.any(axis=2))
        probability[rows] = ran_out.mean(axis=1)
        short_units[rows] = np.maximum(gap.max(axis=2), 0.0).mean(axis=1)
        first = np.where(ran_out, short.argmax(axis=2), np.nan)
        some = np.any(ran_out, axis=1)
        if np.any(some):
            stockout_day[rows[some]] = np.floor(np.nanmedian(first[some], axis=1))
    risky = (probability >= config.stockout_probability) & (probability > 0)
    out = items.loc[risky, ["sku", "supplier", "category"]].copy()
    first_day = as_of + pd.Timedelta(days=1)
    out["date"] = first_day + pd.to_timedelta(stockout_day[risky], unit="D")
    price = items["price"].to_numpy(float)[risky]
    out["value_at_risk"] = short_units[risky] * price
    lead_time = items["lead_time_days"].to_numpy(float)[risky]
    arrival = first_day + pd.to_timedelta(np.ceil(lead_time), unit="D")
    out["period_start"] = first_day
    out["period_end"] = arrival - pd.Timedelta(days=1)
    out["cover_days"] = stockout_day[risky] + 1.0
    stock = (items["on_hand"] - items["backorders"]).to_numpy(float)[risky]
    out = with_messages(out, [
        Message("stockout_risk", {"probability": p, "arrival": a, "lead_time": lt,
                                  "out_on": d, "short": u, "on_hand": h})
        for p, a, lt, d, u, h in zip(probability[risky], arrival, lead_time, out["date"],
                                     short_units[risky], stock, strict=True)
    ])
    out = with_actions(out, [
        shortage_action(Shortage(k, s, u, pr, d, a), open_receipts, first_day)
        for k, s, u, pr, d, a in zip(out["sku"], out["supplier"], short_units[risky], price,
                                     out["date"], arrival, strict=True)
    ])
    return _alerts("stockout_risk", out)


def _total_receipts(items: pd.DataFrame, receipts: pd.DataFrame | None) -> np.ndarray:
    if receipts is None or receipts.empty:
        return np.zeros(len(items))
    per_sku = receipts.groupby("sku")["qty"].sum()
    return items["sku"].map(per_sku).fillna(0.0).to_numpy(float)


_LONGEST_COVER = 3650.0  # days; cover beyond ten years reads as "no demand"


def _base_rate(daily: np.ndarray, event_days: np.ndarray | None) -> np.ndarray:
    """Expected units a day outside events (the median day when every day has an event)."""
    if daily.shape[1] == 0:
        return np.zeros(len(daily))
    if event_days is None:
        return np.asarray(daily.mean(axis=1))
    calm = ~event_days
    days = calm.sum(axis=1)
    total = np.where(calm, daily, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(days > 0, total / days, np.median(daily, axis=1))


def _cover(stock: float, cumulative: np.ndarray, rate: float) -> float:
    """Days ``stock`` lasts against the expected daily demand (then ``rate`` a day)."""
    horizon = len(cumulative) - 1
    if stock <= cumulative[-1]:
        return float(np.searchsorted(cumulative, stock, side="left"))
    return horizon + (stock - cumulative[-1]) / rate if rate > 0 else np.inf


def overstock_alerts(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    open_receipts: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
    firm_orders: pd.DataFrame | None = None,
    event_days: np.ndarray | None = None,
    restocks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Overstock after this run's orders and stock outliving its shelf life.

    ``firm_orders`` (``sku, qty``): this run's order lines; ``event_days`` (SKU x day from
    ``as_of + 1``, True on a promotion, livestream or event day): days left out of the
    non-event rate at which demand past the forecast is read.
    """
    as_of = pd.Timestamp(as_of).normalize()
    first_day = as_of + pd.Timedelta(days=1)
    offset = scenario_offset(scenarios, as_of)
    positions = scenarios.skus.get_indexer(pd.Index(items["sku"]))
    horizon = max(len(scenarios.dates) - offset, 1)
    daily = expected_daily_demand(scenarios, offset, horizon)[positions]
    rate = _base_rate(daily, None if event_days is None else event_days[:, :horizon])
    cumulative = np.concatenate([np.zeros((len(items), 1)), np.cumsum(daily, axis=1)], axis=1)
    span = float(config.overstock_days)
    wanted = (cumulative[:, min(int(np.ceil(span)), horizon)]
              + rate * max(span - horizon, 0.0))
    on_order = _total_receipts(items, _stocked(open_receipts, restocks))
    ordered = _total_receipts(items, firm_orders)
    stock = (items["on_hand"] - items["backorders"]).to_numpy(float) + on_order + ordered
    excess = stock - wanted
    over = excess >= 1
    cover = np.array([_cover(stock[i], cumulative[i], rate[i]) for i in np.flatnonzero(over)])
    cost = items["unit_cost"].to_numpy(float)[over]
    out = items.loc[over, ["sku", "supplier", "category"]].copy()
    out["date"] = as_of
    out["value_at_risk"] = excess[over] * cost
    out["period_start"] = first_day
    out["period_end"] = as_of + pd.Timedelta(days=int(np.ceil(span)))
    out["cover_days"] = np.minimum(cover, _LONGEST_COVER).round(1) if over.any() else []
    out = with_messages(out, [
        _overstock_message(s, o, q, c, r, e, span)
        for s, o, q, c, r, e in zip(stock[over], on_order[over], ordered[over], cover,
                                    rate[over], excess[over], strict=True)
    ])
    out = with_actions(out, [
        overstock_action(k, sup, e, c, open_receipts, q, first_day, config.clearance_days)
        for k, sup, e, c, q in zip(out["sku"], out["supplier"], excess[over], cost,
                                   ordered[over], strict=True)
    ])
    parts = [_alerts("overstock", out),
             _expiry_alerts(items, scenarios, offset, as_of, config.clearance_days)]
    return pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)


def _overstock_message(stock: float, on_order: float, ordered: float, cover: float,
                       rate: float, excess: float, threshold: float) -> Message:
    params = {"stock": stock, "on_order": on_order, "ordered": ordered, "rate": rate,
              "excess": excess, "threshold": threshold}
    if not cover <= _LONGEST_COVER:
        return Message("overstock_no_demand", params)
    return Message("overstock", {**params, "cover": cover})


def _expiry_alerts(
    items: pd.DataFrame, scenarios: DemandScenarios, offset: int, as_of: pd.Timestamp,
    clearance_days: int,
) -> pd.DataFrame:
    life = pd.to_numeric(items["shelf_life_days"], errors="coerce").to_numpy(float)
    has_life = np.isfinite(life) & (life > 0)
    if not has_life.any():
        return _alerts("expiry_risk", pd.DataFrame())
    subset = items[has_life]
    positions = scenarios.skus.get_indexer(pd.Index(subset["sku"]))
    length = np.zeros(len(scenarios.skus))
    length[positions] = life[has_life]
    sellable = scenarios.window_mean(offset, length)[positions]
    on_hand = (subset["on_hand"] - subset["backorders"]).to_numpy(float)
    expiring = on_hand - sellable
    hit = expiring >= 1
    out = subset.loc[hit, ["sku", "supplier", "category"]].copy()
    out["date"] = as_of + pd.to_timedelta(life[has_life][hit], unit="D")
    cost = subset["unit_cost"].to_numpy(float)[hit]
    out["value_at_risk"] = expiring[hit] * cost
    first_day = as_of + pd.Timedelta(days=1)
    out["period_start"] = first_day
    out = with_messages(out, [
        Message("expiry_risk", {"expiring": e, "on_hand": h, "shelf_life": d, "sellable": s})
        for e, h, d, s in zip(expiring[hit], on_hand[hit], life[has_life][hit], sellable[hit],
                              strict=True)
    ])
    out = with_actions(out, [
        Action(Message("action.clear_expiring", {"units": e}),
               soonest(d - pd.Timedelta(days=clearance_days), first_day),
               Message("effect.avoid_writeoff", {"units": e, "value": e * c}))
        for e, d, c in zip(expiring[hit], out["date"], cost, strict=True)
    ])
    return _alerts("expiry_risk", out)


_EVENT_FIELDS = ["sku", "channel", "start", "end", "planned_units", "label", "identity"]
# Calendar events that are not demand peaks: no readiness check, no event day.
_NOT_PEAKS = frozenset({"closure", "workday"})


def _promotion_rows(items: pd.DataFrame, promotions: pd.DataFrame) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    by_category = items.groupby("category")["sku"].apply(list).to_dict()
    for promo in promotions.to_dict("records"):
        start = pd.Timestamp(promo["start"]).normalize()
        if isinstance(promo["sku"], str):
            skus = [promo["sku"]]
        elif isinstance(promo["category"], str):
            skus = by_category.get(promo["category"], [])
        else:
            skus = list(items["sku"])
        channel = promo["channel"] if isinstance(promo["channel"], str) else ""
        end = pd.Timestamp(promo["end"]).normalize()
        rows += [{
            "sku": sku, "channel": channel, "start": start, "end": end, "planned_units": 0.0,
            "label": Message("event.promotion", {"kind": promo["kind"]}),
            "identity": f"promotion|{start.date()}|{end.date()}|{promo['kind']}",
        } for sku in skus]
    return rows


def _livestream_rows(livestreams: pd.DataFrame) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for stream in livestreams.to_dict("records"):
        if not isinstance(stream["sku"], str):
            continue
        host = stream["host"] if isinstance(stream["host"], str) else ""
        planned = stream["planned_units"]
        rows.append({
            "sku": stream["sku"], "channel": stream["channel"],
            "start": pd.Timestamp(stream["start"]).normalize(),
            "end": pd.Timestamp(stream["end"]).normalize(),
            "planned_units": float(planned) if pd.notna(planned) else 0.0,
            "label": (Message("event.livestream_host", {"host": host}) if host
                      else Message("event.livestream")),
            "identity": f"livestream|{pd.Timestamp(stream['start']).isoformat()}|{host}",
        })
    return rows


def _calendar_rows(items: pd.DataFrame, events: pd.DataFrame | None
                   ) -> list[dict[str, object]]:
    """Festivals and holidays of the events table (Double 11, 618...), per SKU they concern."""
    if events is None or events.empty:
        return []
    rows: list[dict[str, object]] = []
    for event in events.to_dict("records"):
        if str(event.get("kind") or "") in _NOT_PEAKS:
            continue
        sku = event.get("sku")
        skus = [sku] if isinstance(sku, str) and sku else list(items["sku"])
        channel = event.get("channel")
        start = pd.Timestamp(event["start"]).normalize()
        end = pd.Timestamp(event["end"]).normalize()
        rows += [{
            "sku": k, "channel": channel if isinstance(channel, str) else "", "start": start,
            "end": end, "planned_units": 0.0,
            "label": Message("event.calendar", {"name": event["name"]}),
            "identity": f"event|{start.date()}|{end.date()}|{event['name']}",
        } for k in skus]
    return rows


def event_rows(items: pd.DataFrame, promotions: pd.DataFrame, livestreams: pd.DataFrame,
               events: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (event, SKU) of the promotions, livestreams and calendar events (not
    closures or make-up workdays): sku, channel, start, end, planned_units, label, identity."""
    rows = (_promotion_rows(items, promotions) + _livestream_rows(livestreams)
            + _calendar_rows(items, events))
    frame = pd.DataFrame(rows, columns=_EVENT_FIELDS)
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    frame["planned_units"] = frame["planned_units"].astype(float)
    return frame[frame["sku"].isin(set(items["sku"]))].reset_index(drop=True)


def event_days(items: pd.DataFrame, rows: pd.DataFrame, first_day: pd.Timestamp,
               days: int) -> np.ndarray:
    """SKU x day (from ``first_day``): True where an event of ``rows`` (:func:`event_rows`)
    runs."""
    mask = np.zeros((len(items), days), dtype=bool)
    if rows.empty or days <= 0:
        return mask
    position = pd.Index(items["sku"]).get_indexer(rows["sku"])
    begin = np.clip((rows["start"] - first_day).dt.days.to_numpy(), 0, days)
    end = np.clip((rows["end"] - first_day).dt.days.to_numpy() + 1, 0, days)
    for row, a, b in zip(position, begin, end, strict=True):
        mask[row, a:b] = True
    return mask


def _upcoming(items: pd.DataFrame, rows: pd.DataFrame, as_of: pd.Timestamp,
              config: PlanningConfig) -> pd.DataFrame:
    """The events starting from tomorrow to ``event_window_days`` ahead, or to the SKU's
    lead time when longer (no order placed now can arrive before those)."""
    lead = items.set_index("sku")["lead_time_days"].astype(float)
    reach = np.maximum(np.ceil(rows["sku"].map(lead).fillna(0.0).to_numpy(float)),
                       config.event_window_days)
    ahead = (rows["start"] - as_of).dt.days.to_numpy()
    return rows[(ahead >= 1) & (ahead <= reach)].reset_index(drop=True)


def _arriving(receipts: pd.DataFrame, skus: pd.Series, days: np.ndarray,
              as_of: pd.Timestamp) -> np.ndarray:
    """Units of ``receipts`` arriving for each SKU up to each day index."""
    arriving = np.zeros(len(skus))
    if receipts.empty:
        return arriving
    arrival = pd.DataFrame({"sku": receipts["sku"], "day": _arrival_days(receipts, as_of),
                            "qty": receipts["qty"].to_numpy(float)})
    for k, (sku, day) in enumerate(zip(skus, days, strict=True)):
        arriving[k] = arrival.loc[(arrival["sku"] == sku) & (arrival["day"] <= day), "qty"].sum()
    return arriving


def event_alerts(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    receipts: pd.DataFrame,
    promotions: pd.DataFrame,
    livestreams: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
    events: pd.DataFrame | None = None,
    open_orders: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Promotions, livestreams and calendar events (``events``: Double 11, 618...) starting
    within the window (:func:`_upcoming`) with stock below their expected demand.

    ``receipts`` (``sku, date, qty``): open orders and this run's orders by arrival date;
    ``open_orders`` (the same with ``po_id, supplier``): the POs an action may expedite.
    """
    as_of = pd.Timestamp(as_of).normalize()
    first_day = as_of + pd.Timedelta(days=1)
    items = _orderable(items)
    upcoming = _upcoming(items, event_rows(items, promotions, livestreams, events), as_of,
                         config)
    if upcoming.empty:
        return _alerts("event_readiness", upcoming)
    row = pd.Index(items["sku"]).get_indexer(upcoming["sku"])
    start_day = (upcoming["start"] - first_day).dt.days.to_numpy()
    end_day = (upcoming["end"] - first_day).dt.days.to_numpy() + 1
    positions = scenarios.skus.get_indexer(pd.Index(items["sku"]))
    daily = expected_daily_demand(scenarios, scenario_offset(scenarios, as_of),
                                  int(end_day.max()))[positions]
    cumulative = np.concatenate([np.zeros((len(items), 1)), np.cumsum(daily, axis=1)], axis=1)
    before = cumulative[row, start_day]
    demand = np.maximum(cumulative[row, end_day] - before,
                        upcoming["planned_units"].to_numpy())
    arriving = _arriving(receipts, upcoming["sku"], start_day, as_of)
    on_hand = (items["on_hand"] - items["backorders"]).to_numpy(float)[row]
    available = np.maximum(on_hand + arriving - before, 0.0)
    short = demand - available
    hit = short >= 1
    found = upcoming[hit].reset_index(drop=True)
    facts = pd.DataFrame({"demand": demand, "available": available, "on_hand": on_hand,
                          "arriving": arriving, "before": before, "short": short,
                          "row": row})[hit].reset_index(drop=True)
    out = _event_frame(found, facts, items, as_of)
    out = with_actions(out, _event_actions(found, facts, items, open_orders, as_of))
    return _alerts("event_readiness", out, found["identity"])


def _event_frame(found: pd.DataFrame, facts: pd.DataFrame, items: pd.DataFrame,
                 as_of: pd.Timestamp) -> pd.DataFrame:
    """The readiness alerts' rows: where, when, value at risk and the sentence."""
    row = facts["row"].to_numpy()
    out = found[["sku", "channel"]].copy()
    out["supplier"] = items["supplier"].to_numpy()[row]
    out["category"] = items["category"].to_numpy()[row]
    out["date"] = found["start"]
    out["value_at_risk"] = facts["short"].to_numpy() * items["price"].to_numpy(float)[row]
    out["period_start"], out["period_end"] = found["start"], found["end"]
    out["cover_days"] = (found["start"] - as_of).dt.days.astype(float)
    return with_messages(out, [
        Message("event_readiness_channel" if ch else "event_readiness", {
            "event": label, "channel": ch, "start": s, "end": e, "demand": d,
            "available": a, "on_hand": h, "arriving": r, "before": b})
        for label, ch, s, e, d, a, h, r, b in zip(
            found["label"], found["channel"], found["start"], found["end"], facts["demand"],
            facts["available"], facts["on_hand"], facts["arriving"], facts["before"],
            strict=True)
    ])


def _event_actions(found: pd.DataFrame, facts: pd.DataFrame, items: pd.DataFrame,
                   open_orders: pd.DataFrame | None, as_of: pd.Timestamp) -> list[Action]:
    first_day = as_of + pd.Timedelta(days=1)
    row = facts["row"].to_numpy()
    lead = np.ceil(items["lead_time_days"].to_numpy(float)[row])
    arrival = first_day + pd.to_timedelta(lead, unit="D")
    return [
        shortage_action(Shortage(
            sku=k, supplier=sup, short=u, price=p, need_by=s, arrival=a, channel=ch,
            planned=pl, available=av, before=b), open_orders, first_day)
        for k, sup, u, p, s, a, ch, pl, av, b in zip(
            found["sku"], items["supplier"].to_numpy()[row], facts["short"],
            items["price"].to_numpy(float)[row], found["start"], arrival, found["channel"],
            found["planned_units"], facts["available"], facts["before"], strict=True)
    ]


def supplier_alerts(exceptions: pd.DataFrame, items: pd.DataFrame,
                    as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """One alert per supplier, SKU and kind of CPFR exception, however many weeks it spans.

    A shortfall repeated over ten weeks is one problem for the planner to take up with the
    supplier, not ten alerts; the value at risk adds the weeks' units apart at unit cost (the
    purchase at stake: valued at price, the demo's exceptions were 64% of its headline), and
    the message names the first week and the count. Its period runs from the first week's
    Monday to the last week's Sunday; ``cover_days`` counts the days from ``as_of`` to the
    first week.
    """
    if exceptions.empty:
        return _alerts("supplier_exception", pd.DataFrame())
    lookup = items.drop_duplicates("sku").set_index("sku")
    cost = exceptions["sku"].map(lookup["unit_cost"]).astype(float).fillna(0.0)
    units = (exceptions["expected"] - exceptions["actual"]).abs()
    details = pd.Series(_exception_details(exceptions), index=exceptions.index, dtype=object)
    rows = exceptions.assign(value_at_risk=units.to_numpy(float) * cost.to_numpy(float),
                             units=units.to_numpy(float), _detail=details,
                             week=pd.to_datetime(exceptions["week"])
                             ).sort_values(["supplier", "sku", "kind", "week"])
    grouped = rows.groupby(["supplier", "sku", "kind"], sort=False).agg(
        date=("week", "first"), last=("week", "last"), weeks=("week", "size"),
        value_at_risk=("value_at_risk", "sum"), units=("units", "sum"),
        detail=("_detail", "first"),
    ).reset_index()
    out = with_messages(pd.DataFrame({
        "sku": grouped["sku"], "supplier": grouped["supplier"],
        "category": grouped["sku"].map(lookup["category"]), "date": grouped["date"],
        "value_at_risk": grouped["value_at_risk"], "period_start": grouped["date"],
        "period_end": grouped["last"] + pd.Timedelta(days=6),
        "cover_days": ((grouped["date"] - pd.Timestamp(as_of).normalize()).dt.days.astype(float)
                       if as_of is not None else np.nan),
    }), [_supplier_message(str(kind), detail, int(weeks)) for kind, detail, weeks in zip(
        grouped["kind"], grouped["detail"], grouped["weeks"], strict=True)])
    out = with_actions(out, [_supplier_action(row, as_of) for row in grouped.itertuples()])
    identity = grouped["supplier"] + "|" + grouped["kind"]
    return _alerts("supplier_exception", out, identity)


def _supplier_action(row: Any, as_of: pd.Timestamp | None) -> Action:
    """Commitment short: ask the supplier for the units a week before the week; forecast
    moves and errors: review the forecast; other exceptions: take them up with the
    supplier."""
    week = pd.Timestamp(row.date)
    first_day = (pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
                 if as_of is not None else week - pd.Timedelta(days=7))
    secures = Message("effect.secures", {"units": row.units, "value": row.value_at_risk})
    params = {"supplier": row.supplier, "units": row.units, "week": week}
    if row.kind == "commitment_shortfall":
        return Action(Message("action.supplier_commit", params),
                      soonest(week - pd.Timedelta(days=7), first_day), secures)
    if row.kind in ("forecast_move", "forecast_error"):
        return Action(Message("action.review_forecast", {**params, "sku": row.sku}), first_day)
    label = Message(f"exception.{row.kind}") if f"exception.{row.kind}" in MESSAGES \
        else str(row.kind)
    return Action(Message("action.supplier_review", {**params, "kind": label}), first_day,
                  secures)


def _exception_details(exceptions: pd.DataFrame) -> list[Message | str]:
    """Each exception's sentence as a message (its text when it carries no message id)."""
    ids = exceptions["message_id"] if "message_id" in exceptions else [""] * len(exceptions)
    params = (exceptions["message_params"] if "message_params" in exceptions
              else [""] * len(exceptions))
    details: list[Message | str] = []
    for text, message_id, values in zip(exceptions["message"], ids, params, strict=True):
        known = (isinstance(message_id, str) and message_id in MESSAGES
                 and isinstance(values, str) and values)
        details.append(Message(message_id, json.loads(values)) if known else str(text))
    return details


def _supplier_message(kind: str, detail: Message | str, weeks: int) -> Message:
    label = (Message(f"exception.{kind}") if f"exception.{kind}" in MESSAGES else kind)
    params = {"kind": label, "detail": detail}
    if weeks > 1:
        return Message("supplier_exception_weeks", {**params, "later": weeks - 1})
    return Message("supplier_exception", params)


def data_quality_alerts(data_quality: pd.DataFrame | None, items: pd.DataFrame,
                        as_of: pd.Timestamp, recent_days: int = 28) -> pd.DataFrame:
    """One ``suspected_stockout`` alert per run of ``data_quality`` (the forecast's table of
    suspected stockouts and listing problems, :mod:`forecasting.quality`) that ends within
    ``recent_days`` days of ``as_of``, naming the SKU, channel and dates.

    Older runs stay in the data-quality table: sales came back weeks ago and the forecast
    already treats those days as censored, so a daily alert about them would be noise. Value
    at risk = the units the run did not sell against the series' rate (expected - sold) x
    price, over the run's days (its period). The action: check the shop page and stock
    records tomorrow. ``alert_id`` hashes the run's start, so a run still going keeps its
    alert.
    """
    kind = "suspected_stockout"
    if data_quality is None or data_quality.empty:
        return _alerts(kind, pd.DataFrame())
    as_of = pd.Timestamp(as_of).normalize()
    runs = data_quality[pd.to_datetime(data_quality["end"])
                        >= as_of - pd.Timedelta(days=recent_days)].reset_index(drop=True)
    lookup = items.drop_duplicates("sku").set_index("sku")
    price = runs["sku"].map(lookup["price"]).astype(float).fillna(0.0)
    missed = (runs["expected_units"] - runs["sold_units"]).clip(lower=0.0)
    out = with_messages(pd.DataFrame({
        "sku": runs["sku"], "channel": runs["channel"],
        "supplier": runs["sku"].map(lookup["supplier"]),
        "category": runs["sku"].map(lookup["category"]),
        "date": pd.to_datetime(runs["start"]),
        "value_at_risk": (missed * price).to_numpy(),
        "period_start": pd.to_datetime(runs["start"]),
        "period_end": pd.to_datetime(runs["end"]),
    }), [
        Message(_QUALITY_MESSAGES.get(str(reason), "suspected_stockout"), {
            "channel": ch, "start": a, "end": b, "days": d, "sold": s, "expected": e,
            "on_hand": h})
        for reason, ch, a, b, d, s, e, h in zip(
            runs["reason"], runs["channel"], runs["start"], runs["end"], runs["days"],
            runs["sold_units"], runs["expected_units"], runs["on_hand"], strict=True)
    ])
    first_day = as_of + pd.Timedelta(days=1)
    out = with_actions(out, [
        Action(Message("action.check_listing", {"sku": k, "channel": ch}), first_day,
               Message("effect.sales_resume", {"rate": e / max(float(d), 1.0)}))
        for k, ch, e, d in zip(runs["sku"], runs["channel"], runs["expected_units"],
                               runs["days"], strict=True)
    ])
    identity = pd.to_datetime(runs["start"]).dt.date.astype(str)
    return _alerts(kind, out, identity)


def _level(values: np.ndarray, cuts: np.ndarray, larger_is_worse: bool) -> np.ndarray:
    """0 (critical) to 3 (low) against three cuts."""
    if larger_is_worse:
        return 3 - (values[:, None] >= cuts[None, :]).sum(axis=1)
    return 3 - (values[:, None] <= cuts[None, :]).sum(axis=1)


def rank_severity(values: pd.Series, config: PlanningConfig,
                  cover_days: pd.Series | None = None) -> pd.Series:
    """critical / high / medium / low from absolute thresholds only (never from the other
    alerts): the money level of ``values`` (``severity_thresholds``) and, where
    ``cover_days`` is given (shortages), the less severe of that and its days-of-cover level
    (``severity_cover_days``). Nothing at stake is low."""
    money = values.astype(float).fillna(0.0).to_numpy()
    level = _level(money, np.asarray(config.severity_thresholds, dtype=float), True)
    if cover_days is not None:
        days = cover_days.astype(float).to_numpy()
        cover = _level(np.nan_to_num(days, nan=-np.inf),
                       np.asarray(config.severity_cover_days, dtype=float), False)
        level = np.where(np.isnan(days), level, np.maximum(level, cover))
    level = np.where(money > 0, level, 3)
    return pd.Series(np.asarray(SEVERITIES)[level], index=values.index)


def _shortage_cover(alerts: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Days of cover of the shortages (lost sales, supplier problems): their own, else the
    days from ``as_of`` to their date; NaN for the other pools (money alone ranks them)."""
    cover = pd.to_numeric(alerts["cover_days"], errors="coerce")
    until = (pd.to_datetime(alerts["date"], errors="coerce") - as_of).dt.days.astype(float)
    shortage = pool_of(alerts["kind"]).isin([LOST_SALES, SUPPLY])
    return cover.fillna(until).where(shortage)


def build_alerts(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    open_receipts: pd.DataFrame,
    planned_receipts: pd.DataFrame,
    promotions: pd.DataFrame,
    livestreams: pd.DataFrame,
    exceptions: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
    plan_alerts: pd.DataFrame | None = None,
    data_quality: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    firm_orders: pd.DataFrame | None = None,
    restocks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every alert of a run (:data:`ALERT_COLUMNS`), most severe and valuable first.

    ``items`` has one row per SKU with :data:`ALERT_ITEM_COLUMNS`; receipts are ``sku, date,
    qty`` frames of open orders (with ``po_id, supplier`` when known, for actions that name
    the PO) and of every order this run plans; ``firm_orders`` (``sku, qty``) are this run's
    order lines; ``events`` the calendar (festivals are checked for readiness and left out of
    the non-event rate); ``data_quality`` (the forecast's suspected stockouts) raises
    ``suspected_stockout`` alerts; ``plan_alerts`` are alerts the planning run raised itself
    (:data:`PLAN_ALERT_KINDS`, made with :func:`alert_rows`; one that comes with a severity
    keeps it). Each alert's ``exposure`` is its share of the run's money at risk
    (:func:`replenishment.exposure.exposure_shares`). ``restocks`` (``sku, date, qty``):
    customer returns back on the shelf (:mod:`replenishment.returns`), stock for every
    alert's projection but no order an action may expedite.
    """
    as_of = pd.Timestamp(as_of).normalize()
    receipts = _stocked(pd.concat([open_receipts, planned_receipts], ignore_index=True),
                        restocks)
    horizon = max(len(scenarios.dates) - scenario_offset(scenarios, as_of), 1)
    peaks = event_days(items, event_rows(items, promotions, livestreams, events),
                       as_of + pd.Timedelta(days=1), horizon)
    parts = [
        stockout_alerts(items, scenarios, open_receipts, as_of, config, restocks),
        overstock_alerts(items, scenarios, open_receipts, as_of, config, firm_orders, peaks,
                         restocks),
        event_alerts(items, scenarios, receipts, promotions, livestreams, as_of, config,
                     events, open_receipts),
        supplier_alerts(exceptions, items, as_of),
        data_quality_alerts(data_quality, items, as_of),
        plan_alerts if plan_alerts is not None else pd.DataFrame(columns=ALERT_COLUMNS),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    return _ranked(pd.concat(parts, ignore_index=True), as_of, config)


def _ranked(out: pd.DataFrame, as_of: pd.Timestamp, config: PlanningConfig) -> pd.DataFrame:
    """Severity, exposure and the order of the alerts: most severe, then largest first."""
    out["value_at_risk"] = out["value_at_risk"].astype(float).round(2)
    preset = out["severity"].isin(SEVERITIES)
    ranked = rank_severity(out["value_at_risk"], config, _shortage_cover(out, as_of))
    out["severity"] = out["severity"].where(preset, ranked)
    out["exposure"] = exposure_shares(out)
    rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    order = np.lexsort((out["alert_id"], -out["value_at_risk"].to_numpy(), rank.to_numpy()))
    return out.iloc[order].reset_index(drop=True)
