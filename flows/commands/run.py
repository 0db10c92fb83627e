"""``replenish run``: the planning pipeline once as a Prefect flow run (a temporary local
server unless ``PREFECT_API_URL`` is set)."""

from __future__ import annotations

import argparse

from flows.commands.args import add_config, add_plan_options, plan_options, with_engine
from flows.config import Settings

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("Run the planning flow once (Prefect; a temporary local server unless PREFECT_API_URL "
        "is set).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    add_plan_options(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.runtime import prepare_prefect_environment

    prepare_prefect_environment()  # before Prefect is first imported
    from flows.pipeline import describe_outcome

    settings = with_engine(args, settings)
    options = plan_options(args)
    if settings.execution.engine == "dask":
        from flows.orchestration.dask import run_flow_on_dask

        print(describe_outcome(run_flow_on_dask(settings, options), settings.locale))
        return 0
    from flows.orchestration.flow import planning_flow

    print(describe_outcome(planning_flow(settings=settings, options=options), settings.locale))
    return 0
