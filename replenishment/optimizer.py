"""Supplier order optimiser: one mixed-integer programme per planning run.

Decides how many whole case packs of each SKU to order so that expected stockout, holding and
ordering cost is smallest, subject to MOQ (order nothing or at least the MOQ), each supplier's
minimum order value and weekly capacity, and an optional purchase budget and warehouse volume
shared by all suppliers. The model itself is in :mod:`replenishment.milp`.

Scale: without a shared budget or volume, suppliers do not interact, so each is its own small
MILP (proven optimal in milliseconds). With one, the coupled MILP is solved in one piece by
HiGHS: the perspective formulation of the shortage pieces (:mod:`replenishment.milp`) makes
its LP relaxation nearly integral, so HiGHS reaches a gap of a fraction of a percent at the
root. The gap is reported against the solver's proven lower bound (and, on request, against
the plain LP relaxation).

Conflicting constraints are reported as :class:`InfeasiblePlanError` naming what conflicts
(checked up front where the arithmetic is plain; a solver verdict of infeasible is mapped to
the block that has no solution).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.contract import DataContractError, Problem
from forecasting.errors import UserError
from replenishment.config import PlanningConfig
from replenishment.levels import StockLevels
from replenishment.milp import BlockResult, ItemArrays, SupplierArrays, solve_block
from replenishment.shortage import shortage_curves

__all__ = [
    "ITEM_COLUMNS",
    "SUPPLIER_COLUMNS",
    "InfeasiblePlanError",
    "OrderPlan",
    "OrderProblem",
    "SolveReport",
    "SolverTimeoutError",
    "optimize_orders",
    "order_items",
    "order_suppliers",
]

# Column -> default (None: required) of the optimiser's inputs.
ITEM_COLUMNS: dict[str, float | None] = {
    "unit_cost": None,
    "case_pack": None,
    "moq": 0.0,
    "volume_m3": 0.0,
    "inventory_position": None,
    "holding_cost": None,
    "stockout_cost": None,
    "min_qty": 0.0,
    "max_qty": math.inf,
}
SUPPLIER_COLUMNS: dict[str, float] = {
    "min_order_value": 0.0,
    "capacity_units": math.inf,
    "order_cost": 0.0,
}


class InfeasiblePlanError(DataContractError):
    """No order plan meets every constraint; each problem names one conflict."""


class SolverTimeoutError(UserError, RuntimeError):
    """The time limit passed before the solver found any feasible plan."""


@dataclass(frozen=True)
class OrderProblem:
    """Everything one optimisation needs.

    ``items``: one row per SKU with ``sku``, ``supplier`` and :data:`ITEM_COLUMNS`
    (``holding_cost`` per unit left over per review cycle, ``stockout_cost`` per unit short,
    ``min_qty`` a quantity that must be ordered, e.g. backorders already promised).
    ``demand[i]``: samples of protection-period demand of ``items`` row ``i``.
    ``suppliers``: one row per supplier with ``supplier`` and :data:`SUPPLIER_COLUMNS`
    (``capacity_units`` for this order; NaN or absent: unlimited).
    """

    items: pd.DataFrame
    demand: np.ndarray
    suppliers: pd.DataFrame
    budget: float | None = None
    volume_cap_m3: float | None = None


@dataclass(frozen=True)
class SolveReport:
    """How the solve went. ``proven_optimal`` is True only when the solver proved the plan
    optimal within ``mip_gap``; a plan stopped by the time limit is reported as such."""

    status: str
    proven_optimal: bool
    gap: float
    bound: float
    objective: float
    seconds: float
    message: str
    strategy: str = "per_supplier"
    sol_status: int = 0
    blocks: int = 1
    lp_bound: float = math.nan

    @property
    def lp_gap(self) -> float:
        return _relative_gap(self.objective, self.lp_bound)


@dataclass(frozen=True)
class OrderPlan:
    """``items``: every SKU with its decision; ``lines``: the SKUs ordered; ``suppliers``:
    per-supplier totals against their limits."""

    items: pd.DataFrame
    suppliers: pd.DataFrame
    report: SolveReport
    lines: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", self.items[self.items["qty"] > 0].reset_index(drop=True))


def _relative_gap(objective: float, bound: float) -> float:
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.nan
    return max(0.0, objective - bound) / max(abs(objective), 1e-9)


# --------------------------------------------------------------------------- inputs


def order_items(
    levels: StockLevels, products: pd.DataFrame, config: PlanningConfig | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Optimiser items and demand samples from stock levels and the products table.

    Holding cost per cycle = ``unit_cost * holding_cost_rate * review_days / 365``. Stockout
    cost = ``stockout_cost_rate * price`` (unit cost without a price), or when the rate is
    unset ``h * SL / (1 - SL)``: the newsvendor cost whose optimum is the service level.
    """
    config = config or PlanningConfig()
    table = levels.table
    wanted = ["sku", "supplier", "unit_cost", "case_pack", "moq", "volume_m3", "price"]
    present = [c for c in wanted if c in products]
    merged = table[["sku", "inventory_position", "review_days", "service_level"]].merge(
        products[present], on="sku", how="left", validate="one_to_one"
    )
    missing = merged["supplier"].isna() if "supplier" in merged else merged["sku"].notna()
    if missing.any():
        raise DataContractError([Problem(
            source="products", column="sku", value=str(merged.loc[missing, "sku"].iloc[0]),
            expected=f"a product row for every planned SKU ({int(missing.sum())} missing)",
        )])
    holding = merged["unit_cost"] * config.holding_cost_rate * merged["review_days"] / 365.0
    if config.stockout_cost_rate is None:
        level = merged["service_level"]
        stockout = holding * level / (1 - level)
    else:
        price = merged["price"] if "price" in merged else merged["unit_cost"]
        stockout = config.stockout_cost_rate * price.fillna(merged["unit_cost"])
    items = merged.drop(columns=["review_days", "service_level"]).assign(
        holding_cost=holding, stockout_cost=stockout
    )
    return items, levels.protection_demand


