"""Policy simulation benchmark: the engine's plan vs the planners' rule on the sample brand.

Generates the sample brand (seeded), replays the last ``--weeks`` weeks of its history with
weekly reviews — the engine forecasting and planning at every review, the baseline rule tuned
to the same fill rate — and reports both policies' service and inventory with the runtime.

    .venv/bin/python -m benchmarks.bench_simulation --skus 80 --weeks 26 --forecast-every 2

Results go to ``benchmarks/results/simulation/`` (summary JSON per configuration) and a
Markdown row is printed for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd

from flows.sample import generate_brand
from forecasting.config import ForecastConfig
from replenishment.config import PlanningConfig
from replenishment.contract import parse_dataset
from replenishment.sim_returns import truth_returns_table
from replenishment.simulate import (
    SimulationSettings,
    engine_forecast,
    simulate,
    simulation_forecast_config,
    simulation_planning_config,
)
from replenishment.timeline import planning_horizon

RESULTS = Path(__file__).resolve().parent / "results" / "simulation"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=80)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--seed", type=int, default=0, help="Sample brand seed.")
    parser.add_argument("--forecast-every", type=int, default=1)
    parser.add_argument("--stats-only", action="store_true",
                        help="Per-series models only (no global LightGBM: cheaper, but blind "
                             "to promotions, livestreams and festivals).")
    parser.add_argument("--end", default="2026-10-31", help="Last simulated day.")
    parser.add_argument("--start", default=None,
                        help="First simulated day (default: --weeks weeks before --end).")
    parser.add_argument("--as-of", default=None,
                        help="Last day of the brand's history (default: the generator's).")
    parser.add_argument("--one-pool", action="store_true",
                        help="Without the brand's warehouses and returns tables (one stock "
                             "per SKU, nothing returned): the replay before issue 14.")
    return parser.parse_args()


def by_supplier(trace: pd.DataFrame, products: pd.DataFrame, since: str) -> dict[str, Any]:
    """Fill rate and average inventory value per supplier and policy, from ``since`` on:
    where the service is lost."""
    measured = trace[trace["date"] >= pd.Timestamp(since)]
    maker = products.drop_duplicates("sku").set_index("sku")["supplier"]
    grouped = measured.assign(supplier=measured["sku"].map(maker)).groupby(
        ["policy", "supplier"])
    table = grouped[["demand", "served", "on_hand_value"]].sum().reset_index()
    days = measured["date"].nunique()
    out: dict[str, Any] = {}
    for policy, supplier, demand, served, value in zip(
            table["policy"].astype(str), table["supplier"].astype(str),
            table["demand"].to_numpy(float), table["served"].to_numpy(float),
            table["on_hand_value"].to_numpy(float), strict=True):
        out.setdefault(policy, {})[supplier] = {
            "fill_rate": round(served / demand, 3) if demand > 0 else None,
            "avg_on_hand_value": round(value / days, 0)}
    return out


def main() -> None:
    args = _arguments()
    brand = (generate_brand(seed=args.seed, skus=args.skus) if args.as_of is None
             else generate_brand(seed=args.seed, skus=args.skus, as_of=args.as_of))
    tables = {name: frame for name, frame in brand.tables.items()
              if not (args.one_pool and name in ("warehouses", "returns"))}
    dataset = parse_dataset({name: (frame, name) for name, frame in tables.items()},
                            require=("sales", "products", "suppliers", "inventory"))
    returns = None if args.one_pool else truth_returns_table(brand.returns)
    end = pd.Timestamp(args.end)
    start = (end - pd.Timedelta(days=7 * args.weeks - 1) if args.start is None
             else pd.Timestamp(args.start))
    eve = start - pd.Timedelta(days=1)
    evening = brand.stock[brand.stock["date"] == eve]
    orders = brand.purchase_orders
    open_orders = orders[(orders["order_date"] <= eve) & (orders["eta"] > eve)]
    settings = SimulationSettings(forecast_every=args.forecast_every)
    planning = simulation_planning_config(PlanningConfig(), settings.target_fill_rate,
                                          settings.review_days)
    config = simulation_forecast_config(
        ForecastConfig(global_model=not args.stats_only),
        settings.review_days, settings.forecast_every,
        planning_horizon(dataset.supply.suppliers, planning))
    started = time.perf_counter()
    result = simulate(dataset, brand.true_demand, start, end, engine_forecast(config),
                      settings=settings, start_stock=evening.set_index("sku")["on_hand"],
                      open_orders=open_orders, returns=returns)
    seconds = time.perf_counter() - started
    summary = {**result.summary, "total_seconds": round(seconds, 1),
               "by_supplier": by_supplier(result.trace, dataset.supply.products,
                                          result.summary["measured_from"]),
               "forecast_config": config.model_dump(mode="json"),
               "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}"
                          f", Python {platform.python_version()}"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = (f"sim_{args.skus}skus_{start.date()}_{end.date()}_every{args.forecast_every}"
            f"{'_stats' if args.stats_only else '_global'}{'_onepool' if args.one_pool else ''}"
            f"_seed{args.seed}.json")
    (RESULTS / name).write_text(json.dumps(summary, indent=2, ensure_ascii=False),
                                encoding="utf-8")
    # The day-by-day trace (stock, demand, sales, receipts per SKU and policy) for diagnosis.
    result.trace.to_csv(RESULTS / name.replace(".json", "_trace.csv.gz"), index=False)
    policy, baseline = summary["policy"], summary["baseline"]
    rule = summary["baseline_rule"]
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    models = "stats" if args.stats_only else "stats + LightGBM"
    print(f"| {summary['skus']} | {args.weeks} | {models} | {args.forecast_every} "
          f"| {policy['fill_rate']:.3f} | {baseline['fill_rate']:.3f} "
          f"| {policy['avg_on_hand_value']:,.0f} | {baseline['avg_on_hand_value']:,.0f} "
          f"| {summary['inventory_value_saving']:.1%} | N={rule['cover_days']:g}, "
          f"M={rule['reorder_days']:g} | {seconds:,.0f} |")
    print(f"pools {summary['pools']}, returns {summary['returns']}: restocked policy "
          f"{policy['units_restocked']:,.0f} / baseline {baseline['units_restocked']:,.0f}; "
          f"transfers {policy['transfers']} ({policy['transfer_units']:,.0f} units, "
          f"{policy['transfer_cost']:,.2f})")


if __name__ == "__main__":
    main()
