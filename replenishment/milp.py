"""The order MILP of one block of suppliers, built with PuLP and solved by HiGHS (or CBC).

Variables per SKU ``i``: ``cases_i`` (integer, order ``case_pack_i * cases_i`` units),
``short_i`` (expected units short, continuous, above every piece of the SKU's convex
shortage curve), and ``use_i`` (binary, only when the MOQ needs more than one case:
``cases_i = 0`` or ``cases_i >= moq_cases_i``). Per supplier ``s``: ``open_s`` (binary, only
when it has a minimum order value or an ordering cost): nothing is ordered from a closed
supplier and an open one is ordered at least its minimum value.

Objective: ``sum_i (p_i + h_i) short_i + h_i q_i + sum_s K_s open_s``. This is the expected
stockout plus holding cost ``p E[(D-IP-q)^+] + h E[(IP+q-D)^+]`` minus the constant
``h (IP - E[D])`` that no order changes (``E[(x)^+] = x + E[(-x)^+]``), plus ordering cost.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pulp

from replenishment.shortage import ShortageCurve

__all__ = ["BlockResult", "ItemArrays", "SupplierArrays", "solve_block"]


@dataclass(frozen=True)
class ItemArrays:
    """Per-SKU model data (row ``i`` = SKU ``i``); quantities in cases unless named units."""

    supplier: np.ndarray  # position in SupplierArrays
    case_pack: np.ndarray
    unit_cost: np.ndarray
    volume_m3: np.ndarray
    holding: np.ndarray  # per unit
    stockout: np.ndarray  # per unit short
    min_cases: np.ndarray
    max_cases: np.ndarray
    moq_cases: np.ndarray
    curves: list[ShortageCurve]


@dataclass(frozen=True)
class SupplierArrays:
    min_order_value: np.ndarray
    capacity_units: np.ndarray  # inf: none
    order_cost: np.ndarray


@dataclass(frozen=True)
class BlockResult:
    """Outcome of one solve. ``cases`` is None when the solver found no feasible point."""

    cases: np.ndarray | None
    objective: float
    bound: float
    proven_optimal: bool
    status: str
    sol_status: int
    seconds: float
    infeasible: bool


def _expr(terms: list[tuple[pulp.LpVariable, float]]) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(terms)


def _add_shortage_pieces(
    prob: pulp.LpProblem,
    i: int,
    short: pulp.LpVariable,
    cases: pulp.LpVariable,
    pack: float,
    curve: ShortageCurve,
    on: pulp.LpVariable | None,
) -> None:
    """``short >= a_j + b_j q`` for every piece ``j`` of the convex shortage curve.

    With an on/off variable (``on = 0`` forces ``q = 0``) the pieces are written in
    perspective form, ``short >= ES(0) (1 - on) + a_j on + b_j q``: the same integer points,
    but a far tighter LP relaxation (a fractional ``on`` cannot buy a full shortage cut).
    """
    intercept, slope = curve.segments()
    at_zero = float(curve.shortage[0])
    for j, (a, b) in enumerate(zip(intercept, slope, strict=True)):
        terms = [(short, 1.0), (cases, -float(b) * pack)]
        if on is None:
            prob += _expr(terms) >= float(a), f"es_{i}_{j}"
        else:
            prob += _expr([*terms, (on, at_zero - float(a))]) >= at_zero, f"es_{i}_{j}"


def _build(
    name: str,
    items: ItemArrays,
    suppliers: SupplierArrays,
    rows: np.ndarray,
    budget: float | None,
    volume_cap: float | None,
) -> tuple[pulp.LpProblem, dict[int, pulp.LpVariable]]:
    prob = pulp.LpProblem(name, pulp.LpMinimize)
    objective: list[tuple[pulp.LpVariable, float]] = []
    cases: dict[int, pulp.LpVariable] = {}
    by_supplier: dict[int, list[int]] = {}
    for i in rows.tolist():
        by_supplier.setdefault(int(items.supplier[i]), []).append(i)
    opened: dict[int, pulp.LpVariable] = {}
    for s, members in by_supplier.items():
        forced = any(items.min_cases[i] > 0 for i in members)
        if suppliers.min_order_value[s] > 0 or suppliers.order_cost[s] > 0:
            opened[s] = prob.add_variable(f"open_{s}", 0, 1, pulp.LpBinary)
            if forced:
                opened[s].lowBound = 1
            objective.append((opened[s], float(suppliers.order_cost[s])))
    for i in rows.tolist():
        pack = float(items.case_pack[i])
        low, high = int(items.min_cases[i]), int(items.max_cases[i])
        n = prob.add_variable(f"cases_{i}", low, high, pulp.LpInteger)
        cases[i] = n
        s = int(items.supplier[i])
        on: pulp.LpVariable | None = opened.get(s) if high > 0 else None
        moq = int(items.moq_cases[i])
        if moq > 1 and low < moq <= high:
            use = prob.add_variable(f"use_{i}", 1 if low > 0 else 0, 1, pulp.LpBinary)
            prob += _expr([(n, 1.0), (use, -float(moq))]) >= 0, f"moq_{i}"
            if on is not None:
                prob += _expr([(use, 1.0), (on, -1.0)]) <= 0, f"use_open_{i}"
            on = use
        if on is not None:
            prob += _expr([(n, 1.0), (on, -float(high))]) <= 0, f"on_{i}"
        short = prob.add_variable(f"short_{i}", max(0.0, float(items.curves[i].shortage[-1])))
        _add_shortage_pieces(prob, i, short, n, pack, items.curves[i], on)
        objective.append((short, float(items.stockout[i] + items.holding[i])))
        objective.append((n, float(items.holding[i]) * pack))
    for s, members in by_supplier.items():
        value = [(cases[i], float(items.unit_cost[i] * items.case_pack[i])) for i in members]
        if s in opened and suppliers.min_order_value[s] > 0:
            prob += _expr([*value, (opened[s], -float(suppliers.min_order_value[s]))]) >= 0, (
                f"min_value_{s}"
            )
        if math.isfinite(suppliers.capacity_units[s]):
            units = [(cases[i], float(items.case_pack[i])) for i in members]
            prob += _expr(units) <= float(suppliers.capacity_units[s]), f"capacity_{s}"
    if budget is not None:
        value = [(n, float(items.unit_cost[i] * items.case_pack[i])) for i, n in cases.items()]
        prob += _expr(value) <= float(budget), "budget"
    if volume_cap is not None:
        volume = [(n, float(items.volume_m3[i] * items.case_pack[i])) for i, n in cases.items()]
        prob += _expr(volume) <= float(volume_cap), "volume"
    prob += _expr(objective)
    return prob, cases


def _highs_outcome(prob: pulp.LpProblem) -> tuple[str, bool, float, float, bool]:
    """(status text, proven optimal, objective, dual bound, infeasible) from HiGHS itself."""
    import highspy

    model = prob.solverModel
    status = model.getModelStatus()
    info = model.getInfo()
    text = model.modelStatusToString(status)
    kinds = highspy.HighsModelStatus
    infeasible = status in (kinds.kInfeasible, kinds.kUnboundedOrInfeasible)
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if info.mip_node_count >= 0 else objective
    return text, status == kinds.kOptimal, objective, bound, infeasible


def solve_block(
    name: str,
    items: ItemArrays,
    suppliers: SupplierArrays,
    rows: np.ndarray,
    *,
    budget: float | None = None,
    volume_cap: float | None = None,
    solver: str = "highs",
    time_limit_s: float = 60.0,
    mip_gap: float = 1e-3,
    threads: int | None = None,
    relax: bool = False,
) -> BlockResult:
    """Build and solve the MILP of ``rows`` (SKU positions). ``relax`` solves the LP relaxation.

    PuLP reports "Optimal" also when a time limit stopped the search; whether the point is a
    proven optimum is read from the solver (HiGHS model status, CBC ``sol_status``).
    """
    started = time.perf_counter()
    prob, cases = _build(name, items, suppliers, rows, budget, volume_cap)
    use_highs = solver == "highs" and pulp.HiGHS().available()
    if use_highs:
        backend: pulp.LpSolver = pulp.HiGHS(
            mip=not relax, msg=False, timeLimit=time_limit_s, gapRel=mip_gap, threads=threads
        )
    else:
        with warnings.catch_warnings():
            # PuLP 3 flags its bundled CBC as deprecated; it is still the one always present.
            warnings.simplefilter("ignore", DeprecationWarning)
            backend = pulp.PULP_CBC_CMD(
                mip=not relax, msg=False, timeLimit=max(1, math.ceil(time_limit_s)),
                gapRel=mip_gap, threads=threads,
            )
    prob.solve(backend)
    seconds = time.perf_counter() - started
    sol_status = int(prob.sol_status)
    found = sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if use_highs:
        text, proven, objective, bound, infeasible = _highs_outcome(prob)
    else:
        text = pulp.LpStatus[prob.status]
        proven = sol_status == pulp.LpSolutionOptimal
        objective = float(pulp.value(prob.objective)) if found else math.nan
        bound = objective if proven and relax else math.nan
        infeasible = prob.status == pulp.LpStatusInfeasible
    if not found:
        return BlockResult(None, math.nan, bound, False, text, sol_status, seconds, infeasible)
    values = np.zeros(len(items.case_pack))
    for i, var in cases.items():
        values[i] = var.varValue or 0.0
    chosen = values if relax else np.round(values)
    return BlockResult(chosen, objective, bound, proven, text, sol_status, seconds, False)