def order_suppliers(suppliers: pd.DataFrame, config: PlanningConfig | None = None) -> pd.DataFrame:
    """Optimiser suppliers from the suppliers table: capacity for one order is
    ``capacity_units_per_week * capacity_weeks``; the ordering cost is ``config.ordering_cost``."""
    config = config or PlanningConfig()
    out = pd.DataFrame({"supplier": suppliers["supplier"]})
    out["min_order_value"] = (
        suppliers["min_order_value"].fillna(0.0) if "min_order_value" in suppliers else 0.0
    )
    weekly = suppliers.get("capacity_units_per_week", pd.Series(np.nan, index=suppliers.index))
    out["capacity_units"] = weekly.astype(float) * config.capacity_weeks
    out["order_cost"] = config.ordering_cost
    return out.reset_index(drop=True)


def _numeric(frame: pd.DataFrame, defaults: Mapping[str, float | None], source: str,
             ) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    out = frame.reset_index(drop=True).copy()
    for column, default in defaults.items():
        if column not in out:
            if default is None:
                problems.append(Problem(source=source, column=column,
                                        expected=f"a column '{column}'"))
                continue
            out[column] = default
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
        if default is not None:
            out[column] = out[column].fillna(default)
    return out, problems


def _bad_rows(frame: pd.DataFrame, column: str, bad: pd.Series, source: str,
              expected: str) -> list[Problem]:
    return [
        Problem(source=source, row=int(i) + 2, column=column, value=str(frame.at[int(i), column]),
                expected=expected)
        for i in np.flatnonzero(bad.to_numpy())
    ]


