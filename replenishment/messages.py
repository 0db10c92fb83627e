"""The sentences the planning core writes (alert and exception messages), as a message id and
its parameters, so the layer that shows them can put them in the planner's language.

Every sentence is a :class:`Message`: an id (a key of :data:`MESSAGES`) and parameters.
:data:`MESSAGES` holds each id's English template, in :meth:`str.format` syntax with the
number formats inside the braces (``{probability:.0%}``); the English template is also the
gettext message id a catalog translates (``flows/locale/<locale>/LC_MESSAGES``), so a
translation keeps the placeholders and their formats. Parameter values are numbers, text
(SKUs, suppliers, channels and ISO dates, shown as they are) or another message (a part of
the sentence that is itself translated, such as a cut's reason or an event's label).

Frames carry the English sentence in ``message`` (the core's default), the id in
``message_id`` and the parameters as a JSON object in ``message_params``; :func:`render`
writes the sentence again with any ``translate`` function (``gettext``), falling back to
the English template when a translation does not fit its parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ACTION_COLUMNS",
    "CUT_REASONS",
    "EFFECT_COLUMNS",
    "MESSAGES",
    "MESSAGE_COLUMNS",
    "TEXT_COLUMNS",
    "Message",
    "in_warehouse",
    "render",
    "render_frame",
    "with_messages",
]

MESSAGE_COLUMNS = ("message", "message_id", "message_params")
# An alert's recommended action and its expected effect, written the same way.
ACTION_COLUMNS = ("action", "action_id", "action_params")
EFFECT_COLUMNS = ("action_effect", "effect_id", "effect_params")
TEXT_COLUMNS = (MESSAGE_COLUMNS, ACTION_COLUMNS, EFFECT_COLUMNS)
# Why a firm order was cut (replenishment.ordering), as the cut alert names it.
CUT_REASONS = ("capacity", "budget", "volume", "capacity+budget", "capacity+volume",
               "budget+volume", "capacity+budget+volume")
_EXCEPTION_KINDS = ("commitment_shortfall", "commitment_over", "forecast_move",
                    "forecast_error")
_DQ_DETAIL = "on {channel} {start} to {end} ({days} days): sold {sold:,.0f} of an expected " \
             "{expected:,.0f} units"
_EVENT_DETAIL = ("{start} to {end}: expected demand {demand:,.1f} units, stock at its start "
                 "{available:,.1f} (on hand {on_hand:,.0f} + arriving {arriving:,.0f} - "
                 "expected sales before {before:,.1f})")

# What a planner should do about an alert (replenishment.alert_actions) and what it brings.
_ACTIONS = {
    "action.expedite_po": (
        "expedite PO {po} ({supplier}, {qty:,.0f} units due {eta}) to arrive by {need_by}, "
        "{days:g} days earlier"),
    "action.expedite_open": (
        "expedite the open order of {qty:,.0f} units due {eta} from {supplier} to arrive by "
        "{need_by}, {days:g} days earlier"),
    "action.rush_order": (
        "ask {supplier} to rush {units:,.0f} units to arrive by {need_by} instead of "
        "{arrival} (the normal lead time)"),
    "action.raise_order": (
        "raise this run's order to {supplier} by {units:,.0f} units (arrives {arrival})"),
    "action.cap_livestream": (
        "cap the livestream's units at {cap:,.0f} (planned {planned:,.0f}) so its orders do "
        "not exceed stock"),
    "action.move_stock": (
        "hold back {units:,.0f} units from other channels for {channel} before {start}"),
    "action.push_out_po": (
        "push out or cancel PO {po} ({supplier}, {qty:,.0f} units due {eta})"),
    "action.push_out_open": (
        "push out or cancel the open order of {qty:,.0f} units due {eta} from {supplier}"),
    "action.cut_order": "cut this run's order to {supplier} by {units:,.0f} units",
    "action.clear_overstock": (
        "clear {units:,.0f} units (markdown, bundles or an outlet channel)"),
    "action.clear_expiring": (
        "sell or clear {units:,.0f} units before they expire (markdown, bundles)"),
    "action.supplier_commit": (
        "ask {supplier} to commit the missing {units:,.0f} units for the week of {week}, or "
        "order them from another supplier"),
    "action.supplier_review": (
        "take the {kind} up with {supplier} ({units:,.0f} units apart from the week of "
        "{week})"),
    "action.review_forecast": (
        "review the forecast of {sku} with {supplier} ({units:,.0f} units apart from the week "
        "of {week})"),
    "action.more_capacity": (
        "ask {supplier} for capacity for {units:,.0f} more units, or order them from another "
        "supplier"),
    "action.raise_budget": "raise the budget by {value:,.0f} to fund {units:,.0f} more units",
    "action.fix_moq": (
        "agree an MOQ of at most {capacity:,.0f} units with {supplier}, or raise its capacity"),
    "action.approve_build_ahead": (
        "approve the {built:,.0f} units built ahead in the order of {first_order}"),
    "action.find_peak_units": (
        "find {short:,.0f} units for the peak beyond {supplier}'s capacity (another supplier "
        "or an earlier order)"),
    "action.launch_stock": (
        "secure launch stock of {sku} before {launch}: from open orders, or a rush order"),
    "action.add_plan": (
        "give {sku} a forecast or a launch plan (launch_units) so it can be planned"),
    "action.check_listing": "check the shop page and stock records of {sku} on {channel}",
    "action.refresh_sales": (
        "refresh the {channel} sales export (newest {newest}) and re-run before approving "
        "orders"),
}
_EFFECTS = {
    "effect.covers": (
        "covers about {units:,.0f} of the {short:,.0f} units short (sales of {value:,.0f})"),
    "effect.reallocates": (
        "{channel} gets {units:,.0f} more units for the event; other channels sell as many "
        "fewer"),
    "effect.no_oversell": (
        "avoids taking orders for {units:,.0f} units that cannot ship (sales of {value:,.0f} "
        "that would be refunded)"),
    "effect.less_excess": "takes {units:,.0f} units (cost {value:,.0f}) out of excess stock",
    "effect.avoid_writeoff": "avoids writing off {units:,.0f} units (cost {value:,.0f})",
    "effect.secures": "secures {units:,.0f} units (cost {value:,.0f})",
    "effect.saves_sales": "saves about {units:,.0f} units of lost sales ({value:,.0f})",
    "effect.orderable": "lets {sku} be ordered (forecast sales {value:,.0f})",
    "effect.planned": "{sku} is planned and ordered like the other SKUs",
    "effect.sales_resume": "sales resume at about {rate:,.1f} units a day",
    "effect.fresh_plan": "the plan sees the last {days:g} days of sales",
}

MESSAGES: dict[str, str] = {
    "stockout_risk": (
        "{probability:.0%} chance of running out before {arrival}, the earliest arrival of a "
        "new order ({lead_time:g} days); typically out on {out_on}; expected {short:,.1f} "
        "units short (on hand {on_hand:,.0f})"),
    "overstock": (
        "stock {stock:,.0f} units (on order {on_order:,.0f}, ordered now {ordered:,.0f}) covers "
        "{cover:,.0f} days (the coming peaks, then {rate:,.2f}/day outside events); "
        "{excess:,.0f} units above {threshold:g} days of cover"),
    "overstock_no_demand": (
        "stock {stock:,.0f} units (on order {on_order:,.0f}, ordered now {ordered:,.0f}) covers "
        "all expected demand (none forecast outside events, {rate:,.2f}/day); {excess:,.0f} "
        "units above {threshold:g} days of cover"),
    "expiry_risk": (
        "{expiring:,.0f} of {on_hand:,.0f} units on hand will not sell within their "
        "{shelf_life:g}-day shelf life (expected sales {sellable:,.1f}; assumes fresh stock, "
        "older stock expires sooner)"),
    "event_readiness": "{event} " + _EVENT_DETAIL,
    "event_readiness_channel": "{event} on {channel} " + _EVENT_DETAIL,
    "event.promotion": "promotion '{kind}'",
    "event.livestream": "livestream",
    "event.calendar": "event '{name}'",
    "event.livestream_host": "livestream with {host}",
    "commitment_shortfall": (
        "supplier {supplier} committed {actual:g} units of {sku} for the week of {week}, "
        "{deviation:.0%} short of the {expected:g} units forecast (tolerance {tolerance:.0%})"),
    "commitment_over": (
        "supplier {supplier} committed {actual:g} units of {sku} for the week of {week}, "
        "{excess:g} more than the {expected:g} units the order forecast asked for (tolerance "
        "{tolerance:.0%})"),
    "forecast_move": (
        "forecast of {sku} for the week of {week} moved {deviation:+.0%} since the previous "
        "run ({expected:,.1f} -> {actual:,.1f} units; tolerance {tolerance:.0%})"),
    "forecast_error": (
        "forecast of {sku} over the {weeks} week(s) from {week} missed sales by WAPE "
        "{deviation:.0%} (forecast {expected:,.1f}, sold {actual:,.1f} units; threshold "
        "{threshold:.0%})"),
    **{f"exception.{kind}": kind for kind in _EXCEPTION_KINDS},
    "supplier_exception": "{kind}: {detail}",
    "supplier_exception_weeks": "{kind}: {detail} (and {later} later week(s))",
    "stockout": ("stockout " + _DQ_DETAIL + " and none on hand; the forecast treats these "
                 "days as censored demand, not low demand"),
    "listing": ("suspected listing problem " + _DQ_DETAIL + " with {on_hand:,.0f} units on "
                "hand: check the shop page"),
    "dormant": ("no sales " + _DQ_DETAIL + "; too long to censor, so it is forecast as low "
                "demand: check the shop page, or mark the SKU discontinued"),
    "suspected_stockout": (
        "suspected stockout / listing problem " + _DQ_DETAIL + ": check the shop page and "
        "stock records; the forecast treats these days as censored demand"),
    "cut": (
        "{reason} binds at {supplier}: {sku} ordered {ordered:,.0f} of the {wanted:,.0f} "
        "units its target needs (capacity per order {capacity:,.0f}); unfunded "
        "{unfunded:,.0f} units, about {lost:,.1f} expected to be lost"),
    **{f"cut_reason.{reason}": reason for reason in CUT_REASONS},
    "moq_above_capacity": (
        "{sku} can never be ordered from {supplier}: its MOQ of {moq:,.0f} units is above the "
        "{capacity:,.0f} units one order may hold (capacity_units_per_week x capacity_weeks)"),
    "build_ahead": (
        "supplier capacity cannot hold a later peak of {sku}: {built:,.0f} units are built "
        "ahead (first in the order of {first_order})"),
    "build_ahead_short": (
        "supplier capacity cannot hold a later peak of {sku}: {built:,.0f} units are built "
        "ahead (first in the order of {first_order}); {short:,.0f} units fit in no order "
        "before the peak"),
    "data_freshness": (
        "the newest {channel} sales are from {newest}, {days:g} days before {as_of} (expected "
        "within {expected:g} days): the forecast and the orders miss the latest sales"),
    "launch_unplannable": (
        "launch of {sku} on {launch} cannot be planned: no launch_units in products, no "
        "analogous launch in its category ({category}) and no planned livestream"),
    "no_category": "none",
    "no_forecast": (
        "{sku} has no demand forecast and no launch plan (launch_date with launch_units, or a "
        "planned livestream): it is not planned"),
    "launch_late": (
        "{sku} launches on {launch}, before the earliest arrival of an order placed now "
        "({lead_days:g} days): launch stock must come from open orders"),
    # An alert of one channel stock pool: the pool's warehouse, then the alert's sentence.
    "in_warehouse": "{warehouse}: {detail}",
    **_ACTIONS,
    **_EFFECTS,
}


def _same(text: str) -> str:
    return text


def _plain(value: object) -> object:
    """A JSON-ready parameter: numbers, text, ISO dates, nested messages."""
    if isinstance(value, Message):
        return {"id": value.id, "params": value.params}
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, datetime | date | np.datetime64):
        return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
    return value if value is None else str(value)


@dataclass(frozen=True)
class Message:
    """One sentence: its id (a key of :data:`MESSAGES`) and its parameters."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.id not in MESSAGES:
            raise KeyError(f"unknown message id {self.id!r}")
        object.__setattr__(self, "params", {k: _plain(v) for k, v in self.params.items()})

    def text(self, translate: Callable[[str], str] = _same) -> str:
        """The sentence, in English or through ``translate`` (a ``gettext``)."""
        return render(self.id, self.params, translate)

    def as_json(self) -> str:
        return json.dumps(self.params, ensure_ascii=False, sort_keys=True)


