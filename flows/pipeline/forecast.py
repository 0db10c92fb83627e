"""The engine's jobs as plain functions: load -> compute -> write -> record.

The CLI and the Prefect flow both call these. Each job validates its input first, records
itself in the run store (idempotent per as-of date, config and inputs), writes its files
atomically, and marks the run failed with the reason when anything goes wrong.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.tseries.frequencies import to_offset

from flows.config import Settings
from flows.errors import UserError
from flows.progress import Progress
from flows.storage.exports import safe_filename, staged_output, write_csv, write_frame
from flows.storage.hashing import hash_frames, hash_mapping
from flows.storage.sources import (
    RawTables,
    SignalsResult,
    fetch_signals,
    load_dataset,
    signals_cache_dir,
    summarize,
)
from flows.storage.store import RunKind, RunRecord, RunStore
from forecasting.config import ForecastConfig
from forecasting.contract import DemandData
from forecasting.engine import Forecaster, ForecastResult, resolve_freq
from replenishment.config import PlanningConfig
from replenishment.contract import PLANNING_TABLES, Dataset, parse_dataset
from replenishment.plan import PlanResult, plan
from replenishment.whatif import PlanOverrides

__all__ = [
    "ForecastJob",
    "PlanJob",
    "check_plannable",
    "dataset_hashes",
    "describe_plan",
    "forecast_config",
    "forecast_demand",
    "plan_config_hash",
    "plan_orders",
    "plan_summary",
    "previous_forecast",
    "read_signals",
    "recorded_run",
    "run_forecast",
    "run_plan",
    "save_plan_outputs",
    "sku_path",
    "validate_tables",
    "write_plan_outputs",
]


def dataset_hashes(dataset: Dataset) -> dict[str, str]:
    """Content hashes of every non-empty table, recorded with the run."""
    frames = {
        f.name: getattr(part, f.name)
        for part in (dataset.demand, dataset.supply)
        for f in dataclasses.fields(part)
    }
    return hash_frames({name: frame for name, frame in frames.items() if not frame.empty})


def forecast_config(
    settings: Settings, horizon: int | None = None, freq: str | None = None
) -> ForecastConfig:
    """The config's forecast section with command-line overrides applied."""
    updates: dict[str, object] = {}
    if horizon is not None:
        updates["horizon"] = horizon
    if freq is not None:
        updates["freq"] = freq
    return ForecastConfig.model_validate({**settings.forecast.model_dump(), **updates})


@contextmanager
def recorded_run(
    settings: Settings, kind: RunKind, as_of: pd.Timestamp, config_hash: str,
    input_hashes: Mapping[str, str], progress: Progress,
) -> Iterator[tuple[RunStore, RunRecord]]:
    """Open the run store and record a run around the body; failures are recorded too."""
    with RunStore(settings.store_url) as store:
        run = store.begin_run(kind, as_of.date(), config_hash, dict(input_hashes))
        try:
            yield store, run
        except BaseException as err:
            store.finish_run(run.run_id, "failed", progress.timings,
                             error=f"{type(err).__name__}: {err}")
            raise
        store.finish_run(run.run_id, "succeeded", progress.timings)


def read_signals(settings: Settings) -> SignalsResult | None:
    """The signals API's tables (promotions, livestreams), or None when none is configured.

    Raises :class:`~flows.errors.SourceError` when the API stays down after its retries and
    no fallback to the last good rows is allowed.
    """
    source = settings.data
    if not source.signals_url:
        return None
    return fetch_signals(
        source.signals_url, source.signals_tables, cache_dir=signals_cache_dir(settings),
        token_env=source.signals_token_env, timeout_s=source.signals_timeout_s,
        retries=source.signals_retries, use_last_good=source.signals_use_last_good,
        timezone=settings.timezone,
    )


def validate_tables(
    raw: RawTables, origin: str, signals: SignalsResult | None, timezone: str,
    require: tuple[str, ...] = PLANNING_TABLES,
) -> tuple[Dataset, str]:
    """Merge the signals into the raw tables and validate them; return the dataset and a
    short summary. Raises :class:`DataContractError` naming every problem."""
    tables = dict(raw)
    warnings: list[str] = []
    if signals is not None:
        tables.update(signals.tables)
        warnings = signals.warnings
        origin += " + signals API"
    dataset = parse_dataset(tables, timezone, require)
    return dataset, summarize(dataset, tables, origin, warnings)


