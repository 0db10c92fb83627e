"""``replenish plan``: the planning pipeline once, in this process (no Prefect)."""

from __future__ import annotations

import argparse

from flows.commands.args import add_config, add_data, add_plan_options, plan_options, with_engine
from flows.config import Settings

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("Forecast, then plan supplier orders, CPFR files and alerts; write the report and "
        "notify (the same pipeline as `run`, without Prefect).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    add_data(parser)
    add_plan_options(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.dask import execution
    from flows.pipeline import describe_outcome, run_planning

    settings = with_engine(args, settings)
    with execution(settings.execution):
        outcome = run_planning(settings, plan_options(args, folder=args.data))
    print(describe_outcome(outcome, settings.locale))
    return 0
