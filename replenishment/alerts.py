"""Alerts a planner acts on, ranked by the money at stake.

Kinds (:data:`ALERT_KINDS`):

* ``stockout_risk``: the chance, over the demand scenarios, of running out before a new order
  placed today can arrive (stock on hand and open orders by their arrival day against each
  path's cumulative demand, day by day), with the typical day of running out (median over the
  paths that do); value at risk = expected units short x price.
* ``overstock``: stock and open orders cover more than ``overstock_days`` of expected demand;
  value at risk = units above that cover x unit cost.
* ``expiry_risk``: stock on hand larger than the expected sales within its shelf life
  (assuming it is fresh: older stock expires sooner); value = those units x unit cost.
* ``event_readiness``: a promotion or livestream starting within ``event_window_days`` with
  less stock at its start (on hand + arrivals before it, this run's orders included - expected
  sales before it) than its expected demand (the forecast, or the livestream's planned units
  if larger); value = the gap x price.
* ``supplier_exception``: a CPFR exception; value = the units apart x price for a commitment
  shortfall, x unit cost for forecast moves and errors.
* ``suspected_stockout``: a recent run of zero or collapsed sales the series' rate cannot
  explain (the forecast's ``data_quality`` table): a stockout, or a listing problem when
  stock is on hand; value = units not sold against the rate x price.

Severity ranks value at risk: fixed thresholds (``severity_thresholds``) or, when unset, the
quantiles ``severity_quantiles`` of this run's values. ``alert_id`` hashes the kind, SKU,
channel and the problem's identity (the event, the exception) — never the run — so an
unchanged problem keeps its id from run to run.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from forecasting.scenarios import DemandScenarios
from replenishment.config import PlanningConfig
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
    "overstock_alerts",
    "rank_severity",
    "stockout_alerts",
    "supplier_alerts",
]

# ``message`` is the English sentence; ``message_id`` and ``message_params`` (JSON) let the
# flows layer write it in the planner's language (replenishment.messages).
ALERT_COLUMNS = [
    "alert_id", "kind", "severity", "sku", "channel", "date", "message", "value_at_risk",
    "supplier", "category", "message_id", "message_params",
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
               "moq_above_capacity", "build_ahead", "launch", "unplanned")
# Kinds raised by the planning run itself (:mod:`replenishment.plan_alerts`).
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
    """Alert rows with their stable ids; severity is set later, over all kinds at once."""
    if rows.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    out = rows.reset_index(drop=True).assign(kind=kind, severity="")
    if "channel" not in out:
        out["channel"] = ""
    for column in MESSAGE_COLUMNS[1:]:
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
) -> pd.DataFrame:
    """SKUs likely to run out before the earliest arrival of an order placed today."""
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
        supply = _supply_curve(items.iloc[rows], open_receipts, as_of, days)
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
    out["value_at_risk"] = short_units[risky] * items["price"].to_numpy(float)[risky]
    lead_time = items["lead_time_days"].to_numpy(float)[risky]
    arrival = first_day + pd.to_timedelta(np.ceil(lead_time), unit="D")
    stock = (items["on_hand"] - items["backorders"]).to_numpy(float)[risky]
    out = with_messages(out, [
        Message("stockout_risk", {"probability": p, "arrival": a, "lead_time": lt,
                                  "out_on": d, "short": u, "on_hand": h})
        for p, a, lt, d, u, h in zip(probability[risky], arrival, lead_time, out["date"],
                                     short_units[risky], stock, strict=True)
    ])
    return _alerts("stockout_risk", out)


def _total_receipts(items: pd.DataFrame, receipts: pd.DataFrame) -> np.ndarray:
    if receipts.empty:
        return np.zeros(len(items))
    per_sku = receipts.groupby("sku")["qty"].sum()
    return items["sku"].map(per_sku).fillna(0.0).to_numpy(float)


def overstock_alerts(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    open_receipts: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
) -> pd.DataFrame:
    """Overstock (days of cover above the threshold) and stock outliving its shelf life."""
    as_of = pd.Timestamp(as_of).normalize()
    offset = scenario_offset(scenarios, as_of)
    positions = scenarios.skus.get_indexer(pd.Index(items["sku"]))
    horizon = max(len(scenarios.dates) - offset, 1)
    daily = expected_daily_demand(scenarios, offset, horizon)[positions]
    rate = daily.mean(axis=1)
    on_hand = (items["on_hand"] - items["backorders"]).to_numpy(float)
    on_order = _total_receipts(items, open_receipts)
    stock = on_hand + on_order
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(rate > 0, stock / rate, np.where(stock > 0, np.inf, 0.0))
    excess = stock - rate * config.overstock_days
    over = (cover > config.overstock_days) & (excess >= 1)
    out = items.loc[over, ["sku", "supplier", "category"]].copy()
    out["date"] = as_of
    out["value_at_risk"] = excess[over] * items["unit_cost"].to_numpy(float)[over]
    out = with_messages(out, [
        _overstock_message(s, o, c, r, e, config.overstock_days)
        for s, o, c, r, e in zip(stock[over], on_order[over], cover[over], rate[over],
                                 excess[over], strict=True)
    ])
    parts = [_alerts("overstock", out), _expiry_alerts(items, scenarios, offset, as_of)]
    return pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)


def _overstock_message(stock: float, on_order: float, cover: float, rate: float,
                       excess: float, threshold: float) -> Message:
    params = {"stock": stock, "on_order": on_order, "rate": rate, "excess": excess,
              "threshold": threshold}
    if not np.isfinite(cover):
        return Message("overstock_no_demand", params)
    return Message("overstock", {**params, "cover": cover})


def _expiry_alerts(
    items: pd.DataFrame, scenarios: DemandScenarios, offset: int, as_of: pd.Timestamp
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
    out["value_at_risk"] = expiring[hit] * subset["unit_cost"].to_numpy(float)[hit]
    out = with_messages(out, [
        Message("expiry_risk", {"expiring": e, "on_hand": h, "shelf_life": d, "sellable": s})
        for e, h, d, s in zip(expiring[hit], on_hand[hit], life[has_life][hit], sellable[hit],
                              strict=True)
    ])
    return _alerts("expiry_risk", out)


def _upcoming_events(
    items: pd.DataFrame, promotions: pd.DataFrame, livestreams: pd.DataFrame,
    first_day: pd.Timestamp, last_day: pd.Timestamp,
) -> pd.DataFrame:
    """One row per (event, SKU) starting within the window: sku, channel, start, end,
    planned_units, label, identity."""
    rows: list[dict[str, object]] = []
    known = set(items["sku"])
    by_category = items.groupby("category")["sku"].apply(list).to_dict()
    for promo in promotions.to_dict("records"):
        start = pd.Timestamp(promo["start"]).normalize()
        if not first_day <= start <= last_day:
            continue
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
    for stream in livestreams.to_dict("records"):
        start = pd.Timestamp(stream["start"]).normalize()
        if not isinstance(stream["sku"], str) or not first_day <= start <= last_day:
            continue
        host = stream["host"] if isinstance(stream["host"], str) else ""
        planned = stream["planned_units"]
        rows.append({
            "sku": stream["sku"], "channel": stream["channel"], "start": start,
            "end": pd.Timestamp(stream["end"]).normalize(),
            "planned_units": float(planned) if pd.notna(planned) else 0.0,
            "label": (Message("event.livestream_host", {"host": host}) if host
                      else Message("event.livestream")),
            "identity": f"livestream|{pd.Timestamp(stream['start']).isoformat()}|{host}",
        })
    events = pd.DataFrame(rows, columns=["sku", "channel", "start", "end", "planned_units",
                                         "label", "identity"])
    return events[events["sku"].isin(known)].reset_index(drop=True)


def event_alerts(
    items: pd.DataFrame,
    scenarios: DemandScenarios,
    receipts: pd.DataFrame,
    promotions: pd.DataFrame,
    livestreams: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PlanningConfig,
) -> pd.DataFrame:
    """Promotions and livestreams starting soon with stock below their expected demand.

    ``receipts`` (``sku, date, qty``): open orders and this run's orders by arrival date.
    """
    as_of = pd.Timestamp(as_of).normalize()
    first_day = as_of + pd.Timedelta(days=1)
    items = _orderable(items)
    events = _upcoming_events(items, promotions, livestreams, first_day,
                              as_of + pd.Timedelta(days=config.event_window_days))
    if events.empty:
        return _alerts("event_readiness", events)
    row = pd.Index(items["sku"]).get_indexer(events["sku"])
    start_day = (events["start"] - first_day).dt.days.to_numpy()
    end_day = (events["end"] - first_day).dt.days.to_numpy() + 1
    positions = scenarios.skus.get_indexer(pd.Index(items["sku"]))
    daily = expected_daily_demand(scenarios, scenario_offset(scenarios, as_of),
                                  int(end_day.max()))[positions]
    cumulative = np.concatenate([np.zeros((len(items), 1)), np.cumsum(daily, axis=1)], axis=1)
    before = cumulative[row, start_day]
    demand = np.maximum(cumulative[row, end_day] - before, events["planned_units"].to_numpy())
    arriving = np.zeros(len(events))
    if not receipts.empty:
        arrival = pd.DataFrame({"sku": receipts["sku"], "day": _arrival_days(receipts, as_of),
                                "qty": receipts["qty"].to_numpy(float)})
        for k, (sku, day) in enumerate(zip(events["sku"], start_day, strict=True)):
            match = (arrival["sku"] == sku) & (arrival["day"] <= day)
            arriving[k] = arrival.loc[match, "qty"].sum()
    on_hand = (items["on_hand"] - items["backorders"]).to_numpy(float)[row]
    available = np.maximum(on_hand + arriving - before, 0.0)
    short = demand - available
    hit = short >= 1
    out = events.loc[hit, ["sku", "channel"]].copy()
    out["supplier"] = items["supplier"].to_numpy()[row[hit]]
    out["category"] = items["category"].to_numpy()[row[hit]]
    out["date"] = events.loc[hit, "start"]
    out["value_at_risk"] = short[hit] * items["price"].to_numpy(float)[row[hit]]
    out = with_messages(out, [
        Message("event_readiness_channel" if ch else "event_readiness", {
            "event": label, "channel": ch, "start": s, "end": e, "demand": d,
            "available": a, "on_hand": h, "arriving": r, "before": b})
        for label, ch, s, e, d, a, h, r, b in zip(
            events.loc[hit, "label"], events.loc[hit, "channel"], events.loc[hit, "start"],
            events.loc[hit, "end"], demand[hit], available[hit], on_hand[hit], arriving[hit],
            before[hit], strict=True)
    ])
    return _alerts("event_readiness", out, events.loc[hit, "identity"])


def supplier_alerts(exceptions: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One alert per supplier, SKU and kind of CPFR exception, however many weeks it spans.

    A shortfall repeated over ten weeks is one problem for the planner to take up with the
    supplier, not ten alerts; the value at risk adds the weeks up and the message names the
    first week and the count.
    """
    if exceptions.empty:
        return _alerts("supplier_exception", pd.DataFrame())
    lookup = items.set_index("sku")
    price = exceptions["sku"].map(lookup["price"]).fillna(0.0)
    cost = exceptions["sku"].map(lookup["unit_cost"]).fillna(0.0)
    units = (exceptions["expected"] - exceptions["actual"]).abs()
    per_unit = np.where(exceptions["kind"] == "commitment_shortfall", price, cost)
    details = pd.Series(_exception_details(exceptions), index=exceptions.index, dtype=object)
    rows = exceptions.assign(value_at_risk=units.to_numpy(float) * per_unit,
                             _detail=details).sort_values(["supplier", "sku", "kind", "week"])
    grouped = rows.groupby(["supplier", "sku", "kind"], sort=False).agg(
        date=("week", "first"), weeks=("week", "size"), value_at_risk=("value_at_risk", "sum"),
        detail=("_detail", "first"),
    ).reset_index()
    out = with_messages(pd.DataFrame({
        "sku": grouped["sku"],
        "supplier": grouped["supplier"],
        "category": grouped["sku"].map(lookup["category"]),
        "date": grouped["date"],
        "value_at_risk": grouped["value_at_risk"],
    }), [_supplier_message(str(kind), detail, int(weeks)) for kind, detail, weeks in zip(
        grouped["kind"], grouped["detail"], grouped["weeks"], strict=True)])
    identity = grouped["supplier"] + "|" + grouped["kind"]
    return _alerts("supplier_exception", out, identity)


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
    price. ``alert_id`` hashes the run's start, so a run still going keeps its alert.
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
    }), [
        Message(_QUALITY_MESSAGES.get(str(reason), "suspected_stockout"), {
            "channel": ch, "start": a, "end": b, "days": d, "sold": s, "expected": e,
            "on_hand": h})
        for reason, ch, a, b, d, s, e, h in zip(
            runs["reason"], runs["channel"], runs["start"], runs["end"], runs["days"],
            runs["sold_units"], runs["expected_units"], runs["on_hand"], strict=True)
    ])
    identity = pd.to_datetime(runs["start"]).dt.date.astype(str)
    return _alerts(kind, out, identity)


