"""Declared schemas of the supply tables, the whole :class:`Dataset`, and cross-table checks.

Quantities are bounded by :data:`~forecasting.contract.UNITS_LIMIT` (1e9 units per row),
costs and order values by :data:`~forecasting.contract.MONEY_LIMIT` (1e12) and durations by
:data:`~forecasting.contract.DAYS_LIMIT` (36,500 days); see :mod:`forecasting.contract`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from forecasting.contract import (
    DAYS_LIMIT,
    DEMAND_TABLES,
    MONEY_LIMIT,
    UNITS_LIMIT,
    ColumnSpec,
    DataContractError,
    DemandData,
    Problem,
    TableSpec,
    at_least,
    empty_table,
    greater_than,
    one_of,
    parse_demand_tables,
    parse_table,
)
from replenishment.pools import POOL_KINDS, warehouse_problems

__all__ = [
    "PLANNING_TABLES",
    "SUPPLIER_CLOSURES",
    "SUPPLY_TABLES",
    "TABLE_NAMES",
    "WAREHOUSES",
    "Dataset",
    "SupplyData",
    "parse_dataset",
]


_SERVICE_LEVEL = pa.Check(
    lambda s: (s > 0) & (s < 1), error="a share between 0 and 1 (e.g. 0.95)", ignore_na=True
)

PRODUCTS = TableSpec(
    "products",
    {
        "sku": ColumnSpec("str", required=True),
        "supplier": ColumnSpec("str", required=True),
        "unit_cost": ColumnSpec("float", required=True, checks=(at_least(0),),
                                limit=MONEY_LIMIT),
        "case_pack": ColumnSpec("int", required=True, checks=(at_least(1),),
                                limit=UNITS_LIMIT),
        "moq": ColumnSpec("int", required=True, checks=(at_least(0),), limit=UNITS_LIMIT),
        "name": ColumnSpec("str"),
        "category": ColumnSpec("str"),
        "price": ColumnSpec("float", checks=(greater_than(0),), limit=MONEY_LIMIT),
        "volume_m3": ColumnSpec("float", checks=(greater_than(0),)),
        "shelf_life_days": ColumnSpec("float", checks=(greater_than(0),), limit=DAYS_LIMIT),
        "service_level": ColumnSpec("float", checks=(_SERVICE_LEVEL,)),
        "status": ColumnSpec("str"),
        "launch_date": ColumnSpec("date"),
        "launch_units": ColumnSpec("float", checks=(at_least(0),)),
    },
    unique=("sku",),
)
SUPPLIERS = TableSpec(
    "suppliers",
    {
        "supplier": ColumnSpec("str", required=True),
        "lead_time_days": ColumnSpec("float", required=True, checks=(at_least(0),),
                                     limit=DAYS_LIMIT),
        "name": ColumnSpec("str"),
        "lead_time_std_days": ColumnSpec("float", checks=(at_least(0),), limit=DAYS_LIMIT),
        "review_days": ColumnSpec("float", checks=(greater_than(0),), limit=DAYS_LIMIT),
        "min_order_value": ColumnSpec("float", checks=(at_least(0),), limit=MONEY_LIMIT),
        "capacity_units_per_week": ColumnSpec("float", checks=(greater_than(0),),
                                              limit=UNITS_LIMIT),
        "email": ColumnSpec("str"),
    },
    unique=("supplier",),
)
INVENTORY = TableSpec(
    "inventory",
    {
        "sku": ColumnSpec("str", required=True),
        "on_hand": ColumnSpec("float", required=True, checks=(at_least(0),),
                              limit=UNITS_LIMIT),
        "warehouse": ColumnSpec("str"),
    },
    unique=("sku", "warehouse"),
)
OPEN_ORDERS = TableSpec(
    "open_orders",
    {
        "sku": ColumnSpec("str", required=True),
        "supplier": ColumnSpec("str", required=True),
        "qty": ColumnSpec("float", required=True, checks=(greater_than(0),),
                          limit=UNITS_LIMIT),
        "eta": ColumnSpec("date", required=True),
        "po_id": ColumnSpec("str"),
        "warehouse": ColumnSpec("str"),
    },
)
COMMITMENTS = TableSpec(
    "commitments",
    {
        "supplier": ColumnSpec("str", required=True),
        "sku": ColumnSpec("str", required=True),
        "week": ColumnSpec("date", required=True),
        "qty": ColumnSpec("float", required=True, checks=(at_least(0),), limit=UNITS_LIMIT),
    },
    unique=("supplier", "sku", "week"),
)

SUPPLIER_CLOSURES = TableSpec(
    "supplier_closures",
    {
        "start": ColumnSpec("date", required=True),
        "end": ColumnSpec("date", required=True),
        "supplier": ColumnSpec("str"),
        "reason": ColumnSpec("str"),
        "works_makeup_days": ColumnSpec("flag"),
    },
    ordered=(("start", "end"),),
)
"""Days a supplier does not work (a factory closed around Chinese New Year, typically two to
four weeks): an empty ``supplier`` means every supplier; ``works_makeup_days`` 1 means the
factory opens on the statutory make-up workdays (``events`` of kind ``workday``) inside the
span (a factory closing for the statutory holiday only). See :mod:`replenishment.closures`."""

WAREHOUSES = TableSpec(
    "warehouses",
    {
        "warehouse": ColumnSpec("str", required=True),
        "pool": ColumnSpec("str"),
        "kind": ColumnSpec("str", checks=(one_of(*POOL_KINDS),)),
        "channels": ColumnSpec("str"),
        "inbound_weekdays": ColumnSpec("str"),
        "transfer_lead_time_days": ColumnSpec("float", checks=(at_least(0),),
                                              limit=DAYS_LIMIT),
        "transfer_cost_per_unit": ColumnSpec("float", checks=(at_least(0),),
                                             limit=MONEY_LIMIT),
    },
    unique=("warehouse",),
)
"""Channel stock pools (optional): each warehouse of ``inventory`` (and ship-to of
``open_orders``) with the pool it belongs to (default: itself), its kind (``own`` or
``platform``: JD FBP, Cainiao; stock never leaves a platform pool), the channels its pool
serves (``tmall,douyin``; the first row's pool also serves every channel no row names), the
weekdays it books inbound deliveries (``Tue,Thu``, ``2,4`` or ``周二,周四``; empty: any day),
and the lead time and cost per unit of moving stock into it from another pool (empty: no
transfers into it). Pool settings are given once per pool. See :mod:`replenishment.pools`."""

SUPPLY_TABLES: dict[str, TableSpec] = {
    spec.name: spec for spec in (PRODUCTS, SUPPLIERS, INVENTORY, OPEN_ORDERS, COMMITMENTS,
                                 SUPPLIER_CLOSURES, WAREHOUSES)
}
PLANNING_TABLES = ("sales", "products", "suppliers", "inventory")
TABLE_NAMES = (*DEMAND_TABLES, *SUPPLY_TABLES)


@dataclass(frozen=True)
class SupplyData:
    """The supply-side tables, typed. Absent optional tables are empty frames."""

    products: pd.DataFrame = field(default_factory=lambda: empty_table(PRODUCTS))
    suppliers: pd.DataFrame = field(default_factory=lambda: empty_table(SUPPLIERS))
    inventory: pd.DataFrame = field(default_factory=lambda: empty_table(INVENTORY))
    open_orders: pd.DataFrame = field(default_factory=lambda: empty_table(OPEN_ORDERS))
    commitments: pd.DataFrame = field(default_factory=lambda: empty_table(COMMITMENTS))
    supplier_closures: pd.DataFrame = field(
        default_factory=lambda: empty_table(SUPPLIER_CLOSURES))
    warehouses: pd.DataFrame = field(default_factory=lambda: empty_table(WAREHOUSES))


@dataclass(frozen=True)
class Dataset:
    """A whole dataset: what forecasting reads and what planning adds."""

    demand: DemandData
    supply: SupplyData = field(default_factory=SupplyData)

    def until(self, as_of: pd.Timestamp) -> Dataset:
        return Dataset(self.demand.until(as_of), self.supply)


def _unknown(
    frame: pd.DataFrame, column: str, known: Iterable[str], source: str, what: str
) -> list[Problem]:
    """Rows whose ``column`` names something absent from ``known`` (empty means "all")."""
    if frame.empty or column not in frame:
        return []
    values = frame[column]
    bad = values.notna() & ~values.isin(set(known))
    first_rows = pd.Series(np.flatnonzero(bad.to_numpy()), dtype=int)
    # One message per unknown value (its first row), so a typo does not flood the screen.
    problems = []
    for value, rows in first_rows.groupby(values[bad].to_numpy()):
        count = len(rows)
        more = f" ({count} rows; the first shown)" if count > 1 else ""
        problems.append(Problem(
            source=source, row=int(rows.iloc[0]) + 2, column=column, value=str(value),
            expected=f"{what}{more}",
        ))
    return problems


def _cross_checks(data: Dataset, sources: Mapping[str, str]) -> list[Problem]:
    demand, supply = data.demand, data.supply
    problems: list[Problem] = []
    if "products" in sources:
        skus = set(supply.products["sku"].dropna())
        known_sku = "a sku listed in products"
        for table, frame in (
            ("sales", demand.sales), ("inventory", supply.inventory),
            ("open_orders", supply.open_orders), ("commitments", supply.commitments),
            ("promotions", demand.promotions), ("livestreams", demand.livestreams),
            ("events", demand.events), ("prices", demand.prices),
            ("presales", demand.presales), ("returns", demand.returns),
        ):
            if table in sources:
                problems += _unknown(frame, "sku", skus, sources[table], known_sku)
        if "promotions" in sources:
            categories = set(supply.products["category"].dropna())
            problems += _unknown(demand.promotions, "category", categories,
                                 sources["promotions"], "a category listed in products")
    if "suppliers" in sources:
        suppliers = set(supply.suppliers["supplier"].dropna())
        known_supplier = "a supplier listed in suppliers (with its lead_time_days)"
        for table, frame in (("products", supply.products), ("open_orders", supply.open_orders),
                             ("commitments", supply.commitments),
                             ("supplier_closures", supply.supplier_closures)):
            if table in sources:
                problems += _unknown(frame, "supplier", suppliers, sources[table],
                                     known_supplier)
    if "warehouses" in sources:
        problems += _pool_checks(data, sources)
    return problems


def _pool_checks(data: Dataset, sources: Mapping[str, str]) -> list[Problem]:
    """The warehouses table's own rules, and warehouses of ``inventory`` and ``open_orders``
    it must list (a stock row of an unlisted warehouse would serve no channel)."""
    supply = data.supply
    problems = warehouse_problems(supply.warehouses, sources["warehouses"])
    known = set(supply.warehouses["warehouse"].dropna())
    listed = "a warehouse listed in warehouses"
    for table, frame in (("inventory", supply.inventory), ("open_orders", supply.open_orders)):
        if table in sources:
            problems += _unknown(frame, "warehouse", known, sources[table], listed)
    return problems


def parse_dataset(
    raw: Mapping[str, tuple[pd.DataFrame, str]],
    timezone: str = "Asia/Shanghai",
    require: Iterable[str] = ("sales",),
) -> Dataset:
    """Parse and validate every table in ``raw`` (name -> (frame, source name)).

    Raises :class:`DataContractError` with every problem found, including tables listed in
    ``require`` that are absent and references between tables that do not resolve.
    """
    problems = [
        Problem(source=f"{name}.csv", expected=f"the {name} table ({name}.csv or {name}.parquet)")
        for name in require if name not in raw
    ]
    demand, found = parse_demand_tables(raw, timezone)
    problems += [p for p in found if not (p.source == "sales" and "sales" in require)]
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in SUPPLY_TABLES.items():
        if name in raw:
            frame, source = raw[name]
            typed[name], table_problems = parse_table(frame, spec, source, timezone)
            problems += table_problems
    if problems:
        raise DataContractError(problems)
    data = Dataset(demand, SupplyData(**typed))
    cross = _cross_checks(data, {name: source for name, (_, source) in raw.items()})
    if cross:
        raise DataContractError(cross)
    return data
