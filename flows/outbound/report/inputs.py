"""What a run report is made from: the run's frames, typed and checked before rendering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from forecasting.contract import DataContractError, Problem

if TYPE_CHECKING:
    from replenishment.contract import Dataset
    from replenishment.plan import ForecastLike, PlanResult

__all__ = ["REQUIRED_COLUMNS", "ReportInputs", "check_inputs", "report_inputs"]

# Columns each frame must have (others are ignored). Empty frames need no columns.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "sales": ("date", "sku", "units"),
    "forecast_sku": ("sku", "date", "forecast", "p50", "p95"),
    "levels": ("sku", "on_hand", "safety_stock", "reorder_point"),
    "orders": ("supplier", "sku", "qty", "expected_arrival", "line_value"),
    "alerts": ("alert_id", "kind", "severity", "sku", "date", "message", "value_at_risk"),
    "open_orders": ("sku", "qty", "eta"),
    "products": ("sku", "name"),
    "accuracy": ("run_id", "as_of", "wape", "bias"),
    "transfers": ("sku", "from_warehouse", "to_warehouse", "qty", "expected_arrival"),
}


def _empty() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True)
class ReportInputs:
    """One planning run, as the report shows it.

    - ``sales``: ``date, sku, units`` (any channels; ``stockout`` 0/1 optional);
    - ``forecast_sku``: ``sku, date, forecast, p50, p95`` (``ForecastResult.sku``);
    - ``levels``: per SKU ``sku, on_hand, safety_stock, reorder_point`` and optionally
      ``on_order, order_up_to, protection_demand, supplier`` (``PlanResult.levels``);
    - ``orders``: this run's order lines ``supplier, sku, qty, expected_arrival, line_value``
      (``PlanResult.orders``);
    - ``alerts``: ``alert_id, kind, severity, sku, date, message, value_at_risk``;
    - ``open_orders``: orders already placed, ``sku, qty, eta`` (``supplier`` optional);
    - ``products``: ``sku, name`` for display (names also come from ``orders``);
    - ``accuracy``: earlier runs' accuracy, from :func:`flows.outbound.report.recent_accuracy`;
    - ``links``: label -> relative path or URL of the run's other files;
    - ``expected_fill_rate``: the plan's expected fill rate (0-1), when known;
    - ``transfers``: stock moves between channel stock pools the plan proposes
      (``PlanResult.transfers``: ``sku, from_warehouse, to_warehouse, qty,
      expected_arrival`` and the cost and purchase avoided).

    With stock pools, ``orders`` and ``alerts`` have a ``warehouse`` column (the ship-to
    pool), which the report shows.
    """

    brand: str
    as_of: date | pd.Timestamp | str
    run_id: str
    sales: pd.DataFrame = field(default_factory=_empty)
    forecast_sku: pd.DataFrame = field(default_factory=_empty)
    levels: pd.DataFrame = field(default_factory=_empty)
    orders: pd.DataFrame = field(default_factory=_empty)
    alerts: pd.DataFrame = field(default_factory=_empty)
    forecast_channel: pd.DataFrame = field(default_factory=_empty)
    open_orders: pd.DataFrame = field(default_factory=_empty)
    products: pd.DataFrame = field(default_factory=_empty)
    accuracy: pd.DataFrame = field(default_factory=_empty)
    links: Mapping[str, str] = field(default_factory=dict)
    expected_fill_rate: float | None = None
    transfers: pd.DataFrame = field(default_factory=_empty)


def check_inputs(inputs: ReportInputs) -> None:
    """Raise :class:`DataContractError` naming every missing column of a non-empty frame."""
    problems = []
    for name, columns in REQUIRED_COLUMNS.items():
        frame = getattr(inputs, name)
        if not isinstance(frame, pd.DataFrame):
            problems.append(Problem(source=f"report input {name}", value=type(frame).__name__,
                                    expected="a pandas DataFrame"))
            continue
        if frame.empty and len(frame.columns) == 0:
            continue
        problems += [
            Problem(source=f"report input {name}", column=column,
                    expected=f"a '{column}' column (has: {', '.join(map(str, frame.columns))})")
            for column in columns if column not in frame.columns
        ]
    rate = inputs.expected_fill_rate
    if rate is not None and not 0 <= rate <= 1:
        problems.append(Problem(source="report input", column="expected_fill_rate",
                                value=str(rate), expected="a share between 0 and 1"))
    if problems:
        raise DataContractError(problems)


def report_inputs(
    brand: str,
    run_id: str,
    as_of: date | pd.Timestamp | str,
    dataset: Dataset,
    forecast: ForecastLike,
    planned: PlanResult,
    accuracy: pd.DataFrame | None = None,
    links: Mapping[str, str] | None = None,
    expected_fill_rate: float | None = None,
) -> ReportInputs:
    """The report's inputs from a run's dataset, forecast and plan.

    The SKU forecast is the one the plan used (``PlanResult.forecast``: after what-if
    overrides), so the chart shows what the orders were planned against.
    """
    day = pd.Timestamp(as_of).normalize()
    sales = dataset.demand.sales
    products = dataset.supply.products
    names = products[["sku", "name"]] if "name" in products else pd.DataFrame()
    return ReportInputs(
        brand=brand, as_of=day, run_id=run_id,
        sales=sales[pd.to_datetime(sales["date"]) <= day],
        forecast_sku=planned.forecast, forecast_channel=forecast.channel,
        levels=planned.levels, orders=planned.orders, alerts=planned.alerts,
        open_orders=dataset.supply.open_orders, products=names,
        accuracy=accuracy if accuracy is not None else pd.DataFrame(),
        links=dict(links or {}), expected_fill_rate=expected_fill_rate,
        transfers=planned.transfers,
    )
