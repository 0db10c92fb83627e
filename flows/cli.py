"""The ``replenish`` command line.

Each sub-command is a small function that parses nothing itself: arguments are declared in
:func:`build_parser` and the work is delegated to plain functions elsewhere in ``flows``.
Errors the user can fix (bad data, bad config, an unreachable source) print one clear message per
problem on stderr and exit with code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from forecasting.contract import DataContractError
from flows.config import ConfigError, Settings, load_settings
from flows.errors import UserError

__all__ = ["build_parser", "main"]

EXIT_USER_ERROR = 2
Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(func: Command) -> Command:
        COMMANDS[name] = func
        return func

    return register


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML config file (default: built-in defaults + REPLENISH_* env).")


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="Dataset folder of NAME.csv / NAME.parquet tables "
                             "(default: the config's data.folder).")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replenish",
        description="Demand forecasting and inventory replenishment for multi-channel brands.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="Check a dataset against the data contract.")
    _add_common(validate)
    _add_data(validate)
    validate.add_argument("--for", dest="purpose", choices=("forecast", "plan"), default="plan",
                          help="Which tables must be present (default: plan).")
    return parser


@command("validate")
def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from flows.sources import load_dataset

    require = ("sales",) if args.purpose == "forecast" else None
    dataset, summary = load_dataset(settings, folder=args.data, require=require)
    print(summary)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        return COMMANDS[args.command](args, settings)
    except DataContractError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(err.problems)} problem(s) found; nothing was written.", file=sys.stderr)
        return EXIT_USER_ERROR
    except (ConfigError, UserError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
