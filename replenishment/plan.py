"""One planning run: time-phased projection -> orders over the horizon -> order lines ->
CPFR -> alerts.

:func:`plan` is pure: frames in, frames out. Writing the per-supplier files and storing the
run is the job of ``flows/``; :meth:`PlanResult.orders_by_supplier` and
:meth:`PlanResult.order_forecast_by_supplier` give the frames of those files.

One projection (:mod:`replenishment.phased`, day by day and per demand path, unmet demand
lost unless its channel is in ``backorder_channels``) is read by everything:

* the firm order (placed the morning after ``as_of``, arriving ``ceil(lead time)`` days
  later) covers its coverage window from its arrival to the next possible arrival, given the
  stock the projection expects at arrival (:mod:`replenishment.ordering`);
* every later review's order over the order-forecast window is sized the same way and shared
  with suppliers as the order forecast; when a peak needs more than a supplier's capacity,
  the excess is built ahead (:mod:`replenishment.multiperiod`) and an alert says so;
* alerts for cut lines, MOQs above capacity, launches and SKUs that cannot be planned come
  from the same run (:mod:`replenishment.plan_alerts`).

SKUs are planned when the products table lists them and the forecast (or, for launches, the
launch plan: :mod:`replenishment.launches`) has scenarios for them; the others are listed in
:attr:`PlanResult.unplanned` and raise an ``unplanned`` alert saying why. Discontinued
products (``status``) are never ordered, now or in the order forecast, but still get alerts.
ABC classes (for SKUs without their own service level) rank the forecast revenue over the
horizon, so new SKUs are classed by what they will sell.

The forecast should cover :func:`planning_horizon` days (the flows layer asks for it); past
its last day the paths continue at their last week's mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from forecasting.contract import DataContractError, DemandData, Problem
from forecasting.scenarios import DemandScenarios
from replenishment.alerts import ORDERABLE, SEVERITIES, build_alerts
from replenishment.closures import closed_days, makeup_workdays
from replenishment.config import PlanningConfig
from replenishment.contract import Dataset, SupplyData
from replenishment.cpfr import cpfr_exceptions, projected_order_forecast
from replenishment.freshness import freshness_alerts
from replenishment.launches import LAUNCH_COLUMNS, launch_scenarios
from replenishment.levels import prepare_items
from replenishment.messages import Message, in_warehouse
from replenishment.multiperiod import BuildAhead, build_ahead
from replenishment.optimizer import SolveReport
from replenishment.ordering import (
    LINE_EXPLANATION_COLUMNS,
    FirmDecision,
    explain_lines,
    optimise_firm,
    supplier_capacity,
    supplier_min_value,
    timeline_inputs,
)
from replenishment.phased import ReviewPlan, round_to_lots, schedule, target_need
from replenishment.plan_alerts import (
    build_ahead_alerts,
    cut_alerts,
    moq_capacity_alerts,
    unplanned_alerts,
)
from replenishment.pools import (
    TRANSFER_COLUMNS,
    Pool,
    PoolFold,
    StockPools,
    apply_transfers,
    fold_pools,
    keep_cheaper,
    propose_transfers,
    stock_pools,
    transfer_table,
    unfold,
)
from replenishment.projection import (
    PlanForecast,
    expected_daily_demand,
    scenario_offset,
    stable_id,
)
from replenishment.returns import restock_by_day, restocked_receipts
from replenishment.timeline import (
    TimelineInputs,
    firm_arrival,
    firm_needs,
    horizon_days,
    planning_horizon,
    receipts_by_day,
    review_plan,
)
from replenishment.whatif import (
    PlanOverrides,
    apply_overrides,
    parse_overrides,
    whatif_changes,
)

__all__ = ["ORDER_COLUMNS", "STOPPED_STATUSES", "ForecastLike", "PlanResult", "plan",
           "planning_horizon", "planning_items"]

ORDER_COLUMNS = [
    "supplier", "sku", "name", "order_date", "qty", "case_pack", "expected_arrival",
    "unit_cost", "line_value", "on_hand", "on_order", "protection_demand", "safety_stock",
    "reorder_point", "order_up_to", "inventory_position", "service_level",
]
"""Columns of every order line; each line also carries
:data:`replenishment.ordering.LINE_EXPLANATION_COLUMNS` after them."""
STOPPED_STATUSES = frozenset({"discontinued", "inactive", "delisted"})
_PRICE_DAYS = 90  # recent sales from which a missing list price is taken


class ForecastLike(Protocol):
    """What :func:`plan` reads from a forecast (``forecasting`` engine's ``ForecastResult``)."""

    @property
    def channel(self) -> pd.DataFrame: ...

    @property
    def sku(self) -> pd.DataFrame: ...

    @property
    def scenarios(self) -> DemandScenarios: ...


@dataclass(frozen=True)
class PlanResult:
    """Everything a planning run decided and why.

    ``orders``: one row per order line (:data:`ORDER_COLUMNS`); ``order_forecast``: per
    supplier, SKU and week (:data:`replenishment.cpfr.ORDER_FORECAST_COLUMNS`);
    ``exceptions`` and ``alerts``: see :mod:`replenishment.cpfr` and
    :mod:`replenishment.alerts`; ``levels``: stock levels of every planned SKU;
    ``suppliers``: per-supplier totals; ``report``: how the optimiser's solve went;
    ``forecast``: the SKU forecast the plan used (after overrides), to compare the next run
    with; ``unplanned``: listed products without a forecast; ``changes``: for a what-if
    plan, what it changed against the base plan
    (:func:`~replenishment.whatif.whatif_changes`; None for a plan without overrides).
    """

    orders: pd.DataFrame
    order_forecast: pd.DataFrame
    exceptions: pd.DataFrame
    alerts: pd.DataFrame
    levels: pd.DataFrame
    suppliers: pd.DataFrame
    report: SolveReport
    forecast: pd.DataFrame
    unplanned: list[str] = field(default_factory=list)
    launches: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LAUNCH_COLUMNS))
    changes: pd.DataFrame | None = None
    transfers: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=TRANSFER_COLUMNS))

    def orders_by_supplier(self) -> dict[str, pd.DataFrame]:
        """Order lines per supplier that receives an order."""
        return _by_supplier(self.orders)

    def order_forecast_by_supplier(self) -> dict[str, pd.DataFrame]:
        """Order forecast per supplier (every planned supplier, ordered this run or not)."""
        return _by_supplier(self.order_forecast)