def _validate(problem: OrderProblem) -> tuple[pd.DataFrame, pd.DataFrame]:
    items, problems = _numeric(problem.items, ITEM_COLUMNS, "optimiser items")
    suppliers, more = _numeric(problem.suppliers, SUPPLIER_COLUMNS, "optimiser suppliers")
    problems += more
    for frame, key, source in ((items, "sku", "optimiser items"),
                               (items, "supplier", "optimiser items"),
                               (suppliers, "supplier", "optimiser suppliers")):
        if key not in frame:
            problems.append(Problem(source=source, column=key, expected=f"a column '{key}'"))
    if problems:
        raise DataContractError(problems)
    src = "optimiser items"
    checks = [
        ("case_pack", ~(items["case_pack"] >= 1) | (items["case_pack"] % 1 != 0),
         "a whole number >= 1"),
        ("unit_cost", ~(items["unit_cost"] >= 0), "a number >= 0"),
        ("moq", ~(items["moq"] >= 0), "a number >= 0"),
        ("volume_m3", ~(items["volume_m3"] >= 0), "a number >= 0"),
        ("holding_cost", ~(items["holding_cost"] >= 0), "a number >= 0"),
        ("stockout_cost", ~(items["stockout_cost"] >= 0), "a number >= 0"),
        ("min_qty", ~(items["min_qty"] >= 0), "a number >= 0"),
        ("max_qty", ~(items["max_qty"] >= 0), "a number >= 0"),
        ("inventory_position", items["inventory_position"].isna(), "a number"),
    ]
    for column, bad, expected in checks:
        problems += _bad_rows(items, column, bad, src, expected)
    problems += _bad_rows(items, "sku", items["sku"].duplicated(), src, "each SKU once")
    known = set(suppliers["supplier"])
    problems += _bad_rows(items, "supplier", ~items["supplier"].isin(known), src,
                          "a supplier listed in the suppliers frame")
    for column in ("min_order_value", "order_cost"):
        problems += _bad_rows(suppliers, column, ~(suppliers[column] >= 0),
                              "optimiser suppliers", "a number >= 0")
    problems += _bad_rows(suppliers, "capacity_units", ~(suppliers["capacity_units"] > 0),
                          "optimiser suppliers", "a number > 0 (or empty for no limit)")
    if problem.demand.ndim != 2 or problem.demand.shape[0] != len(items):
        problems.append(Problem(source="optimiser demand", value=str(problem.demand.shape),
                                expected=f"an array of shape ({len(items)}, n_paths)"))
    if problems:
        raise DataContractError(problems)
    return items, suppliers.drop_duplicates("supplier").reset_index(drop=True)


