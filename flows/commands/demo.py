"""``replenish demo``: the planning flow on the embedded sample brand, from nothing."""

from __future__ import annotations

import argparse

from flows.commands.args import add_config
from flows.config import Settings

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Run the planning flow on the embedded sample brand."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.runtime import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.sample.demo import run_demo

    print(run_demo(settings))
    return 0
