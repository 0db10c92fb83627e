"""Multi-period plan across reviews: supplier capacity per order, built ahead when a peak
needs more than one order's capacity.

The review-by-review plan (:func:`replenishment.phased.sweep`) sizes every future order on
its own. A supplier can make at most ``capacity_units_per_week * capacity_weeks`` units for
one order, so when the orders of a review need more (a Double 11 peak, a launch), the excess
is made for the review before it and arrives earlier: stock bought early is still there for
the peak under lost sales (nothing expires unless a shelf life says so, which alerts check),
so moving units earlier never loses a sale, while cutting them does. :func:`build_ahead`
walks each supplier's reviews from the last to the first and moves each review's excess
(cut from every SKU in proportion to its quantity, in whole case packs) to the review
before; what review 0 (the firm order) cannot hold either is a capacity shortfall, reported
with its units and the value it puts at risk.

The units it moves respect the supplier's terms. MOQ: a line trimmed to fit keeps either
nothing or at least its MOQ lot (``ceil(moq / case_pack)`` cases), and a line that receives
units built ahead holds at least that lot (the lift is reported in ``moq_lift``). Minimum
order value: units built ahead land in the latest earlier review whose order, with them,
is worth at least the supplier's ``min_order_value`` (an order is not opened below it for
them); the firm order (review 0) takes them regardless, its optimiser applying the minimum.

The walk is greedy: it moves the fewest units the least distance (one review earlier at a
time), the SKUs dearest to hold staying latest, and cuts the SKUs whose shortage costs least.
Its cost is measured against the exact per-supplier MILP (:func:`optimise_periods`, the
bound) in ``benchmarks/bench_multiperiod.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import pulp

__all__ = ["BuildAhead", "PeriodSolve", "PeriodTerms", "build_ahead", "optimise_periods",
           "plan_cost"]


@dataclass(frozen=True)
class BuildAhead:
    """``qty[i, j]``: units of SKU ``i`` at review ``j`` after the capacity pass;
    ``ahead[i, j]``: of those, units built ahead for later reviews (MOQ lifts included);
    ``short[i]``: units the firm order could not hold either (capacity shortfall of the
    horizon); ``moq_lift[i, j]``: units added so that a line receiving units built ahead
    holds its MOQ lot."""

    qty: np.ndarray
    ahead: np.ndarray
    short: np.ndarray
    moq_lift: np.ndarray


@dataclass(frozen=True)
class _Terms:
    """One supplier's SKUs: case pack, MOQ lot (units, 0: none), unit cost; its minimum
    order value (0: none)."""

    pack: np.ndarray
    lot: np.ndarray
    cost: np.ndarray
    min_value: float


def _trim(qty: np.ndarray, capacity: float, terms: _Terms, priority: np.ndarray,
          ) -> np.ndarray:
    """Quantities in whole cases that fit ``capacity``, kept in order of ``priority`` (the
    highest first; the line on the boundary keeps the cases that still fit, unless they
    are fewer than its MOQ lot: then it keeps none and the room goes to the next line)."""
    if float(qty.sum()) <= capacity + 1e-9:
        return qty
    kept = np.zeros_like(qty)
    room = capacity
    for i in np.argsort(-priority, kind="stable"):
        take = min(qty[i], np.floor(room / terms.pack[i] + 1e-9) * terms.pack[i])
        if take < qty[i] and take < terms.lot[i] - 1e-9:
            take = 0.0
        kept[i] = take
        room -= take
    return kept


def _lifted(current: np.ndarray, moved: np.ndarray, lot: np.ndarray) -> np.ndarray:
    """Units to add to a review's lines ``current`` for ``moved`` units: the moved units,
    raised so that a line receiving any holds at least its MOQ lot."""
    total = current + moved
    return np.where((moved > 0) & (total < lot), lot - current, moved)


def _landing(out: np.ndarray, moved: np.ndarray, j: int, terms: _Terms) -> tuple[int, np.ndarray]:
    """Where ``moved`` units cut from review ``j`` land (``out``: the supplier's rows) and
    the units added there: the latest earlier review whose order, with them (MOQ lifts
    included), meets the minimum order value; review 0 at the latest."""
    k = j - 1
    while True:
        added = _lifted(out[:, k], moved, terms.lot)
        value = float((out[:, k] + added) @ terms.cost)
        if k == 0 or value >= terms.min_value - 1e-9:
            return k, added
        k -= 1


def _supplier_terms(rows: np.ndarray, case_pack: np.ndarray, moq: np.ndarray | None,
                    unit_cost: np.ndarray | None, min_value: float) -> _Terms:
    pack = case_pack[rows]
    lot = (np.zeros(len(rows)) if moq is None
           else np.ceil(np.maximum(moq[rows], 0.0) / pack - 1e-9) * pack)
    cost = np.zeros(len(rows)) if unit_cost is None else unit_cost[rows]
    return _Terms(pack, lot, cost, min_value)


def build_ahead(qty: np.ndarray, supplier: np.ndarray, capacity: np.ndarray,
                case_pack: np.ndarray, holding: np.ndarray | None = None,
                stockout: np.ndarray | None = None, moq: np.ndarray | None = None,
                unit_cost: np.ndarray | None = None,
                min_order_value: np.ndarray | None = None) -> BuildAhead:
    """Capacity pass over ``qty`` (``(n, reviews)``, review 0 = the firm order).

    ``supplier[i]`` is the position of SKU ``i``'s supplier in ``capacity`` (units per order;
    ``inf``: no limit). Columns of SKUs of one supplier are the same review dates (lead time
    and review period are the supplier's). When a review's orders exceed capacity, the
    units of the SKUs cheapest to hold (``holding`` per unit and review) are made earlier;
    what even the firm order cannot hold is cut from the SKUs whose shortage costs least
    (``stockout`` per unit): the LP optimum of one review, as costs are linear. ``moq``
    (units per SKU), ``unit_cost`` and ``min_order_value`` (per supplier) keep the moved
    units within the supplier's terms (see the module's docstring); unset: no MOQ and no
    minimum value.
    """
    holding = np.ones(len(qty)) if holding is None else np.asarray(holding, float)
    stockout = np.ones(len(qty)) if stockout is None else np.asarray(stockout, float)
    out = np.array(qty, dtype=float, copy=True)
    ahead = np.zeros_like(out)
    lift = np.zeros_like(out)
    short = np.zeros(len(out))
    for s in np.unique(supplier):
        cap = float(capacity[s])
        if not np.isfinite(cap):
            continue
        rows = np.flatnonzero(supplier == s)
        mov = 0.0 if min_order_value is None else float(min_order_value[s])
        terms = _supplier_terms(rows, np.asarray(case_pack, float), moq, unit_cost, mov)
        block = out[rows]
        for j in range(out.shape[1] - 1, -1, -1):
            kept = _trim(block[:, j], cap, terms, holding[rows] if j > 0 else stockout[rows])
            excess = block[:, j] - kept
            block[:, j] = kept
            if j == 0:
                short[rows] += excess
            elif excess.any():
                k, added = _landing(block, excess, j, terms)
                block[:, k] += added
                ahead[rows, k] += added
                lift[rows, k] += added - excess
        out[rows] = block
        ahead[rows] = np.minimum(ahead[rows], out[rows])
    return BuildAhead(out, ahead, short, lift)


@dataclass(frozen=True)
class PeriodSolve:
    """Outcome of :func:`optimise_periods`: the plan (as :class:`BuildAhead`), the summed
    objective and dual bound over suppliers, whether every supplier was proven optimal
    (HiGHS model status, not PuLP's "Optimal", which a time limit also returns), seconds."""

    plan: BuildAhead
    objective: float
    bound: float
    proven_optimal: bool
    seconds: float
    statuses: tuple[str, ...]

    @property
    def gap(self) -> float:
        return max(0.0, self.objective - self.bound) / max(abs(self.objective), 1e-9)


def _period_model(rows: np.ndarray, need: np.ndarray, terms: PeriodTerms, s: int,
                  ) -> tuple[pulp.LpProblem, dict[tuple[int, int], pulp.LpVariable]]:
    """Lot sizing of one supplier: cases per SKU and review, stock carried forward (built
    ahead), unmet need; capacity per review, MOQ, minimum order value."""
    prob = pulp.LpProblem(f"periods_{s}", pulp.LpMinimize)
    periods = need.shape[1]
    cases: dict[tuple[int, int], pulp.LpVariable] = {}
    objective: list[tuple[pulp.LpVariable, float]] = []
    cap = float(terms.capacity[s])
    mov = float(terms.min_order_value[s])
    for i in rows.tolist():
        pack = float(terms.case_pack[i])
        moq = max(int(np.ceil(terms.moq[i] / pack - 1e-9)), 1)
        top = int(np.ceil(need[i].sum() / pack - 1e-9)) + moq
        if np.isfinite(cap):
            top = min(top, int(cap // pack))
        carried = None
        for j in range(periods):
            x = prob.add_variable(f"x_{i}_{j}", 0, top, pulp.LpInteger)
            cases[(i, j)] = x
            if moq > 1 and top >= moq:
                y = prob.add_variable(f"y_{i}_{j}", 0, 1, pulp.LpBinary)
                prob += pulp.LpAffineExpression([(x, 1.0), (y, -float(moq))]) >= 0
                prob += pulp.LpAffineExpression([(x, 1.0), (y, -float(top))]) <= 0
            short = prob.add_variable(f"u_{i}_{j}", 0)
            stock = prob.add_variable(f"I_{i}_{j}", 0)
            # carried + pack x + short = need + stock
            terms_ = [(x, pack), (short, 1.0), (stock, -1.0)]
            if carried is not None:
                terms_.append((carried, 1.0))
            prob += pulp.LpAffineExpression(terms_) == float(need[i, j])
            objective += [(short, float(terms.stockout[i])), (stock, float(terms.holding[i]))]
            carried = stock
    for j in range(periods):
        units = [(cases[(i, j)], float(terms.case_pack[i])) for i in rows.tolist()]
        if np.isfinite(cap):
            prob += pulp.LpAffineExpression(units) <= cap
        if mov > 0:
            opened = prob.add_variable(f"o_{j}", 0, 1, pulp.LpBinary)
            value = [(cases[(i, j)], float(terms.unit_cost[i] * terms.case_pack[i]))
                     for i in rows.tolist()]
            prob += pulp.LpAffineExpression([*value, (opened, -mov)]) >= 0
            for i in rows.tolist():
                upper = float(cases[(i, j)].upBound or 0)
                prob += pulp.LpAffineExpression([(cases[(i, j)], 1.0),
                                                 (opened, -upper)]) <= 0
    prob += pulp.LpAffineExpression(objective)
    return prob, cases


@dataclass(frozen=True)
class PeriodTerms:
    """Per SKU: ``case_pack``, ``moq`` (units), ``unit_cost``, ``holding`` (per unit carried
    one review), ``stockout`` (per unit of need not met); per supplier: ``capacity`` (units
    per review, ``inf``: none) and ``min_order_value``."""

    supplier: np.ndarray
    case_pack: np.ndarray
    moq: np.ndarray
    unit_cost: np.ndarray
    holding: np.ndarray
    stockout: np.ndarray
    capacity: np.ndarray
    min_order_value: np.ndarray


def plan_cost(need: np.ndarray, qty: np.ndarray, terms: PeriodTerms) -> float:
    """The multi-period objective of a plan: holding of the stock carried between reviews
    plus the stock-out cost of need not met (``need`` and ``qty`` are SKU x review)."""
    carried = np.zeros(len(need))
    total = 0.0
    for j in range(need.shape[1]):
        net = carried + qty[:, j] - need[:, j]
        total += float(np.maximum(net, 0) @ terms.holding + np.maximum(-net, 0) @ terms.stockout)
        carried = np.maximum(net, 0)
    return total


def optimise_periods(need: np.ndarray, terms: PeriodTerms, time_limit_s: float = 60.0,
                     mip_gap: float = 1e-3, threads: int | None = None,
                     relax: bool = False) -> PeriodSolve:
    """Plan every review of the horizon together, one MILP per supplier (suppliers share no
    constraint here; the purchase budget applies to the firm order, in the firm optimiser).

    ``need[i, j]``: units SKU ``i`` needs received at review ``j`` (each review's sized
    order on its own). Units made for an earlier review are carried at ``holding`` per
    review; need not met costs ``stockout``. With ``stockout > holding * reviews`` every unit
    that capacity can make in time is made, as late as capacity, MOQ and minimum order value
    allow: the build-ahead of a peak. The time limit is shared by all suppliers. ``relax``
    solves the LP relaxation instead: its objective is a lower bound of any plan's cost.
    """
    started = time.perf_counter()
    qty = np.zeros_like(need, dtype=float)
    objective = bound = 0.0
    proven = True
    statuses: set[str] = set()
    for s in np.unique(terms.supplier):
        rows = np.flatnonzero(terms.supplier == s)
        prob, cases = _period_model(rows, need, terms, int(s))
        left = max(time_limit_s - (time.perf_counter() - started), 1.0)
        prob.solve(pulp.HiGHS(mip=not relax, msg=False, timeLimit=left, gapRel=mip_gap,
                              threads=threads))
        model = prob.solverModel
        status = model.getModelStatus()
        info = model.getInfo()
        statuses.add(model.modelStatusToString(status))
        proven &= status == highspy.HighsModelStatus.kOptimal
        objective += float(info.objective_function_value)
        bound += float(info.objective_function_value if relax else info.mip_dual_bound)
        for (i, j), var in cases.items():
            qty[i, j] = round(var.varValue or 0.0) * terms.case_pack[i]
    ahead = np.maximum(np.cumsum(qty - need, axis=1), 0.0)
    built = np.minimum(np.maximum(qty - need, 0.0), ahead)
    short = np.maximum(need.sum(axis=1) - qty.sum(axis=1), 0.0)
    return PeriodSolve(BuildAhead(qty, built, short, np.zeros_like(qty)), objective, bound,
                       proven, time.perf_counter() - started, tuple(sorted(statuses)))
