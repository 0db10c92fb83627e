"""Argument types and option groups shared by several commands."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from flows.config import Settings
from flows.errors import UserError
from flows.pipeline.planning import PlanOptions
from replenishment.whatif import PlanOverrides, parse_overrides

__all__ = [
    "add_config",
    "add_data",
    "add_engine",
    "add_horizon",
    "add_plan_options",
    "iso_date",
    "non_negative_int",
    "plan_options",
    "positive_int",
    "share",
    "with_engine",
]


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML config file (default: built-in defaults + REPLENISH_* env).")


def add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="Dataset folder of NAME.csv / NAME.parquet tables "
                             "(default: the config's data.folder).")


def share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text}")
    return value


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from err
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text}")
    return value


def positive_int(text: str) -> int:
    return _whole(text, 1)


def non_negative_int(text: str) -> int:
    return _whole(text, 0)


def iso_date(text: str) -> str:
    try:
        return pd.Timestamp(date.fromisoformat(text)).date().isoformat()
    except ValueError as err:
        message = f"expected an ISO date (YYYY-MM-DD), got {text!r}"
        raise argparse.ArgumentTypeError(message) from err


def add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("local", "dask"), default=None,
                        help="Where forecasting runs: this process, or a Dask cluster "
                             "(default: the config's execution.engine, local).")
    parser.add_argument("--dask-address", dest="dask_address", default=None,
                        metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786 "
                        "(default with --engine dask: a local cluster, one worker per core).")


def with_engine(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with ``--engine`` and ``--dask-address`` applied."""
    from flows.orchestration.dask import with_engine as apply

    return apply(settings, args.engine, args.dask_address)


def add_horizon(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--horizon", type=positive_int, default=None,
                        help="Periods to forecast (default: the config's forecast.horizon).")
    parser.add_argument("--freq", default=None,
                        help="pandas frequency alias such as D, W-MON or W-FRI "
                             "(default: inferred from the sales dates).")
    parser.add_argument("--as-of", dest="as_of", type=iso_date, default=None,
                        help="Forecast origin, ISO date; later sales are ignored "
                             "(default: the last sales date).")


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The options of a planning run, the same for ``plan`` and ``run``."""
    add_engine(parser)
    parser.add_argument("--as-of", dest="as_of", type=iso_date, default=None,
                        help="Planning date, ISO; later sales are ignored "
                             "(default: the last sales date).")
    parser.add_argument("--out", type=Path, default=None,
                        help="Output folder, replaced as a whole when the run succeeds "
                             "(default: the config's output_dir).")
    parser.add_argument("--overrides", type=Path, default=None,
                        help="What-if YAML: promotions (start, sku/category/channel, lift), "
                             "lead_times (supplier, lead_time_days), budget.")
    parser.add_argument("--budget", type=float, default=None,
                        help="What-if: purchase budget of this run.")
    parser.add_argument("--lead-time", dest="lead_times", action="append", default=[],
                        metavar="SUPPLIER=DAYS", help="What-if: a supplier's lead time "
                        "(repeatable).")
    parser.add_argument("--force", action="store_true",
                        help="Replace the output folder even when it holds a later as-of date.")
    parser.add_argument("--no-report", dest="report", action="store_false",
                        help="Do not write report.html.")
    notify = parser.add_mutually_exclusive_group()
    notify.add_argument("--notify", dest="notify", action="store_const", const=True,
                        default=None, help="Send digests and supplier e-mail even for a "
                        "what-if (default: only plans without what-if options notify).")
    notify.add_argument("--no-notify", dest="notify", action="store_const", const=False,
                        help="Send nothing to teams or suppliers.")


def _overrides(args: argparse.Namespace) -> PlanOverrides | None:
    document: dict[str, object] = {}
    if args.overrides is not None:
        try:
            loaded = yaml.safe_load(args.overrides.read_text(encoding="utf-8-sig")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise UserError(f"{args.overrides}: cannot read the overrides file: {err}") from err
        if not isinstance(loaded, dict):
            raise UserError(
                f"{args.overrides}: expected a mapping (promotions, lead_times, budget)")
        document.update(loaded)
    if args.budget is not None:
        document["budget"] = args.budget
    lead_times = list(document.get("lead_times") or [])  # type: ignore[call-overload]
    for text in args.lead_times:
        supplier, sep, days = text.rpartition("=")
        if not sep or not supplier:
            raise UserError(f"--lead-time {text}: expected SUPPLIER=DAYS, e.g. SUP-01=21")
        lead_times.append({"supplier": supplier, "lead_time_days": days})
    if lead_times:
        document["lead_times"] = lead_times
    return parse_overrides(document) if document else None


def plan_options(args: argparse.Namespace, folder: Path | None = None) -> PlanOptions:
    """The :class:`PlanOptions` the command line asked for."""
    return PlanOptions(as_of=args.as_of, out=args.out, folder=folder,
                       overrides=_overrides(args), report=args.report, notify=args.notify,
                       force=args.force)