def _value(value: object, translate: Callable[[str], str]) -> object:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return render(value["id"], value.get("params") or {}, translate)
    return value


def render(message_id: str, params: Mapping[str, Any],
           translate: Callable[[str], str] = _same) -> str:
    """The sentence of ``message_id`` with ``params`` (nested messages rendered first), in
    English or through ``translate``; a translation whose placeholders do not fit the
    parameters falls back to the English template."""
    english = MESSAGES[message_id]
    values = {k: _value(v, translate) for k, v in params.items()}
    try:
        return translate(english).format(**values)
    except (KeyError, IndexError, ValueError, TypeError):
        return english.format(**values)


def with_messages(frame: pd.DataFrame, messages: Sequence[Message | None],
                  columns: Sequence[str] = MESSAGE_COLUMNS) -> pd.DataFrame:
    """``frame`` with ``columns`` (text, id, JSON parameters; :data:`MESSAGE_COLUMNS` by
    default, or :data:`ACTION_COLUMNS` / :data:`EFFECT_COLUMNS`) set from ``messages``, one
    per row; None leaves the row's three cells empty."""
    text, ids, params = columns
    return frame.assign(**{
        text: [m.text() if m else "" for m in messages],
        ids: [m.id if m else "" for m in messages],
        params: [m.as_json() if m else "" for m in messages],
    })


