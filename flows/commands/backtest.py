"""``replenish backtest``: rolling-origin evaluation of every model."""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.commands.args import add_config, add_data, add_horizon, positive_int
from flows.config import Settings

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Rolling-origin evaluation of every model."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    add_data(parser)
    add_horizon(parser)
    parser.add_argument("--windows", type=positive_int, default=3,
                        help="Rolling origins, each a horizon apart (default: 3).")
    parser.add_argument("--out", type=Path, required=True,
                        help="Output folder for the score tables and the plot.")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline.backtest import describe_backtest, run_backtest

    job = run_backtest(settings, out=args.out, folder=args.data, horizon=args.horizon,
                       windows=args.windows, freq=args.freq, as_of=args.as_of)
    print(describe_backtest(job))
    return 0
