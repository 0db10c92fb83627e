"""``replenish simulate``: replay history with the engine's policy and the planners' rule."""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.commands.args import (
    add_config,
    add_data,
    iso_date,
    non_negative_int,
    positive_int,
    share,
)
from flows.config import Settings

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("Replay history with the engine's policy and the planners' reorder rule tuned to the "
        "same fill rate; compare service and inventory.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    add_data(parser)
    parser.add_argument("--start", type=iso_date, required=True,
                        help="First simulated day, ISO date.")
    parser.add_argument("--end", type=iso_date, required=True,
                        help="Last simulated day, ISO date (true demand or sales must reach "
                             "it).")
    parser.add_argument("--out", type=Path, required=True,
                        help="Output folder (summary.json, trace.csv, baseline_grid.csv), "
                             "replaced as a whole when the run succeeds.")
    parser.add_argument("--review-days", dest="review_days", type=positive_int, default=7,
                        help="Days between reviews (default: 7).")
    parser.add_argument("--target-fill-rate", dest="target_fill_rate", type=share,
                        default=0.95, help="Fill rate both policies aim at (default: 0.95).")
    parser.add_argument("--warmup-days", dest="warmup_days", type=non_negative_int,
                        default=None, help="First days left out of the metrics (default: "
                        "the longest lead time plus a review period).")
    parser.add_argument("--forecast-every", dest="forecast_every", type=positive_int,
                        default=1, help="Reviews one forecast serves (default: 1, a new "
                        "forecast at every review).")
    parser.add_argument("--seed", type=int, default=0,
                        help="Seed of the supplier lead-time draws (default: 0).")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline.simulate import describe_simulation, run_simulation
    from replenishment.simulate import SimulationSettings

    simulation = SimulationSettings(
        review_days=args.review_days, target_fill_rate=args.target_fill_rate, seed=args.seed,
        warmup_days=args.warmup_days, forecast_every=args.forecast_every)
    job = run_simulation(settings, start=args.start, end=args.end, out=args.out,
                         folder=args.data, simulation=simulation)
    print(describe_simulation(job))
    return 0
