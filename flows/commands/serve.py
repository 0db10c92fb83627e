"""``replenish serve``: the planning flow on the config's schedule until interrupted."""

from __future__ import annotations

import argparse

from flows.commands.args import add_config
from flows.config import Settings
from flows.errors import UserError

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("Serve the planning flow on the config's schedule (schedule.cron in "
        "schedule.timezone) until interrupted.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.config is None:
        raise UserError("replenish serve needs --config FILE (the deployment runs with it)")
    from flows.orchestration.runtime import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.orchestration.flow import serve_planning

    serve_planning(settings, args.config)
    return 0
