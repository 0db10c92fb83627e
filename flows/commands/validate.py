"""``replenish validate``: check a dataset against the data contract."""

from __future__ import annotations

import argparse

from flows.commands.args import add_config, add_data
from flows.config import Settings

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Check a dataset against the data contract."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    add_data(parser)
    parser.add_argument("--for", dest="purpose", choices=("forecast", "plan"), default="plan",
                        help="Which tables must be present (default: plan).")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.storage.sources import load_dataset

    require = ("sales",) if args.purpose == "forecast" else None
    _, summary = load_dataset(settings, folder=args.data, require=require)
    print(summary)
    return 0
