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
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from flows.config import Settings, load_settings
from flows.errors import UserError

if TYPE_CHECKING:
    from replenishment.whatif import PlanOverrides
from forecasting.contract import DataContractError

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

    sample = sub.add_parser("sample", help="Write the fictional sample brand's dataset.")
    _add_common(sample)
    sample.add_argument("--out", type=Path, required=True,
                        help="Folder to write the tables (and truth/) to.")
    sample.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
    sample.add_argument("--skus", type=int, default=300, help="Number of SKUs (default: 300).")
    sample.add_argument("--days", type=int, default=800,
                        help="Days of sales history (default: 800).")
    sample.add_argument("--as-of", dest="as_of", default="2026-10-31",
                        help="Last day of the history, ISO date (default: 2026-10-31).")

    forecast = sub.add_parser("forecast", help="Forecast every SKU and channel.")
    _add_common(forecast)
    _add_data(forecast)
    _add_horizon(forecast)
    _add_engine(forecast)
    forecast.add_argument("--out", type=Path, required=True,
                          help="Output file, .csv or .parquet; the SKU-level (all channels) "
                               "forecast goes beside it as NAME_sku.EXT.")

    backtest = sub.add_parser("backtest", help="Rolling-origin evaluation of every model.")
    _add_common(backtest)
    _add_data(backtest)
    _add_horizon(backtest)
    backtest.add_argument("--windows", type=_positive_int, default=3,
                          help="Rolling origins, each a horizon apart (default: 3).")
    backtest.add_argument("--out", type=Path, required=True,
                          help="Output folder for the score tables and the plot.")

    plan = sub.add_parser("plan", help="Forecast, then plan supplier orders, CPFR files and "
                          "alerts.")
    _add_common(plan)
    _add_data(plan)
    _add_engine(plan)
    plan.add_argument("--as-of", dest="as_of", type=_iso_date, default=None,
                      help="Planning date, ISO; later sales are ignored "
                           "(default: the last sales date).")
    plan.add_argument("--out", type=Path, default=None,
                      help="Output folder, replaced as a whole when the run succeeds "
                           "(default: the config's output_dir).")
    plan.add_argument("--overrides", type=Path, default=None,
                      help="What-if YAML: promotions (start, sku/category/channel, lift), "
                           "lead_times (supplier, lead_time_days), budget.")
    plan.add_argument("--budget", type=float, default=None,
                      help="What-if: purchase budget of this run.")
    plan.add_argument("--lead-time", dest="lead_times", action="append", default=[],
                      metavar="SUPPLIER=DAYS", help="What-if: a supplier's lead time (repeatable).")

    run = sub.add_parser("run", help="Run the planning flow once (Prefect; a temporary local "
                         "server unless PREFECT_API_URL is set).")
    _add_common(run)
    _add_engine(run)
    run.add_argument("--as-of", dest="as_of", type=_iso_date, default=None,
                     help="Planning date, ISO; later sales are ignored "
                          "(default: the last sales date).")

    serve = sub.add_parser("serve", help="Serve the planning flow on the config's schedule "
                           "(schedule.cron in schedule.timezone) until interrupted.")
    _add_common(serve)

    _add_simulate(sub)

    demo = sub.add_parser("demo", help="Run the planning flow on the embedded sample brand.")
    _add_common(demo)
    return parser


def _add_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = sub.add_parser(
        "simulate", help="Replay history with the engine's policy and the planners' reorder "
        "rule tuned to the same fill rate; compare service and inventory.")
    _add_common(simulate)
    _add_data(simulate)
    simulate.add_argument("--start", type=_iso_date, required=True,
                          help="First simulated day, ISO date.")
    simulate.add_argument("--end", type=_iso_date, required=True,
                          help="Last simulated day, ISO date (true demand or sales must reach "
                               "it).")
    simulate.add_argument("--out", type=Path, required=True,
                          help="Output folder (summary.json, trace.csv, baseline_grid.csv), "
                               "replaced as a whole when the run succeeds.")
    simulate.add_argument("--review-days", dest="review_days", type=_positive_int, default=7,
                          help="Days between reviews (default: 7).")
    simulate.add_argument("--target-fill-rate", dest="target_fill_rate", type=_share,
                          default=0.95, help="Fill rate both policies aim at (default: 0.95).")
    simulate.add_argument("--warmup-days", dest="warmup_days", type=_non_negative_int,
                          default=None, help="First days left out of the metrics (default: "
                          "the longest lead time plus a review period).")
    simulate.add_argument("--forecast-every", dest="forecast_every", type=_positive_int,
                          default=1, help="Reviews one forecast serves (default: 1, a new "
                          "forecast at every review).")
    simulate.add_argument("--seed", type=int, default=0,
                          help="Seed of the supplier lead-time draws (default: 0).")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text}")
    return value


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("local", "dask"), default=None,
                        help="Where forecasting runs: this process, or a Dask cluster "
                             "(default: the config's forecast.engine, local).")
    parser.add_argument("--dask-address", dest="dask_address", default=None,
                        metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786 "
                        "(default with --engine dask: a local cluster, one worker per core).")


