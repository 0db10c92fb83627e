"""``replenish sample``: write the fictional sample brand's dataset (and its truth)."""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.commands.args import add_config, iso_date, positive_int
from flows.config import Settings

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Write the fictional sample brand's dataset."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("--out", type=Path, required=True,
                        help="Folder to write the tables (and truth/) to.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
    parser.add_argument("--skus", type=positive_int, default=300,
                        help="Number of SKUs (default: 300).")
    parser.add_argument("--days", type=positive_int, default=800,
                        help="Days of sales history (default: 800).")
    parser.add_argument("--as-of", dest="as_of", type=iso_date, default="2026-10-31",
                        help="Last day of the history, ISO date (default: 2026-10-31).")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.sample import describe_brand, generate_brand, write_brand

    brand = generate_brand(seed=args.seed, skus=args.skus, days=args.days, as_of=args.as_of)
    out = write_brand(brand, args.out)
    print(describe_brand(brand, out))
    return 0
