"""The ``replenish`` command line: one module per command in :mod:`flows.commands`.

Each command module declares its arguments (``add_arguments``) and does its work (``run``) by
calling plain functions elsewhere in ``flows``. Errors a user can fix (every
:class:`forecasting.errors.UserError`: bad data, bad config, an unreachable source or store, an
infeasible or timed-out plan) are caught here, in one place: one clear message per problem on
stderr, exit code 2, no traceback. Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from flows.commands import (
    approve,
    backtest,
    confirm,
    demo,
    forecast,
    plan,
    run,
    sample,
    send,
    serve,
    simulate,
    ui,
    validate,
)
from flows.config import load_settings
from forecasting.contract import DataContractError
from forecasting.errors import UserError

__all__ = ["COMMANDS", "EXIT_USER_ERROR", "build_parser", "main", "silence_solver_banner"]

EXIT_USER_ERROR = 2
COMMANDS: dict[str, ModuleType] = {
    "validate": validate, "sample": sample, "forecast": forecast, "backtest": backtest,
    "plan": plan, "run": run, "serve": serve, "simulate": simulate, "demo": demo,
    "approve": approve, "send": send, "confirm": confirm, "ui": ui,
}


# Commands that run the optimiser: HiGHS prints a copyright banner on the process's stdout
# (from C++, past Python's sys.stdout) the first time a solver object is made.
_SOLVING = frozenset({"plan", "run", "demo", "simulate"})


def silence_solver_banner() -> None:
    """Make the process's first HiGHS object with stdout pointed at /dev/null, so the banner
    does not land in the middle of the command's own output."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replenish",
        description="Demand forecasting and inventory replenishment for multi-channel brands.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse printed the usage and the problem (exit 2), or help
        return exit_.code if isinstance(exit_.code, int) else EXIT_USER_ERROR
    try:
        settings = load_settings(args.config)
        if args.command in _SOLVING:
            silence_solver_banner()
        code: int = COMMANDS[args.command].run(args, settings)
        return code
    except DataContractError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(err.problems)} problem(s) found; nothing was written.", file=sys.stderr)
        return EXIT_USER_ERROR
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
