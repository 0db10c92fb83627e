"""``replenish forecast``: forecast every SKU and channel."""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.commands.args import add_config, add_data, add_engine, add_horizon, with_engine
from flows.config import Settings
from flows.errors import UserError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Forecast every SKU and channel."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    add_data(parser)
    add_horizon(parser)
    add_engine(parser)
    parser.add_argument("--out", type=Path, required=True,
                        help="Output file, .csv or .parquet; the SKU-level (all channels) "
                             "forecast goes beside it as NAME_sku.EXT.")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.dask import execution
    from flows.pipeline.forecast import quality_path, run_forecast

    if args.out.suffix.lower() not in (".csv", ".parquet"):
        raise UserError(f"--out {args.out}: expected a file name ending in .csv or .parquet")
    settings = with_engine(args, settings)
    with execution(settings.execution):
        job = run_forecast(settings, folder=args.data, horizon=args.horizon, freq=args.freq,
                           as_of=args.as_of, out=args.out)
    result = job.result
    print(f"Forecast {len(result.channel):,} rows ({result.channel['sku'].nunique():,} SKUs, "
          f"freq {result.freq}, origin {result.origin.date()}) -> {job.channel_path}")
    print(f"SKU level (all channels) -> {job.sku_path}")
    suspected = result.data_quality
    if job.channel_path is not None and len(suspected):
        print(f"{len(suspected):,} suspected stockouts or listing problems (censored, not read "
              f"as low demand) -> {quality_path(job.channel_path)}")
    print(f"Recorded as run {job.run_id}")
    return 0