def check_plannable(dataset: Dataset, config: ForecastConfig) -> None:
    """Refuse, before any forecasting, data that planning cannot use: it plans day by day."""
    freq = resolve_freq(dataset.demand, config)
    if to_offset(freq) != to_offset("D"):
        raise UserError(
            f"planning needs daily sales, but the sales are at frequency {freq!r} "
            f"({'set by forecast.freq' if config.freq else 'inferred from the sales dates'}): "
            "give daily sales rows (one per date, sku and channel), or use "
            "`replenish forecast` for a forecast at this frequency"
        )


def forecast_demand(
    demand: DemandData, products: pd.DataFrame, config: ForecastConfig,
    as_of: pd.Timestamp | None,
) -> ForecastResult:
    """Fit the forecasting engine on ``demand`` up to ``as_of`` and forecast the horizon."""
    forecaster = Forecaster(config).fit(demand, as_of, products=products)
    return forecaster.predict()


def plan_orders(
    dataset: Dataset, forecast: ForecastResult, config: PlanningConfig, as_of: pd.Timestamp,
    previous: pd.DataFrame | None = None, overrides: PlanOverrides | None = None,
) -> PlanResult:
    """Orders, the order forecast, exceptions and alerts as of ``as_of``."""
    if to_offset(forecast.freq) != to_offset("D"):
        raise UserError(f"planning needs a daily forecast, got frequency {forecast.freq!r}")
    return plan(dataset, forecast, config, as_of, previous=previous, overrides=overrides)


def plan_config_hash(settings: Settings, overrides: PlanOverrides | None = None) -> str:
    """The config part of a planning run's key in the run store."""
    overrides_json = overrides.model_dump_json() if overrides else ""
    return hash_mapping({"settings": settings.fingerprint(), "overrides": overrides_json})


def previous_forecast(store: RunStore, as_of: pd.Timestamp, run_id: str) -> pd.DataFrame | None:
    """The SKU forecast of the latest earlier plan, for CPFR's forecast-move exception."""
    previous = store.latest_run("plan", before_as_of=as_of.date(), exclude_run_id=run_id)
    return None if previous is None else store.load_output(previous.run_id, "forecast_sku")


def save_plan_outputs(
    store: RunStore, run_id: str, forecast: ForecastResult, result: PlanResult
) -> None:
    """Keep the run's frames in the run store (replacing an earlier attempt's)."""
    store.save_outputs(run_id, {
        "forecast_channel": forecast.channel, "forecast_sku": result.forecast,
        "models": forecast.models, "scores": forecast.scores, "orders": result.orders,
        "order_forecast": result.order_forecast, "exceptions": result.exceptions,
        "alerts": result.alerts, "levels": result.levels,
    })


@dataclass(frozen=True)
class ForecastJob:
    """What ``run_forecast`` produced and where it put it."""

    run_id: str
    result: ForecastResult
    dataset: Dataset
    channel_path: Path | None
    sku_path: Path | None


def sku_path(out: Path) -> Path:
    """The SKU-level (all channels) file written beside the channel-level forecast."""
    return out.with_name(f"{out.stem}_sku{out.suffix}")


def run_forecast(
    settings: Settings, *, folder: Path | None = None, horizon: int | None = None,
    freq: str | None = None, as_of: str | None = None, out: Path | None = None,
    quiet: bool = False,
) -> ForecastJob:
    """Forecast every (sku, channel) series; write ``out`` and its SKU-level twin."""
    progress = Progress(3, quiet=quiet)
    with progress.step("loading and validating data"):
        dataset, summary = load_dataset(settings, folder, require=("sales",))
    progress.say(summary)
    config = forecast_config(settings, horizon, freq)
    forecaster = Forecaster(config)
    origin_hint = pd.Timestamp(as_of) if as_of else dataset.demand.sales["date"].max()
    config_hash = settings.model_copy(update={"forecast": config}).fingerprint()
    with recorded_run(settings, "forecast", origin_hint, config_hash,
                      dataset_hashes(dataset), progress) as (store, run):
        with progress.step(f"forecasting {config.horizon} periods ahead"):
            forecaster.fit(dataset.demand, as_of, products=dataset.supply.products)
            result = forecaster.predict()
        with progress.step("writing outputs"):
            channel_file = sku_file = None
            if out is not None:
                channel_file = write_frame(result.channel, out)
                sku_file = write_frame(result.sku, sku_path(out))
            store.save_outputs(run.run_id, {
                "forecast_channel": result.channel, "forecast_sku": result.sku,
                "models": result.models, "scores": result.scores,
            })
    return ForecastJob(run.run_id, result, dataset, channel_file, sku_file)


@dataclass(frozen=True)
class PlanJob:
    """What ``run_plan`` produced and where it put it."""

    run_id: str
    forecast: ForecastResult
    plan: PlanResult
    dataset: Dataset
    out: Path
    files: dict[str, Path]