def _with_engine(args: argparse.Namespace, settings: Settings) -> Settings:
    from flows.orchestration.dask import with_engine

    return with_engine(settings, args.engine, args.dask_address)


def _add_horizon(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--horizon", type=_positive_int, default=None,
                        help="Periods to forecast (default: the config's forecast.horizon, 28).")
    parser.add_argument("--freq", default=None,
                        help="pandas frequency alias such as D, W-MON or W-FRI "
                             "(default: inferred from the sales dates).")
    parser.add_argument("--as-of", dest="as_of", type=_iso_date, default=None,
                        help="Forecast origin, ISO date; later sales are ignored "
                             "(default: the last sales date).")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def _iso_date(text: str) -> str:
    try:
        return pd.Timestamp(date.fromisoformat(text)).date().isoformat()
    except ValueError as err:
        message = f"expected an ISO date (YYYY-MM-DD), got {text!r}"
        raise argparse.ArgumentTypeError(message) from err


def _output_file(path: Path) -> Path:
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise UserError(f"--out {path}: expected a file name ending in .csv or .parquet")
    return path


@command("validate")
def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from flows.storage.sources import load_dataset

    require = ("sales",) if args.purpose == "forecast" else None
    _, summary = load_dataset(settings, folder=args.data, require=require)
    print(summary)
    return 0


@command("sample")
def _sample(args: argparse.Namespace, settings: Settings) -> int:
    from flows.sample import describe_brand, generate_brand, write_brand

    brand = generate_brand(seed=args.seed, skus=args.skus, days=args.days, as_of=args.as_of)
    out = write_brand(brand, args.out)
    print(describe_brand(brand, out))
    return 0


@command("forecast")
def _forecast(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.dask import execution
    from flows.pipeline.jobs import run_forecast

    out = _output_file(args.out)
    settings = _with_engine(args, settings)
    with execution(settings.forecast):
        job = run_forecast(settings, folder=args.data, horizon=args.horizon, freq=args.freq,
                           as_of=args.as_of, out=out)
    result = job.result
    print(f"Forecast {len(result.channel):,} rows ({result.channel['sku'].nunique():,} SKUs, "
          f"freq {result.freq}, origin {result.origin.date()}) -> {job.channel_path}")
    print(f"SKU level (all channels) -> {job.sku_path}")
    print(f"Recorded as run {job.run_id}")
    return 0


def _overrides(args: argparse.Namespace) -> PlanOverrides | None:
    from replenishment.whatif import parse_overrides

    document: dict[str, object] = {}
    if args.overrides is not None:
        try:
            loaded = yaml.safe_load(args.overrides.read_text(encoding="utf-8-sig")) or {}
        except (OSError, yaml.YAMLError) as err:
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


@command("plan")
def _plan(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.dask import execution
    from flows.pipeline.jobs import describe_plan, run_plan

    settings = _with_engine(args, settings)
    with execution(settings.forecast):
        job = run_plan(settings, as_of=args.as_of, out=args.out or settings.output_dir,
                       folder=args.data, overrides=_overrides(args))
    print(describe_plan(job))
    return 0


@command("run")
def _run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.runtime import prepare_prefect_environment

    prepare_prefect_environment()  # before Prefect is first imported
    from flows.orchestration.flow import describe_outcome, planning_flow

    config = str(args.config) if args.config is not None else None
    settings = _with_engine(args, settings)
    if settings.forecast.engine == "dask":
        from flows.orchestration.dask import run_flow_on_dask

        print(describe_outcome(run_flow_on_dask(settings, config, as_of=args.as_of)))
        return 0
    print(describe_outcome(planning_flow(config, as_of=args.as_of)))
    return 0


@command("serve")
def _serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.config is None:
        raise UserError("replenish serve needs --config FILE (the deployment runs with it)")
    from flows.orchestration.runtime import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.orchestration.flow import serve_planning

    serve_planning(settings, args.config)
    return 0


@command("simulate")
def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline.simulate import describe_simulation, run_simulation
    from replenishment.simulate import SimulationSettings

    simulation = SimulationSettings(
        review_days=args.review_days, target_fill_rate=args.target_fill_rate, seed=args.seed,
        warmup_days=args.warmup_days, forecast_every=args.forecast_every)
    job = run_simulation(settings, start=args.start, end=args.end, out=args.out,
                         folder=args.data, simulation=simulation)
    print(describe_simulation(job))
    return 0


@command("backtest")
def _backtest(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline.backtest import describe_backtest, run_backtest

    job = run_backtest(settings, out=args.out, folder=args.data, horizon=args.horizon,
                       windows=args.windows, freq=args.freq, as_of=args.as_of)
    print(describe_backtest(job))
    return 0


@command("demo")
def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.runtime import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.sample.demo import run_demo

    print(run_demo(settings, args.config))
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
    except UserError as err:  # the one root of errors a user can fix
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