def _case_bounds(items: pd.DataFrame, demand: np.ndarray,
                 suppliers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cases: MOQ in cases, the mandatory minimum and a cap no sensible order exceeds (the
    largest scenario need, or enough to reach the supplier's minimum order value alone)."""
    pack = items["case_pack"].to_numpy()
    moq_cases = np.maximum(np.ceil(items["moq"].to_numpy() / pack), 1)
    min_cases = np.ceil(items["min_qty"].to_numpy() / pack - 1e-9)
    min_cases = np.where(min_cases > 0, np.maximum(min_cases, moq_cases), 0)
    # Ordering past the largest scenario need only adds holding cost; allow the MOQ though,
    # and the mandatory minimum.
    top_need = np.maximum(demand.max(axis=1) - items["inventory_position"].to_numpy(), 0.0)
    need_cases = np.ceil(top_need / pack - 1e-9)
    if suppliers is not None:
        floor_value = items["supplier"].map(
            suppliers.set_index("supplier")["min_order_value"]).fillna(0.0).to_numpy(float)
        case_value = np.maximum(items["unit_cost"].to_numpy(float) * pack, 1e-9)
        reach = np.ceil(floor_value / case_value - 1e-9)
        need_cases = np.where(need_cases > 0, np.maximum(need_cases, reach), 0)
    cap_cases = np.floor(items["max_qty"].to_numpy() / pack + 1e-9)
    max_cases = np.minimum(np.where(need_cases > 0, np.maximum(need_cases, moq_cases), 0),
                           cap_cases)
    # An order below the MOQ is not allowed, so a cap below it means nothing can be ordered.
    max_cases = np.where(max_cases < moq_cases, 0, max_cases)
    return pd.DataFrame({"moq_cases": moq_cases, "min_cases": min_cases,
                         "max_cases": np.maximum(max_cases, 0)})


# --------------------------------------------------------------------------- conflicts


def _names(skus: pd.Series, limit: int = 5) -> str:
    shown = ", ".join(map(str, skus.head(limit)))
    return shown + (f" and {len(skus) - limit} more" if len(skus) > limit else "")


def _conflicts(problem: OrderProblem, items: pd.DataFrame, suppliers: pd.DataFrame,
               bounds: pd.DataFrame) -> list[Problem]:
    """Conflicts visible without solving: mandatory orders that break a hard limit."""
    out: list[Problem] = []
    pack = items["case_pack"]
    units = bounds["min_cases"] * pack
    max_qty = items["max_qty"].to_numpy(float)
    unit_values = units.to_numpy(float)
    sku_names = items["sku"].astype(str).to_numpy()
    capped = (unit_values > 0) & (unit_values > max_qty + 1e-9)
    for i in np.flatnonzero(capped):
        out.append(Problem(
            source="optimiser items", row=int(i) + 2, column="max_qty",
            value=f"{max_qty[i]:g}",
            expected=f"at least {unit_values[i]:g}, the mandatory quantity of SKU "
            f"{sku_names[i]} (min_qty rounded up to case packs and MOQ)",
        ))
    value = units * items["unit_cost"]
    mandatory = items.assign(units=units, value=value, volume=units * items["volume_m3"])
    mandatory = mandatory[units > 0]
    per_supplier = mandatory.groupby("supplier").agg(
        units=("units", "sum"), value=("value", "sum"), volume=("volume", "sum"),
    )
    limits = suppliers.set_index("supplier")
    capacities = limits["capacity_units"].astype(float).to_dict()
    for supplier, row in per_supplier.iterrows():
        capacity = capacities[supplier]
        if row["units"] > capacity + 1e-9:
            skus = mandatory.loc[mandatory["supplier"] == supplier, "sku"]
            out.append(Problem(
                source="optimiser suppliers", column="capacity_units", value=f"{capacity:g}",
                expected=f"at least {row['units']:g} units for supplier {supplier}: its "
                f"capacity is below the mandatory orders (min_qty rounded up to case packs "
                f"and MOQ) of SKUs {_names(skus)}",
            ))
    # Each supplier with mandatory orders spends at least its minimum order value.
    floor_value = np.maximum(
        per_supplier["value"], limits.loc[per_supplier.index, "min_order_value"]
    )
    if problem.budget is not None and floor_value.sum() > problem.budget + 1e-6:
        top = floor_value.sort_values(ascending=False)
        detail = ", ".join(f"{s} {v:,.2f}" for s, v in top.head(5).items())
        out.append(Problem(
            source="planning", column="budget", value=f"{problem.budget:g}",
            expected=f"at least {floor_value.sum():,.2f}: the budget is below the cost of the "
            "mandatory orders (min_qty rounded up to case packs and MOQ, each supplier "
            f"raised to its minimum order value): {detail}",
        ))
    if problem.volume_cap_m3 is not None and per_supplier["volume"].sum() > (
        problem.volume_cap_m3 + 1e-9
    ):
        out.append(Problem(
            source="planning", column="warehouse_volume_m3", value=f"{problem.volume_cap_m3:g}",
            expected=f"at least {per_supplier['volume'].sum():g} m3, the volume of the "
            "mandatory orders (min_qty rounded up to case packs and MOQ)",
        ))
    return out


def _solver_conflict(suppliers: pd.DataFrame, block: list[int], shared: bool) -> Problem:
    names = ", ".join(str(suppliers.at[s, "supplier"]) for s in block[:5])
    if shared:
        return Problem(
            source="planning", column="budget/warehouse_volume_m3",
            expected="limits that leave room for the mandatory orders together with each "
            "ordering supplier's minimum order value and capacity (the solver proved no plan "
            "meets them all)",
        )
    return Problem(
        source="optimiser suppliers", column="min_order_value/capacity_units", value=names,
        expected="a minimum order value reachable within the supplier's capacity and the "
        "SKUs' order caps while placing the mandatory orders (the solver proved no plan "
        "meets them all)",
    )


# --------------------------------------------------------------------------- solving


@dataclass
class _Run:
    """Accumulates block results into one report."""

    config: PlanningConfig
    deadline: float
    cases: np.ndarray
    objective: float = 0.0
    bound: float = 0.0
    proven: bool = True
    statuses: set[str] = field(default_factory=set)
    sol_status: int = 1
    blocks: int = 0

    def remaining(self) -> float:
        # A block always gets a moment, so a late block still returns its first incumbent.
        return max(self.deadline - time.perf_counter(), min(1.0, self.config.time_limit_s))

    def add(self, rows: np.ndarray, result: BlockResult) -> None:
        assert result.cases is not None
        self.cases[rows] = result.cases[rows]
        self.objective += result.objective
        self.bound += result.bound
        self.proven &= result.proven_optimal
        self.statuses.add(result.status)
        self.sol_status = min(self.sol_status, result.sol_status)
        self.blocks += 1


def _solve(
    name: str, arrays: tuple[ItemArrays, SupplierArrays], rows: np.ndarray, run: _Run,
    problem: OrderProblem, shared: bool, relax: bool = False,
) -> BlockResult:
    config = run.config
    return solve_block(
        name, arrays[0], arrays[1], rows,
        budget=problem.budget if shared else None,
        volume_cap=problem.volume_cap_m3 if shared else None,
        solver=config.solver, time_limit_s=run.remaining(), mip_gap=config.mip_gap,
        threads=config.threads, relax=relax,
    )


def _per_supplier(
    arrays: tuple[ItemArrays, SupplierArrays], problem: OrderProblem, suppliers: pd.DataFrame,
    run: _Run, relax: bool = False,
) -> float:
    """Solve every supplier on its own; returns the summed objective (LP value if relaxed)."""
    total = 0.0
    supplier_of = arrays[0].supplier
    for s in np.unique(supplier_of):
        rows = np.flatnonzero(supplier_of == s)
        result = _solve(f"supplier_{s}", arrays, rows, run, problem, shared=False, relax=relax)
        if result.infeasible:
            raise InfeasiblePlanError([_solver_conflict(suppliers, [int(s)], shared=False)])
        if result.cases is None and not relax:
            result = _mandatory_fallback(arrays, problem, result, run.config, rows)
        if result.cases is None:
            raise SolverTimeoutError(_no_solution_message(run.config, result.status))
        if relax:
            total += result.objective
        else:
            run.add(rows, result)
    return total


def _no_solution_message(config: PlanningConfig, status: str) -> str:
    return (f"the solver found no feasible order plan within {config.time_limit_s:g} s "
            f"(status: {status}); raise planning.time_limit_s")


def _model_cost(cases: np.ndarray, arrays: tuple[ItemArrays, SupplierArrays],
                rows: np.ndarray) -> float:
    """The MILP objective of a plan (same piecewise-linear shortage as the model)."""
    items, suppliers = arrays
    qty = cases * items.case_pack
    cost = 0.0
    for i in rows.tolist():
        short = float(items.curves[i](qty[i]))
        cost += (items.stockout[i] + items.holding[i]) * short + items.holding[i] * qty[i]
    opened = np.unique(items.supplier[rows][qty[rows] > 0])
    return cost + float(suppliers.order_cost[opened].sum())


def _mandatory_fallback(
    arrays: tuple[ItemArrays, SupplierArrays], problem: OrderProblem, result: BlockResult,
    config: PlanningConfig, rows: np.ndarray | None = None,
) -> BlockResult:
    """When the time limit passes before any incumbent: the mandatory orders alone, if they
    meet every constraint (reported as not optimal); otherwise a :class:`SolverTimeoutError`."""
    items, suppliers = arrays
    rows = np.arange(len(items.case_pack)) if rows is None else rows
    cases = np.where(np.isin(np.arange(len(items.case_pack)), rows), items.min_cases, 0.0)
    qty = cases * items.case_pack
    value = np.bincount(items.supplier, qty * items.unit_cost, len(suppliers.order_cost))
    units = np.bincount(items.supplier, qty, len(suppliers.order_cost))
    ok = bool(np.all((value == 0) | (value >= suppliers.min_order_value - 1e-6)))
    ok &= bool(np.all(units <= suppliers.capacity_units + 1e-9))
    if problem.budget is not None:
        ok &= float(value.sum()) <= problem.budget + 1e-6
    if problem.volume_cap_m3 is not None:
        ok &= float(qty @ items.volume_m3) <= problem.volume_cap_m3 + 1e-9
    if not ok:
        raise SolverTimeoutError(_no_solution_message(config, result.status))
    status = f"{result.status}; no incumbent, mandatory orders only"
    return BlockResult(cases, _model_cost(cases, arrays, rows), result.bound, False, status,
                       result.sol_status, result.seconds, False)


def _arrays(items: pd.DataFrame, suppliers: pd.DataFrame, bounds: pd.DataFrame,
            demand: np.ndarray, config: PlanningConfig) -> tuple[ItemArrays, SupplierArrays]:
    pack = items["case_pack"].to_numpy(dtype=float)
    stockout = items["stockout_cost"].to_numpy(float)
    total = stockout + items["holding_cost"].to_numpy(float)
    critical_ratio = np.divide(stockout, total, out=np.zeros_like(total), where=total > 0)
    curves = shortage_curves(
        demand, items["inventory_position"].to_numpy(float), pack,
        bounds["max_cases"].to_numpy() * pack, config.shortage_breakpoints, critical_ratio,
    )
    position = pd.Index(suppliers["supplier"]).get_indexer(items["supplier"])
    item_arrays = ItemArrays(
        supplier=position, case_pack=pack,
        unit_cost=items["unit_cost"].to_numpy(float),
        volume_m3=items["volume_m3"].to_numpy(float),
        holding=items["holding_cost"].to_numpy(float),
        stockout=items["stockout_cost"].to_numpy(float),
        min_cases=bounds["min_cases"].to_numpy(), max_cases=bounds["max_cases"].to_numpy(),
        moq_cases=bounds["moq_cases"].to_numpy(), curves=curves,
    )
    supplier_arrays = SupplierArrays(
        min_order_value=suppliers["min_order_value"].to_numpy(float),
        capacity_units=suppliers["capacity_units"].fillna(math.inf).to_numpy(float),
        order_cost=suppliers["order_cost"].to_numpy(float),
    )
    return item_arrays, supplier_arrays


def optimize_orders(
    problem: OrderProblem,
    config: PlanningConfig | None = None,
    *,
    compute_lp_bound: bool = False,
) -> OrderPlan:
    """Optimal orders in whole case packs for every SKU of ``problem``.

    Raises :class:`DataContractError` for bad input, :class:`InfeasiblePlanError` when the
    constraints conflict, :class:`SolverTimeoutError` when no feasible plan was found in time.
    ``compute_lp_bound`` also solves the LP relaxation to report ``lp_bound`` (benchmarks).
    """
    config = config or PlanningConfig()
    started = time.perf_counter()
    items, suppliers = _validate(problem)
    bounds = _case_bounds(items, problem.demand, suppliers)
    conflicts = _conflicts(problem, items, suppliers, bounds)
    if conflicts:
        raise InfeasiblePlanError(conflicts)
    arrays = _arrays(items, suppliers, bounds, problem.demand, config)
    run = _Run(config, started + config.time_limit_s, np.zeros(len(items)))
    shared = problem.budget is not None or problem.volume_cap_m3 is not None
    strategy = "coupled" if shared else "per_supplier"
    if shared:
        rows = np.arange(len(items))
        result = _solve("coupled", arrays, rows, run, problem, shared=True)
        if result.infeasible:
            raise InfeasiblePlanError([_solver_conflict(suppliers, [], shared=True)])
        if result.cases is None:
            result = _mandatory_fallback(arrays, problem, result, config)
        run.add(rows, result)
    else:
        _per_supplier(arrays, problem, suppliers, run)
    lp_bound = math.nan
    if compute_lp_bound:
        lp_run = _Run(config, time.perf_counter() + config.time_limit_s, np.zeros(len(items)))
        if strategy == "coupled":
            relaxed = _solve("coupled_lp", arrays, np.arange(len(items)), lp_run, problem,
                             shared=True, relax=True)
            lp_bound = relaxed.objective
        else:
            lp_bound = _per_supplier(arrays, problem, suppliers, lp_run, relax=True)
    report = _report(run, strategy, time.perf_counter() - started, lp_bound)
    return _plan(items, suppliers, problem.demand, arrays[0], run.cases, report)


def _report(run: _Run, strategy: str, seconds: float, lp_bound: float) -> SolveReport:
    status = "optimal" if run.proven else "time_limit"
    gap = _relative_gap(run.objective, run.bound)
    detail = "; ".join(sorted(run.statuses))
    if run.proven:
        message = (f"proven optimal within mip_gap {run.config.mip_gap:g} "
                   f"({run.blocks} block(s), {strategy}); gap {gap:.4%}")
    else:
        message = (f"time limit {run.config.time_limit_s:g} s reached: best plan found, NOT "
                   f"proven optimal; gap to the lower bound {gap:.4%} (solver: {detail})")
    return SolveReport(
        status=status, proven_optimal=run.proven, gap=gap, bound=run.bound,
        objective=run.objective, seconds=seconds, message=message, strategy=strategy,
        sol_status=run.sol_status, blocks=run.blocks, lp_bound=lp_bound,
    )


def _plan(items: pd.DataFrame, suppliers: pd.DataFrame, demand: np.ndarray,
          arrays: ItemArrays, cases: np.ndarray, report: SolveReport) -> OrderPlan:
    qty = cases * arrays.case_pack
    position = items["inventory_position"].to_numpy(float)
    shortage_after = np.maximum(demand - (position + qty)[:, None], 0.0).mean(axis=1)
    shortage_before = np.maximum(demand - position[:, None], 0.0).mean(axis=1)
    out = items[["sku", "supplier"]].copy()
    out["qty"] = qty
    out["cases"] = cases.astype(int)
    out["case_pack"] = arrays.case_pack.astype(int)
    out["moq"] = items["moq"].to_numpy()
    out["unit_cost"] = arrays.unit_cost
    out["line_value"] = qty * arrays.unit_cost
    out["line_volume_m3"] = qty * arrays.volume_m3
    out["inventory_position"] = position
    out["expected_shortage_without_order"] = shortage_before
    out["expected_shortage"] = shortage_after
    totals = out.groupby("supplier").agg(
        units=("qty", "sum"), value=("line_value", "sum"), volume_m3=("line_volume_m3", "sum"),
        lines=("qty", lambda q: int((q > 0).sum())),
    )
    summary = suppliers.set_index("supplier").join(totals, how="left").fillna(
        {"units": 0.0, "value": 0.0, "volume_m3": 0.0, "lines": 0}
    )
    summary.insert(0, "ordered", summary["units"] > 0)
    return OrderPlan(out, summary.reset_index(), report)
