"""One planning run: stock levels -> optimised orders -> order lines -> CPFR -> alerts.

:func:`plan` is pure: frames in, frames out. Writing the per-supplier files and storing the
run is the job of ``flows/``; :meth:`PlanResult.orders_by_supplier` and
:meth:`PlanResult.order_forecast_by_supplier` give the frames of those files.

Which stock counts where:

* levels: inventory position = on hand (all warehouses) + open orders arriving within the
  SKU's protection period (lead time + review) - backorders (none recorded by the contract);
* the order forecast and alerts place every open order on its arrival day (overdue ones on
  the first day), and this run's orders on ``as_of + lead time``.

SKUs are planned when the products table lists them and the forecast has scenarios for them;
the others are listed in :attr:`PlanResult.unplanned`. Discontinued products (``status``) are
never ordered but still get alerts. ABC classes (for SKUs without their own service level)
rank the forecast revenue over the horizon, so new SKUs are classed by what they will sell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from forecasting.contract import DataContractError, Problem
from forecasting.scenarios import DemandScenarios
from replenishment.alerts import ORDERABLE, build_alerts
from replenishment.config import PlanningConfig
from replenishment.contract import Dataset, SupplyData
from replenishment.cpfr import cpfr_exceptions, order_forecast
from replenishment.levels import StockLevels, stock_levels
from replenishment.optimizer import (
    OrderPlan,
    OrderProblem,
    SolveReport,
    optimize_orders,
    order_items,
    order_suppliers,
)
from replenishment.projection import PlanForecast, expected_daily_demand, scenario_offset
from replenishment.whatif import PlanOverrides, apply_overrides

__all__ = ["ORDER_COLUMNS", "STOPPED_STATUSES", "ForecastLike", "PlanResult", "plan",
           "planning_items"]

ORDER_COLUMNS = [
    "supplier", "sku", "name", "order_date", "qty", "case_pack", "expected_arrival",
    "unit_cost", "line_value", "on_hand", "on_order", "protection_demand", "safety_stock",
    "reorder_point", "order_up_to", "inventory_position", "service_level",
]
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
    with; ``unplanned``: listed products without a forecast.
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


def _optimise(levels: StockLevels, items: pd.DataFrame, supply: SupplyData,
              config: PlanningConfig) -> OrderPlan:
    opt_items, demand = order_items(levels, items, config)
    opt_items["max_qty"] = np.where(items[ORDERABLE].to_numpy(bool), math.inf, 0.0)
    used = supply.suppliers[supply.suppliers["supplier"].isin(set(items["supplier"]))]
    problem = OrderProblem(opt_items, demand, order_suppliers(used, config),
                           budget=config.budget, volume_cap_m3=config.warehouse_volume_m3)
    return optimize_orders(problem, config)


def _order_lines(plan_lines: pd.DataFrame, levels: pd.DataFrame, items: pd.DataFrame,
                 as_of: pd.Timestamp) -> pd.DataFrame:
    reasons = levels[["sku", "on_hand", "on_order", "protection_demand", "safety_stock",
                      "reorder_point", "order_up_to", "inventory_position", "service_level"]]
    name = items["name"] if "name" in items else pd.Series("", index=items.index)
    lines = plan_lines[["sku", "supplier", "qty", "case_pack", "unit_cost", "line_value"]]
    out = lines.merge(reasons, on="sku", how="left").merge(
        items[["sku", "lead_time_days"]].assign(name=name.fillna("")), on="sku", how="left"
    )
    out["order_date"] = as_of
    out["expected_arrival"] = as_of + pd.to_timedelta(np.ceil(out["lead_time_days"]), unit="D")
    for column in ("protection_demand", "safety_stock", "reorder_point", "order_up_to"):
        out[column] = out[column].round(2)
    out["qty"] = out["qty"].round().astype(int)
    out["line_value"] = out["line_value"].round(2)
    return out[ORDER_COLUMNS].sort_values(["supplier", "sku"]).reset_index(drop=True)


def _open_receipts(open_orders: pd.DataFrame) -> pd.DataFrame:
    return open_orders.rename(columns={"eta": "date"})[["sku", "date", "qty"]]


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
    (:class:`~replenishment.whatif.PlanOverrides`).

    Raises :class:`DataContractError` for unusable input and
    :class:`~replenishment.optimizer.InfeasiblePlanError` when the constraints conflict.
    """
    config = config or PlanningConfig()
    as_of = pd.Timestamp(as_of).normalize()
    demand = dataset.demand.until(as_of)
    inputs = PlanForecast(forecast.channel, forecast.sku, forecast.scenarios)
    supply = dataset.supply
    if overrides is not None:
        inputs, supply, config = apply_overrides(overrides, inputs, supply, demand.promotions,
                                                 config)
    _check_supply(supply)
    scenarios = inputs.scenarios
    items, unplanned = planning_items(supply, demand.sales, scenarios, as_of, config)
    levels = stock_levels(items, scenarios, config, start=scenario_offset(scenarios, as_of))
    table = levels.table
    items = items.assign(safety_stock=table["safety_stock"].to_numpy())
    result = _optimise(levels, items, supply, config)
    orders = _order_lines(result.lines, table, items, as_of)
    open_receipts = _open_receipts(supply.open_orders)
    planned = orders[["sku", "expected_arrival", "qty"]].rename(
        columns={"expected_arrival": "date"}
    )
    receipts = pd.concat([open_receipts, planned], ignore_index=True)
    projected = order_forecast(items, scenarios, receipts, as_of, config.order_forecast_weeks)
    exceptions = cpfr_exceptions(projected, supply.commitments, inputs.sku, previous,
                                 demand.sales, supply.products, as_of, config)
    alerts = build_alerts(items, scenarios, open_receipts, planned, demand.promotions,
                          demand.livestreams, exceptions, as_of, config)
    return PlanResult(
        orders=orders, order_forecast=projected, exceptions=exceptions, alerts=alerts,
        levels=table.merge(items[["sku", "supplier"]], on="sku"), suppliers=result.suppliers,
        report=result.report, forecast=inputs.sku, unplanned=unplanned,
    )