def _from_json(message_id: str, params: Mapping[str, Any]) -> Message:
    """The message of an id and its JSON parameters (nested messages as messages again)."""
    return Message(message_id, {
        k: _from_json(v["id"], v.get("params") or {})
        if isinstance(v, Mapping) and isinstance(v.get("id"), str) and v["id"] in MESSAGES
        else v for k, v in params.items()})


def in_warehouse(frame: pd.DataFrame, warehouse: str) -> pd.DataFrame:
    """``frame``'s sentences (:data:`MESSAGE_COLUMNS`) led by the stock pool's ``warehouse``
    (``京东FBP仓: 62% chance of running out...``): the id becomes ``in_warehouse`` with the
    sentence as its nested ``detail``, so it renders in any language; rows without a known
    id are led by the warehouse as plain text."""
    if frame.empty or not set(MESSAGE_COLUMNS) <= set(frame.columns):
        return frame
    messages: list[Message | None] = []
    plain: list[str] = []
    for text, message_id, params in zip(frame["message"], frame["message_id"],
                                        frame["message_params"], strict=True):
        values = json.loads(params) if isinstance(params, str) and params else {}
        known = isinstance(message_id, str) and message_id in MESSAGES
        messages.append(Message("in_warehouse", {
            "warehouse": warehouse, "detail": _from_json(str(message_id), values)})
            if known else None)
        plain.append(f"{warehouse}: {text}")
    out = with_messages(frame, messages)
    unknown = [m is None for m in messages]
    return out.assign(message=[p if u else m for p, u, m in
                               zip(plain, unknown, out["message"], strict=True)])


def _rendered(message: object, message_id: object, params: object,
              translate: Callable[[str], str]) -> object:
    if not isinstance(message_id, str) or message_id not in MESSAGES:
        return message
    try:
        values = json.loads(params) if isinstance(params, str) and params else {}
    except json.JSONDecodeError:
        return message
    if not isinstance(values, dict):
        return message
    return render(message_id, values, translate)


def render_frame(frame: pd.DataFrame, translate: Callable[[str], str]) -> pd.DataFrame:
    """``frame`` with each text column of :data:`TEXT_COLUMNS` it has (``message``, an
    alert's ``action`` and ``action_effect``) written again through ``translate`` from its id
    and parameters; rows without a known id keep their text."""
    if frame.empty:
        return frame
    out = frame
    for text, ids, params in TEXT_COLUMNS:
        if not {text, ids, params} <= set(frame.columns):
            continue
        out = out.assign(**{text: pd.Series([
            _rendered(m, i, p, translate)
            for m, i, p in zip(frame[text], frame[ids], frame[params], strict=True)
        ], index=frame.index, dtype=object)})
    return out
