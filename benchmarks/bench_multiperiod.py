"""Multi-period plan benchmark: the capacity pass of the order forecast on a seeded catalogue.

    .venv/bin/python -m benchmarks.bench_multiperiod            # 5,000 SKUs x 100 x 13
    .venv/bin/python -m benchmarks.bench_multiperiod --skus 500 --suppliers 10 --exact

Every review's need is sized first (here: synthetic weekly needs with a 4x festival peak in
weeks 5-6 and livestream spikes, rounded to case packs); the capacity pass
(:func:`replenishment.multiperiod.build_ahead`) then builds ahead what a review's capacity
cannot hold and cuts what no earlier review can. Its cost (holding of units built ahead plus
stock-out cost of units cut) is compared with the LP relaxation of the exact per-supplier
lot-sizing MILP (:func:`replenishment.multiperiod.optimise_periods`), a lower bound of every
plan's cost; ``--exact`` also solves the MILP itself (HiGHS, status read from the solver).
MOQ and minimum order value are left out here (the capacity pass does not model them; the
sized needs already respect MOQ).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import replace

import numpy as np

from replenishment.multiperiod import build_ahead, optimise_periods, plan_cost
from replenishment.synthetic import synthetic_period_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--suppliers", type=int, default=100)
    parser.add_argument("--periods", type=int, default=13)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exact", action="store_true", help="also solve the exact MILP")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    need, terms = synthetic_period_problem(args.skus, args.suppliers, args.periods, args.seed)
    terms = replace(terms, moq=terms.moq * 0, min_order_value=terms.min_order_value * 0)
    pack = terms.case_pack[:, None]
    need = np.ceil(need / pack) * pack
    started = time.perf_counter()
    plan = build_ahead(need, terms.supplier, terms.capacity, terms.case_pack, terms.holding,
                       terms.stockout)
    seconds = time.perf_counter() - started
    cost = plan_cost(need, plan.qty, terms)
    started = time.perf_counter()
    lp = optimise_periods(need, terms, args.time_limit, relax=True, threads=1)
    lp_seconds = time.perf_counter() - started
    row = {
        "skus": args.skus, "suppliers": args.suppliers, "periods": args.periods,
        "capacity_pass_s": round(seconds, 3), "cost": round(cost, 1),
        "lp_bound": round(lp.bound, 1), "lp_proven": lp.proven_optimal,
        "gap_to_lp_bound": f"{max(cost - lp.bound, 0) / cost:.4%}",
        "lp_seconds": round(lp_seconds, 1), "built_ahead_units": float(plan.ahead.sum()),
        "short_units": float(plan.short.sum()), "need_units": float(need.sum()),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
                   f"Python {platform.python_version()}",
    }
    if args.exact:
        started = time.perf_counter()
        exact = optimise_periods(need, terms, args.time_limit, threads=1)
        row.update({"milp_seconds": round(time.perf_counter() - started, 1),
                    "milp_cost": round(plan_cost(need, exact.plan.qty, terms), 1),
                    "milp_bound": round(exact.bound, 1), "milp_status": exact.statuses,
                    "milp_proven": exact.proven_optimal})
    print(row)


if __name__ == "__main__":
    main()