def rank_severity(values: pd.Series, config: PlanningConfig) -> pd.Series:
    """critical / high / medium / low by value at risk (thresholds, or this run's quantiles)."""
    values = values.astype(float).fillna(0.0)
    if config.severity_thresholds is not None:
        cuts = np.asarray(config.severity_thresholds, dtype=float)
    elif len(values):
        cuts = np.quantile(values, config.severity_quantiles)
    else:
        cuts = np.zeros(3)
    level = np.select(
        [values >= cuts[0], values >= cuts[1], values >= cuts[2]], list(SEVERITIES[:3]), "low"
    )
    # Nothing at stake is never more than low, whatever the quantiles say.
    return pd.Series(np.where(values > 0, level, "low"), index=values.index)


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
) -> pd.DataFrame:
    """Every alert of a run (:data:`ALERT_COLUMNS`), most severe and valuable first.

    ``data_quality`` (the forecast's suspected stockouts) raises ``suspected_stockout``
    alerts (:func:`data_quality_alerts`).

    ``items`` has one row per SKU with :data:`ALERT_ITEM_COLUMNS`; receipts are ``sku, date,
    qty`` frames of open orders and of this run's orders; ``plan_alerts`` are alerts the
    planning run raised itself (:data:`PLAN_ALERT_KINDS`, made with :func:`alert_rows`).
    """
    receipts = pd.concat([open_receipts, planned_receipts], ignore_index=True)
    parts = [
        stockout_alerts(items, scenarios, open_receipts, as_of, config),
        overstock_alerts(items, scenarios, open_receipts, as_of, config),
        event_alerts(items, scenarios, receipts, promotions, livestreams, as_of, config),
        supplier_alerts(exceptions, items),
        data_quality_alerts(data_quality, items, as_of),
        plan_alerts if plan_alerts is not None else pd.DataFrame(columns=ALERT_COLUMNS),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["value_at_risk"] = out["value_at_risk"].astype(float).round(2)
    out["severity"] = rank_severity(out["value_at_risk"], config)
    rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    order = np.lexsort((out["alert_id"], -out["value_at_risk"].to_numpy(), rank.to_numpy()))
    return out.iloc[order].reset_index(drop=True)
