"""Optimiser scale benchmark: seeded synthetic catalogues, with and without a shared budget.

Run from the repository root:

    .venv/bin/python benchmarks/bench_optimizer.py            # all sizes, prints a table
    .venv/bin/python benchmarks/bench_optimizer.py --write    # also updates docs/benchmarks.md

Each row records wall time (input checks, shortage curves, model build and solve), the solver
status, whether the plan is proven optimal, the gap to the solver's lower bound and the gap to
the plain LP relaxation (solved separately, not counted in the time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time

from benchmarks.docs import cpu_model, write_section
from replenishment.config import PlanningConfig
from replenishment.optimizer import optimize_orders
from replenishment.synthetic import synthetic_order_problem

SIZES = ((500, 20), (2_000, 50), (5_000, 100))
BUDGET_SHARE = 0.6
SECTION = "## Optimiser"




def run(sizes: tuple[tuple[int, int], ...], config: PlanningConfig) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for n_skus, n_suppliers in sizes:
        for budget in (None, BUDGET_SHARE):
            problem = synthetic_order_problem(n_skus, n_suppliers, seed=n_skus,
                                              budget_share=budget)
            started = time.perf_counter()
            plan = optimize_orders(problem, config)
            seconds = time.perf_counter() - started
            # The LP relaxation bound is solved again on its own, outside the timing.
            lp = optimize_orders(problem, config, compute_lp_bound=True).report
            report = plan.report
            rows.append({
                "skus": n_skus, "suppliers": n_suppliers,
                "budget": "none" if budget is None else f"{budget:.0%} of need",
                "strategy": report.strategy, "seconds": seconds, "status": report.status,
                "proven": report.proven_optimal, "gap": report.gap,
                "lp_gap": max(0.0, report.objective - lp.lp_bound) / abs(report.objective),
                "lines": len(plan.lines),
            })
            print(rows[-1], flush=True)
    return rows


def markdown(rows: list[dict[str, object]], config: PlanningConfig) -> str:
    today = dt.date.today().isoformat()
    head = (
        f"{SECTION}\n\n"
        f"`benchmarks/bench_optimizer.py`, {today}, {os.cpu_count()} cores "
        f"(`nproc`), {cpu_model()}, Python {platform.python_version()}; machine shared with "
        f"other jobs while measured. HiGHS via PuLP, time limit {config.time_limit_s:g} s, "
        f"mip_gap {config.mip_gap:g}, {config.shortage_breakpoints} shortage breakpoints per "
        "SKU, 200 demand paths per SKU. Seeded synthetic catalogues (case packs, MOQs, "
        "minimum order values on ~60% of suppliers, capacity on ~50%, ordering costs); the "
        f"shared budget is {BUDGET_SHARE:.0%} of the value of every SKU's mean + 2 sigma need. "
        "Time = input checks + shortage curves + model build + solve. `gap` is against the "
        "solver's proven lower bound, `LP gap` against the LP relaxation of the same model "
        "(solved separately).\n\n"
        "| SKUs | suppliers | budget | strategy | seconds | status | proven optimal | gap "
        "| LP gap | order lines |\n"
        "| ---: | ---: | --- | --- | ---: | --- | --- | ---: | ---: | ---: |\n"
    )
    body = "".join(
        f"| {r['skus']:,} | {r['suppliers']} | {r['budget']} | {r['strategy']} | "
        f"{r['seconds']:.1f} | {r['status']} | {'yes' if r['proven'] else 'no'} | "
        f"{r['gap']:.3%} | {r['lp_gap']:.3%} | {r['lines']:,} |\n"
        for r in rows
    )
    return head + body




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="only the 500 x 20 instances")
    args = parser.parse_args()
    config = PlanningConfig()
    rows = run(SIZES[:1] if args.quick else SIZES, config)
    text = markdown(rows, config)
    print(text)
    if args.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