def write_plan_outputs(result: PlanResult, forecast: ForecastResult, folder: Path,
                       summary: dict[str, object]) -> dict[str, Path]:
    """Every file a planner and the suppliers receive, into ``folder``."""
    files: dict[str, Path] = {}
    for supplier, lines in result.orders_by_supplier().items():
        files[f"orders/{supplier}"] = write_csv(
            lines, folder / "orders" / f"{safe_filename(supplier)}.csv")
    for supplier, weeks in result.order_forecast_by_supplier().items():
        files[f"order_forecast/{supplier}"] = write_csv(
            weeks, folder / "order_forecast" / f"{safe_filename(supplier)}.csv")
    for name, frame in (("orders", result.orders), ("exceptions", result.exceptions),
                        ("alerts", result.alerts), ("levels", result.levels),
                        ("forecast", forecast.channel), ("forecast_sku", forecast.sku)):
        files[name] = write_csv(frame, folder / f"{name}.csv")
    summary_path = folder / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str),
                            encoding="utf-8")
    files["summary"] = summary_path
    return files


def plan_summary(result: PlanResult, run_id: str, as_of: pd.Timestamp) -> dict[str, object]:
    """The run's headline numbers, written as ``summary.json``."""
    report = result.report
    severities = result.alerts["severity"].value_counts().to_dict() if len(result.alerts) else {}
    return {
        "run_id": run_id,
        "as_of": as_of.date().isoformat(),
        "skus_planned": len(result.levels),
        "order_lines": len(result.orders),
        "order_value": round(float(result.orders["line_value"].sum()), 2),
        "suppliers_ordered": int(result.orders["supplier"].nunique()),
        "exceptions": len(result.exceptions),
        "alerts": {str(k): int(v) for k, v in severities.items()},
        "solver": {
            "status": report.status, "proven_optimal": report.proven_optimal,
            "gap": report.gap, "seconds": round(report.seconds, 2), "message": report.message,
        },
        "unplanned_skus": result.unplanned,
    }


def run_plan(
    settings: Settings, *, as_of: str | None, out: Path, folder: Path | None = None,
    overrides: PlanOverrides | None = None, quiet: bool = False,
) -> PlanJob:
    """Forecast, then plan orders, CPFR files and alerts; write them all to ``out`` at once.

    ``out`` is replaced only when every file was written: a failed run leaves the previous
    run's outputs untouched.
    """
    progress = Progress(4, quiet=quiet)
    with progress.step("loading and validating data"):
        dataset, summary = load_dataset(settings, folder)
        check_plannable(dataset, settings.forecast)
    progress.say(summary)
    origin = pd.Timestamp(as_of) if as_of else pd.Timestamp(dataset.demand.sales["date"].max())
    with recorded_run(settings, "plan", origin, plan_config_hash(settings, overrides),
                      dataset_hashes(dataset), progress) as (store, run):
        with progress.step(f"forecasting {settings.forecast.horizon} periods ahead"):
            forecast = forecast_demand(dataset.demand, dataset.supply.products,
                                       settings.forecast, origin)
        with progress.step("planning orders, order forecasts and alerts"):
            previous = previous_forecast(store, origin, run.run_id)
            result = plan_orders(dataset, forecast, settings.planning, origin, previous,
                                 overrides)
        with progress.step("writing outputs"):
            summary_data = plan_summary(result, run.run_id, origin)
            with staged_output(out) as staging:
                write_plan_outputs(result, forecast, staging, summary_data)
            files = {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*.*"))}
            save_plan_outputs(store, run.run_id, forecast, result)
    return PlanJob(run.run_id, forecast, result, dataset, out, files)


def describe_plan(job: PlanJob) -> str:
    """A few lines for the terminal: what was ordered, how the solve went, what needs care."""
    result, report = job.plan, job.plan.report
    orders = result.orders
    proof = "proven optimal" if report.proven_optimal else "NOT proven optimal"
    severities = result.alerts["severity"].value_counts() if len(result.alerts) else pd.Series()
    alerts = ", ".join(f"{count} {level}" for level, count in severities.items())
    return "\n".join([
        f"Plan as of {job.forecast.origin.date()} (run {job.run_id}) -> {job.out}",
        f"  orders:      {len(orders):,} lines worth {orders['line_value'].sum():,.2f} to "
        f"{orders['supplier'].nunique()} suppliers (orders/<supplier>.csv)",
        f"  solver:      {report.status}, {proof}, gap {report.gap:.2%}, {report.seconds:.1f} s",
        f"  exceptions:  {len(result.exceptions):,} (exceptions.csv)",
        f"  alerts:      {len(result.alerts):,} (alerts.csv){': ' + alerts if alerts else ''}",
    ])