def _by_supplier(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(name): part.reset_index(drop=True)
            for name, part in frame.groupby("supplier", sort=True)}


def _check_supply(supply: SupplyData) -> None:
    products = supply.products
    if products.empty:
        raise DataContractError([Problem(
            source="products", expected="a products table listing at least one SKU to plan"
        )])
    known = set(supply.suppliers["supplier"].dropna())
    unknown = ~products["supplier"].isin(known)
    if unknown.any():
        first = products[unknown].drop_duplicates("supplier")
        raise DataContractError([
            Problem(source="products", row=int(i) + 2, column="supplier", value=str(s),
                    expected="a supplier listed in suppliers with its lead_time_days")
            for i, s in zip(first.index, first["supplier"], strict=True)
        ])


def _prices(products: pd.DataFrame, sales: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """List price, else the recent average selling price, else the unit cost."""
    price = products["price"] if "price" in products else pd.Series(np.nan, products.index)
    if "price" in sales and not sales.empty:
        recent = sales[(sales["date"] > as_of - pd.Timedelta(days=_PRICE_DAYS))
                       & (sales["date"] <= as_of)]
        selling = recent.dropna(subset=["price"]).groupby("sku")["price"].mean()
        price = price.fillna(products["sku"].map(selling))
    return price.fillna(products["unit_cost"]).astype(float)


def planning_items(
    supply: SupplyData,
    sales: pd.DataFrame,
    scenarios: DemandScenarios,
    as_of: pd.Timestamp,
    config: PlanningConfig,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per plannable SKU with its product, supplier, stock and forecast revenue;
    and the listed SKUs that have no forecast."""
    products = supply.products.reset_index(drop=True)
    forecast_known = products["sku"].isin(set(scenarios.skus))
    unplanned = products.loc[~forecast_known, "sku"].tolist()
    items = products[forecast_known].copy()
    items["price"] = _prices(products, sales, as_of)[forecast_known]
    suppliers = supply.suppliers.drop_duplicates("supplier").set_index("supplier")
    for column in ("lead_time_days", "lead_time_std_days", "review_days"):
        items[column] = items["supplier"].map(suppliers[column]).astype(float)
    items["lead_time_std_days"] = items["lead_time_std_days"].fillna(0.0)
    items["review_days"] = items["review_days"].fillna(float(config.review_days))
    items["on_hand"] = items["sku"].map(supply.inventory.groupby("sku")["on_hand"].sum())
    items["on_hand"] = items["on_hand"].fillna(0.0)
    items["backorders"] = 0.0
    protection = items["lead_time_days"] + items["review_days"]
    horizon = as_of + pd.to_timedelta(protection, unit="D")
    open_orders = supply.open_orders
    arrival = items[["sku"]].assign(_until=horizon).merge(open_orders, on="sku")
    within = arrival[arrival["eta"] <= arrival["_until"]].groupby("sku")["qty"].sum()
    items["on_order"] = items["sku"].map(within).fillna(0.0)
    offset = scenario_offset(scenarios, as_of)
    days = max(len(scenarios.dates) - offset, 1)
    expected = expected_daily_demand(scenarios, offset, days).sum(axis=1)
    units = pd.Series(expected, index=scenarios.skus)
    items["revenue"] = items["sku"].map(units).to_numpy() * items["price"].to_numpy()
    status = items["status"] if "status" in items else pd.Series("", index=items.index)
    items[ORDERABLE] = ~status.astype(str).str.lower().isin(STOPPED_STATUSES)
    return items.reset_index(drop=True), unplanned


def _open_receipts(open_orders: pd.DataFrame) -> pd.DataFrame:
    return open_orders.rename(columns={"eta": "date"})[["sku", "date", "qty"]]


def _backorder_share(channel: pd.DataFrame, skus: pd.Series, config: PlanningConfig,
                     ) -> np.ndarray:
    """Share of each SKU's forecast on channels whose customers wait (``backorder_channels``)."""
    if not config.backorder_channels or channel.empty or "channel" not in channel:
        return np.zeros(len(skus))
    total = channel.groupby("sku")["forecast"].sum()
    waiting = channel[channel["channel"].isin(config.backorder_channels)]
    share = waiting.groupby("sku")["forecast"].sum() / total.clip(lower=1e-9)
    return skus.map(share).fillna(0.0).clip(0.0, 1.0).to_numpy(float)


@dataclass(frozen=True)
class _Phased:
    items: pd.DataFrame
    inputs: TimelineInputs
    lines: pd.DataFrame
    decision: FirmDecision
    built: BuildAhead
    final: ReviewPlan
    capacity: np.ndarray
    suppliers: pd.Index
    receipts: np.ndarray
    days: int


def _closed(items: pd.DataFrame, supply: SupplyData, events: pd.DataFrame | None,
            as_of: pd.Timestamp) -> np.ndarray | None:
    """Per SKU and day from ``as_of + 1``, whether its supplier is closed
    (``supplier_closures``; make-up workdays from ``events``); None without closures."""
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    workdays = makeup_workdays(events) if events is not None else None
    return closed_days(supply.supplier_closures, items["supplier"].astype(str).tolist(),
                       first_day, workdays)


def _phased(items: pd.DataFrame, scenarios: DemandScenarios, inputs_channel: pd.DataFrame,
            supply: SupplyData, as_of: pd.Timestamp, config: PlanningConfig,
            events: pd.DataFrame | None = None,
            returns: pd.DataFrame | None = None,
            transfers: pd.DataFrame | None = None) -> _Phased:
    frame = prepare_items(items, config)
    items = items.assign(service_level=frame["service_level"].to_numpy())
    if "abc_class" in frame:
        items["abc_class"] = frame["abc_class"].to_numpy()
    rows = scenarios.skus.get_indexer(pd.Index(items["sku"]))
    share = _backorder_share(inputs_channel, items["sku"], config)
    inputs = timeline_inputs(frame.assign(case_pack=items["case_pack"].to_numpy(),
                                          moq=items["moq"].to_numpy(),
                                          **{ORDERABLE: items[ORDERABLE].to_numpy()}),
                             rows, share)
    inputs = replace(inputs, closed=_closed(items, supply, events, as_of))
    offset = scenario_offset(scenarios, as_of)
    days = horizon_days(inputs, config)
    skus = pd.Index(items["sku"])
    receipts = receipts_by_day(_open_receipts(supply.open_orders), skus, as_of, days)
    incoming = receipts + restock_by_day(returns, skus, as_of, days)  # customer returns
    if transfers is not None:  # stock moved in from another pool
        incoming = incoming + receipts_by_day(transfers, skus, as_of, days)
    firm = firm_needs(inputs, scenarios, offset, incoming, config)
    fill_rate = config.service_target == "fill_rate"
    target = target_need(firm.need, inputs.level, firm.cover.mean(axis=1), fill_rate)
    first = round_to_lots(target, inputs.case_pack, inputs.moq) * inputs.orderable
    suppliers = pd.Index(sorted(set(items["supplier"])))
    capacity = supplier_capacity(supply, suppliers, config)
    unconstrained = review_plan(inputs, scenarios, offset, incoming, days, config,
                                _fixed_first(first, len(items), days, inputs))
    unit_cost = items["unit_cost"].to_numpy(float)
    built = build_ahead(unconstrained.qty, suppliers.get_indexer(pd.Index(items["supplier"])),
                        capacity, inputs.case_pack, unit_cost * config.holding_cost_rate,
                        items["price"].fillna(items["unit_cost"]).to_numpy(float),
                        moq=inputs.moq, unit_cost=unit_cost,
                        min_order_value=supplier_min_value(supply, suppliers))
    decision = optimise_firm(items, inputs, firm, target, built, supply, suppliers, config,
                             _demand_after_arrival(unconstrained, inputs, config))
    fixed = built.qty.copy()
    fixed[:, 0] = decision.plan.items["qty"].to_numpy(float)
    final = review_plan(inputs, scenarios, offset, incoming, days, config, fixed)
    lines = explain_lines(decision, items, firm, inputs, capacity, suppliers, as_of, config)
    return _Phased(items, inputs, lines, decision, built, final, capacity, suppliers,
                   receipts, days)


def _demand_after_arrival(plan: ReviewPlan, inputs: TimelineInputs,
                          config: PlanningConfig) -> np.ndarray:
    """Expected demand per SKU over ``overstock_days`` from the firm order's arrival (past
    the projected days at the last projected week's rate)."""
    daily = plan.daily_demand
    days = daily.shape[1]
    start = np.minimum(firm_arrival(inputs)[0], days)
    span = int(np.ceil(config.overstock_days))
    cum = np.concatenate([np.zeros((len(daily), 1)), np.cumsum(daily, axis=1)], axis=1)
    end = np.minimum(start + span, days)
    rows = np.arange(len(daily))
    inside = cum[rows, end] - cum[rows, start]
    rate = daily[:, -7:].mean(axis=1) if days else np.zeros(len(daily))
    return np.asarray(inside + rate * (start + span - end))


def _fixed_first(first: np.ndarray, n: int, days: int, inputs: TimelineInputs) -> np.ndarray:
    lead = np.ceil(inputs.lead - 1e-9).astype(int)
    reviews = schedule(lead, np.maximum(np.round(inputs.review), 1).astype(int), days).shape[1]
    fixed = np.full((n, reviews), np.nan)
    fixed[:, 0] = first
    return fixed


def _order_rows(phased: _Phased, as_of: pd.Timestamp) -> pd.DataFrame:
    """The order lines (:data:`ORDER_COLUMNS`) of the SKUs ordered."""
    items, lines = phased.items, phased.lines
    table = phased.decision.plan.items
    out = lines.assign(
        name=items["name"].fillna("").to_numpy() if "name" in items else "",
        case_pack=table["case_pack"].to_numpy(), unit_cost=table["unit_cost"].to_numpy(),
        line_value=table["line_value"].to_numpy(), on_hand=items["on_hand"].to_numpy(),
        on_order=lines["receipts_in_window"].to_numpy(),
        service_level=items["service_level"].to_numpy(),
    )
    out = out[out["qty"] > 0].copy()
    for column in ORDER_COLUMNS + LINE_EXPLANATION_COLUMNS:
        if out[column].dtype.kind == "f":
            out[column] = out[column].round(2)
    out["qty"] = out["qty"].round().astype(int)
    return out[ORDER_COLUMNS + LINE_EXPLANATION_COLUMNS].sort_values(
        ["supplier", "sku"]).reset_index(drop=True)


def _levels(phased: _Phased) -> pd.DataFrame:
    """Stock levels per planned SKU: the firm order's window and target, and the need its
    firm order leaves unfunded (capacity, budget or volume cut; also for SKUs cut to
    nothing, which have no order line) with the sales value that puts at risk."""
    items, lines = phased.items, phased.lines
    inputs = phased.inputs
    out = pd.DataFrame({
        "sku": items["sku"].to_numpy(), "supplier": items["supplier"].to_numpy(),
        "on_hand": inputs.on_hand, "on_order": lines["receipts_in_window"].to_numpy(),
        "backorders": 0.0, "inventory_position": lines["inventory_position"].to_numpy(),
        "lead_time_days": inputs.lead, "lead_time_std_days": inputs.lead_std,
        "review_days": inputs.review, "protection_days": inputs.lead + inputs.review,
        "service_level": inputs.level,
        "abc_class": items["abc_class"].to_numpy() if "abc_class" in items else "",
        "lead_time_demand": lines["demand_before_arrival"].to_numpy(),
        "protection_demand": lines["protection_demand"].to_numpy(),
        "safety_stock": lines["safety_stock"].to_numpy(),
        "reorder_point": lines["reorder_point"].to_numpy(),
        "order_up_to": lines["order_up_to"].to_numpy(),
        "raw_need": lines["need"].to_numpy(),
        "stock_at_arrival": lines["stock_at_arrival"].to_numpy(),
        "lost_before_arrival": lines["lost_before_arrival"].to_numpy(),
        "unfunded_units": lines["cut"].to_numpy(),
        "unfunded_value": lines["unfunded_value"].to_numpy(),
        "value_at_risk": lines["value_at_risk"].to_numpy(),
        "cut_reason": lines["cut_reason"].to_numpy(),
        "expected_shortage": lines["expected_shortage"].to_numpy(),
    })
    return out


def _daily_receipts(phased: _Phased) -> tuple[np.ndarray, np.ndarray]:
    """Scheduled (open orders and this run's orders) and planned receipts per SKU and day."""
    final = phased.final
    n, days = len(phased.items), phased.days
    scheduled = phased.receipts.copy()
    planned = np.zeros((n, days))
    rows, cols = np.nonzero(final.arrival >= 0)
    target = np.where(cols == 0, 0, 1)
    for r, c, kind in zip(rows, cols, target, strict=True):
        (scheduled if kind == 0 else planned)[r, final.arrival[r, c]] += final.qty[r, c]
    return scheduled, planned


def _planned_orders(phased: _Phased, as_of: pd.Timestamp) -> pd.DataFrame:
    """``sku, date, qty`` of every receipt this run orders or plans (for the alerts)."""
    final = phased.final
    rows, cols = np.nonzero((final.arrival >= 0) & (final.qty > 0))
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    return pd.DataFrame({
        "sku": phased.items["sku"].to_numpy()[rows],
        "date": first_day + pd.to_timedelta(final.arrival[rows, cols], unit="D"),
        "qty": final.qty[rows, cols],
    })


def _review_order_dates(phased: _Phased, as_of: pd.Timestamp) -> np.ndarray:
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    reviews = phased.final.arrival.shape[1]
    offsets = phased.inputs.review[:, None] * np.arange(reviews)[None, :]
    return np.asarray(first_day + pd.to_timedelta(offsets.reshape(-1), unit="D")).reshape(
        offsets.shape)


@dataclass(frozen=True)
class _Moved:
    """The transfers a run proposes (:data:`TRANSFER_COLUMNS`) and their arrivals in the
    short pools (``sku, date, qty`` by row key; None: none)."""

    table: pd.DataFrame
    arriving: pd.DataFrame | None


def _firm(phased: _Phased, column: str) -> pd.Series:
    """A column of the firm order per row key (``qty``, ``line_value``)."""
    return pd.Series(phased.decision.plan.items[column].to_numpy(float),
                     index=pd.Index(phased.items["sku"]))


def _pooled(fold: PoolFold, supply: SupplyData, as_of: pd.Timestamp, config: PlanningConfig,
            events: pd.DataFrame | None, pools: StockPools) -> tuple[_Phased, _Moved]:
    """The plan per (SKU, pool), with the transfers that cost less than the purchases they
    avoid (:mod:`replenishment.pools`: at most three plans, each dropping the transfers
    into a pool where they did not pay)."""
    supply = replace(supply, open_orders=fold.open_orders)

    def run(items: pd.DataFrame, arriving: pd.DataFrame | None) -> _Phased:
        return _phased(items, fold.scenarios, fold.channel, supply, as_of, config, events,
                       fold.returns, arriving)

    first = run(fold.items, None)
    kept = propose_transfers(first.items, first.decision.target, _firm(first, "qty").to_numpy(),
                             firm_arrival(first.inputs)[0], first.final.daily_lost, pools)
    while not kept.empty:
        items, arriving = apply_transfers(fold.items, kept, as_of)
        phased = run(items, arriving)
        cheaper = keep_cheaper(kept, _firm(first, "line_value"), _firm(phased, "line_value"))
        if len(cheaper) == len(kept):
            table = transfer_table(kept, fold.items, _firm(first, "qty"), _firm(phased, "qty"),
                                   as_of)
            return phased, _Moved(table, arriving)
        kept = cheaper
    return first, _Moved(pd.DataFrame(columns=TRANSFER_COLUMNS), None)


def _sku_weeks(projected: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The order forecast per (SKU, pool) summed per SKU (a week is frozen when it is for
    any of its pools)."""
    frame = unfold(projected, items).drop(columns="warehouse")
    keys = ["supplier", "sku", "week"]
    how = {c: ("max" if c == "frozen" else "first" if c == "days" else "sum")
           for c in projected.columns if c not in keys}
    return frame.groupby(keys, as_index=False, sort=True).agg(how)[list(projected.columns)]


def _sku_rows(items: pd.DataFrame) -> pd.DataFrame:
    """One row per SKU (its first pool's) under its own code."""
    if "item_sku" not in items:
        return items
    return items.drop_duplicates("item_sku").assign(sku=lambda f: f["item_sku"])


def _with(receipts: pd.DataFrame, more: pd.DataFrame | None) -> pd.DataFrame:
    return receipts if more is None else pd.concat([receipts, more], ignore_index=True)


@dataclass(frozen=True)
class _AlertContext:
    """What the alerts of every pool read besides their rows; frames by row key."""

    demand: DemandData
    exceptions: pd.DataFrame
    orders: pd.DataFrame
    shared: list[pd.DataFrame]  # SKU-level plan alerts: moq, unplanned, launch, freshness
    planned: pd.DataFrame
    data_quality: pd.DataFrame | None
    open_orders: pd.DataFrame
    restocks: pd.DataFrame
    as_of: pd.Timestamp
    config: PlanningConfig


def _alerts(phased: _Phased, items: pd.DataFrame, scenarios: DemandScenarios,
            context: _AlertContext, pools: StockPools | None) -> pd.DataFrame:
    """The run's alerts: once, or per pool (each with its stock, demand, orders and the
    events and data of its channels; SKU-level alerts with the main pool), most severe and
    valuable first."""
    if pools is None:
        return _view_alerts(phased, items, scenarios, context, None, None)
    parts = [_view_alerts(phased, items, scenarios, context, pools, p) for p in pools.pools]
    out = pd.concat([p for p in parts if not p.empty] or parts, ignore_index=True)
    rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    order = np.lexsort((out["alert_id"], -out["value_at_risk"].to_numpy(float),
                        rank.to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _view_alerts(phased: _Phased, items: pd.DataFrame, scenarios: DemandScenarios,
                 context: _AlertContext, pools: StockPools | None,
                 pool: Pool | None) -> pd.DataFrame:
    """The alerts of one pool (``pool`` None: the one pool of a run without a mapping)."""
    main = pool is None or pools is None or pool.name == pools.main.name
    mask = (np.ones(len(items), bool) if pool is None
            else (items["warehouse"] == pool.name).to_numpy())
    view = _View(items, mask, pool)
    own = [cut_alerts(view.rows(phased.lines), view.items(), phased.capacity,
                      phased.suppliers),
           *(context.shared[:1] if main else []),
           build_ahead_alerts(view.items(), phased.built.ahead[mask],
                              phased.built.short[mask],
                              _review_order_dates(phased, context.as_of)[mask], context.as_of),
           *(context.shared[1:] if main else [])]
    own = [a for a in own if not a.empty]
    demand, as_of = context.demand, context.as_of
    alerts = build_alerts(
        view.items(), view.scenarios(scenarios), view.rows(context.open_orders),
        view.rows(context.planned), view.served(demand.promotions, pools),
        view.served(demand.livestreams, pools),
        context.exceptions if main else context.exceptions.iloc[0:0], as_of, context.config,
        pd.concat(own, ignore_index=True) if own else None,
        data_quality=(None if context.data_quality is None
                      else view.served(context.data_quality, pools)),
        events=view.served(demand.events, pools),
        firm_orders=view.rows(context.orders)[["sku", "qty"]],
        restocks=view.rows(context.restocks))
    if pool is None or alerts.empty:
        return alerts
    ids = [stable_id(a, pool.name) for a in alerts["alert_id"]]
    # Each sentence names its pool: "京东FBP仓: 62% chance of running out..."
    return in_warehouse(alerts.assign(alert_id=ids, warehouse=pool.name), pool.name)


@dataclass(frozen=True)
class _View:
    """One pool's rows under their SKU codes (``pool`` None: every row, as they are)."""

    all_items: pd.DataFrame
    mask: np.ndarray
    pool: Pool | None

    def items(self) -> pd.DataFrame:
        return self.rows(self.all_items)

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``frame`` keyed by a row of this pool, under their SKU codes."""
        if self.pool is None:
            return frame
        items = self.all_items[self.mask]
        codes = dict(zip(items["sku"], items["item_sku"], strict=True))
        part = frame[frame["sku"].isin(codes.keys())]
        return part.assign(sku=part["sku"].map(codes)).reset_index(drop=True)

    def scenarios(self, scenarios: DemandScenarios) -> DemandScenarios:
        if self.pool is None:
            return scenarios
        codes = pd.Index(self.all_items.loc[self.mask, "item_sku"])
        return DemandScenarios(codes, scenarios.dates, scenarios.paths[self.mask])

    def served(self, frame: pd.DataFrame, pools: StockPools | None) -> pd.DataFrame:
        """Rows of a channel table this pool serves (rows for no channel: every pool)."""
        if self.pool is None or pools is None or "channel" not in frame:
            return frame
        channel = frame["channel"]
        blank = channel.isna() | (channel.astype(str).str.strip() == "")
        mine = pools.of_channels(channel.fillna("")) == self.pool.name
        return frame[blank | mine].reset_index(drop=True)


def plan(
    dataset: Dataset,
    forecast: ForecastLike,
    config: PlanningConfig | None,
    as_of: pd.Timestamp | str,
    previous: pd.DataFrame | None = None,
    overrides: PlanOverrides | Mapping[str, Any] | None = None,
) -> PlanResult:
    """Plan orders, the order forecast, exceptions and alerts as of ``as_of``.

    ``forecast`` starts on ``as_of + 1`` day or earlier (days before are skipped);
    ``previous`` is the previous run's SKU forecast (``sku, date, forecast``) for the
    forecast-move and forecast-error exceptions; ``overrides`` a what-if
    (:class:`~replenishment.whatif.PlanOverrides`): the base plan (no overrides) is planned
    too, and :attr:`PlanResult.changes` says what the what-if changed (twice the time).

    Raises :class:`DataContractError` for unusable input and
    :class:`~replenishment.optimizer.InfeasiblePlanError` when the constraints conflict.
    """
    config = config or PlanningConfig()
    as_of = pd.Timestamp(as_of).normalize()
    if overrides is not None:
        overrides = parse_overrides(overrides)  # a malformed what-if fails before the base
        base = plan(dataset, forecast, config, as_of, previous)
        result = _plan(dataset, forecast, config, as_of, previous, overrides)
        changes = whatif_changes(base.orders, base.levels, result.orders, result.levels)
        return replace(result, changes=changes)
    return _plan(dataset, forecast, config, as_of, previous, None)


def _plan(dataset: Dataset, forecast: ForecastLike, config: PlanningConfig,
          as_of: pd.Timestamp, previous: pd.DataFrame | None,
          overrides: PlanOverrides | Mapping[str, Any] | None) -> PlanResult:
    """One planning run (see :func:`plan`)."""
    demand = dataset.demand.until(as_of)
    inputs = PlanForecast(forecast.channel, forecast.sku, forecast.scenarios)
    supply = dataset.supply
    if overrides is not None:
        inputs, supply, config = apply_overrides(overrides, inputs, supply, demand.promotions,
                                                 config)
    _check_supply(supply)
    lead = supply.suppliers.drop_duplicates("supplier").set_index("supplier")["lead_time_days"]
    lead_days = pd.Series(supply.products["supplier"].map(lead).to_numpy(float),
                          index=supply.products["sku"].astype(str))
    launched = launch_scenarios(supply.products, demand.sales, demand.livestreams,
                                inputs.scenarios, as_of,
                                planning_horizon(supply.suppliers, config), config.seed,
                                lead_days)
    scenarios = launched.scenarios
    items, unplanned = planning_items(supply, demand.sales, scenarios, as_of, config)
    returns = getattr(forecast, "returns", None)
    pools = stock_pools(supply.warehouses)
    moved = _Moved(pd.DataFrame(columns=TRANSFER_COLUMNS), None)
    if pools is None:
        phased = _phased(items, scenarios, inputs.channel, supply, as_of, config,
                         demand.events, returns)
    else:
        fold = fold_pools(items, scenarios, inputs.channel, supply.inventory,
                          supply.open_orders, returns, pools, as_of)
        phased, moved = _pooled(fold, supply, as_of, config, demand.events, pools)
        scenarios, returns = fold.scenarios, fold.returns
        supply = replace(supply, open_orders=fold.open_orders)
    items = phased.items.assign(safety_stock=phased.lines["safety_stock"].to_numpy())
    orders = _order_rows(phased, as_of)
    scheduled, planned = _daily_receipts(phased)
    final = phased.final
    projected = projected_order_forecast(items, scheduled, planned, final.daily_on_hand,
                                         final.daily_demand, final.daily_lost, as_of,
                                         config.order_forecast_weeks)
    if pools is not None:  # suppliers and their commitments see SKU totals
        projected = _sku_weeks(projected, items)
    exceptions = cpfr_exceptions(projected, supply.commitments, inputs.sku, previous,
                                 demand.sales, supply.products, as_of, config)
    shared = [
        moq_capacity_alerts(_sku_rows(items), phased.capacity, phased.suppliers, as_of),
        unplanned_alerts(supply.products, {**launched.unplannable, **{
            s: Message("no_forecast", {"sku": s}) for s in unplanned
            if s not in launched.unplannable}}, "unplanned", as_of),
        unplanned_alerts(supply.products, launched.late, "launch", as_of),
        freshness_alerts(demand.sales, as_of, config),
    ]
    context = _AlertContext(
        demand=demand, exceptions=exceptions, orders=orders, shared=shared,
        planned=_planned_orders(phased, as_of), data_quality=getattr(forecast, "data_quality",
                                                                    None),
        # Open orders keep their PO number and supplier: an alert's action may name them.
        open_orders=supply.open_orders.rename(columns={"eta": "date"}),
        restocks=_with(restocked_receipts(returns, as_of), moved.arriving),
        as_of=as_of, config=config)
    alerts = _alerts(phased, items, scenarios, context, pools)
    levels = _levels(phased)
    if pools is not None:
        orders = unfold(orders, items).sort_values(["supplier", "sku", "warehouse"]
                                                   ).reset_index(drop=True)
        levels = unfold(levels, items)
    return PlanResult(
        orders=orders, order_forecast=projected, exceptions=exceptions, alerts=alerts,
        levels=levels, suppliers=phased.decision.plan.suppliers,
        report=phased.decision.plan.report, forecast=inputs.sku, unplanned=unplanned,
        launches=launched.table, transfers=moved.table,
    )
