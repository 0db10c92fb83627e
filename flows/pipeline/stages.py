"""The planning pipeline's stages as plain functions: pull, validate, forecast, plan, export,
report, notify.

Every way of running a plan (``replenish plan``, ``replenish run``, ``replenish demo`` and the
scheduled Prefect flow) calls these same functions through :func:`flows.pipeline.run_planning`;
the Prefect flow only wraps them as tasks to add retries, caching and artifacts. They take and
return objects (settings, frames, results), never read settings from the environment.
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.tseries.frequencies import to_offset

from flows.config import ExecutionSettings, Settings
from flows.errors import UserError
from flows.i18n import language, localized_messages
from flows.outbound.publish import Notices, notify_plan, write_plan_report
from flows.outbound.report import PreviousForecast
from flows.pipeline.outputs import write_plan_outputs
from flows.storage.exports import staged_output
from flows.storage.hashing import hash_frames
from flows.storage.sources import (
    RawTables,
    SignalsResult,
    fetch_signals_for,
    read_raw,
    validate_tables,
)
from forecasting import Forecaster, ForecastResult
from forecasting.config import ForecastConfig
from forecasting.contract import DemandData
from forecasting.engine import resolve_freq
from replenishment.config import PlanningConfig
from replenishment.contract import PLANNING_TABLES, Dataset
from replenishment.plan import PlanResult, plan
from replenishment.timeline import planning_horizon
from replenishment.whatif import PlanOverrides

__all__ = [
    "SHORT_HORIZON",
    "check_plannable",
    "dataset_hashes",
    "export",
    "forecast",
    "localize",
    "notify",
    "plan_orders",
    "planning_forecast_config",
    "pull_signals",
    "pull_tables",
    "report",
    "validate",
]


def pull_tables(settings: Settings, folder: Path | None = None) -> tuple[RawTables, str]:
    """The raw tables from the folder (``folder`` or ``data.folder``) or the database, and a
    description of where they came from."""
    return read_raw(settings, folder)


def pull_signals(settings: Settings) -> SignalsResult | None:
    """Promotions and livestreams from the signals API, or None when none is configured.

    Raises :class:`~flows.errors.SourceError` when the API stays down after its retries, or
    answers outside its bounds (pages, bytes, time, another origin, an empty or shrunk
    answer), and no fallback to the last good rows is allowed.
    """
    return fetch_signals_for(settings)


def validate(
    raw: RawTables, origin: str, signals: SignalsResult | None, timezone: str,
    locale: str = "en", require: tuple[str, ...] = PLANNING_TABLES,
) -> tuple[Dataset, str]:
    """Merge the signals into the raw tables and validate them against the contract
    (:func:`flows.storage.sources.validate_tables`); raises
    :class:`~forecasting.contract.DataContractError` naming every problem."""
    return validate_tables(raw, origin, signals, timezone, locale, require)


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


def dataset_hashes(dataset: Dataset) -> dict[str, str]:
    """Content hashes of every non-empty table, recorded with the run."""
    frames = {
        f.name: getattr(part, f.name)
        for part in (dataset.demand, dataset.supply)
        for f in dataclasses.fields(part)
    }
    return hash_frames({name: frame for name, frame in frames.items() if not frame.empty})


SHORT_HORIZON = ("warning: forecast.horizon is {horizon} days but planning needs {needed} "
                 "(longest lead time + review + {weeks} order-forecast weeks); unset it to "
                 "forecast the whole planning horizon")
"""The warning of a forecast horizon shorter than planning needs (a gettext message id)."""


def planning_forecast_config(config: ForecastConfig, dataset: Dataset, planning: PlanningConfig,
                             ) -> tuple[ForecastConfig, dict[str, int] | None]:
    """The forecast settings of a plan: by default (``horizon`` unset) the forecast covers the
    whole planning horizon (longest lead time + review + the order-forecast weeks, see
    :func:`replenishment.timeline.planning_horizon`). A horizon set in the config is kept;
    when it is shorter than planning needs, the second value holds the fields of
    :data:`SHORT_HORIZON` (the plan then carries the forecast's typical day past its end)."""
    needed = planning_horizon(dataset.supply.suppliers, planning)
    if config.horizon is None:
        return config.model_copy(update={"horizon": needed}), None
    if config.horizon < needed:
        return config, {"horizon": config.horizon, "needed": needed,
                        "weeks": planning.order_forecast_weeks}
    return config, None


def executor_scope(execution: ExecutionSettings) -> AbstractContextManager[Any]:
    """The executor the per-series models are spread over: None (this process) for the local
    engine, the current Dask client's executor for ``dask`` (see
    :mod:`flows.orchestration.dask`)."""
    if execution.engine != "dask":
        return nullcontext(None)
    from flows.orchestration.dask import current_executor

    return current_executor()


def forecast(
    demand: DemandData, products: pd.DataFrame, config: ForecastConfig,
    as_of: pd.Timestamp | None, execution: ExecutionSettings | None = None,
    inventory: pd.DataFrame | None = None,
) -> ForecastResult:
    """Fit the forecasting engine on ``demand`` up to ``as_of`` and forecast the horizon.

    ``inventory`` (the stock snapshot) lets the engine tell a stockout (no stock on hand) from
    a listing problem in runs of zero sales the data does not flag.
    """
    execution = execution or ExecutionSettings()
    with executor_scope(execution) as executor:
        forecaster = Forecaster(config, executor=executor, n_jobs=execution.threads)
        fitted = forecaster.fit(demand, as_of, products=products, inventory=inventory)
        return fitted.predict()


def plan_orders(
    dataset: Dataset, forecast: ForecastResult, config: PlanningConfig, as_of: pd.Timestamp,
    previous: pd.DataFrame | None = None, overrides: PlanOverrides | None = None,
) -> PlanResult:
    """Orders, the order forecast, exceptions and alerts as of ``as_of``."""
    if to_offset(forecast.freq) != to_offset("D"):
        raise UserError(f"planning needs a daily forecast, got frequency {forecast.freq!r}")
    return plan(dataset, forecast, config, as_of, previous=previous, overrides=overrides)


def localize(result: PlanResult, locale: str) -> PlanResult:
    """The plan with its alert and exception sentences (``message``) in ``locale``: the core
    writes them in English with a message id and parameters; everything after the plan
    stage (the run store, ``alerts.csv``, the report, the digests) shows this text."""
    lang = language(locale)
    return dataclasses.replace(result, alerts=localized_messages(result.alerts, lang),
                               exceptions=localized_messages(result.exceptions, lang))


def export(result: PlanResult, forecast: ForecastResult, out: Path,
           summary: dict[str, object], settings: Settings | None = None,
           products: pd.DataFrame | None = None, as_of: pd.Timestamp | None = None,
           force: bool = False) -> dict[str, Path]:
    """Write every output into a staging folder that replaces ``out`` only when complete;
    return the files by name ("orders/<supplier>" keeps the supplier's true name).

    ``settings`` and ``products`` shape the suppliers' purchase orders (language, ship-to,
    discontinued SKUs). The folder is locked while it is written; outputs of a later as-of
    date are not replaced by an earlier one unless ``force`` (see
    :func:`flows.storage.exports.staged_output`).
    """
    day = as_of.date() if as_of is not None else None
    with staged_output(out, as_of=day, force=force) as staging:
        written = write_plan_outputs(result, forecast, staging, summary, settings, products)
    return {name: out / path.relative_to(staging) for name, path in written.items()}


def report(settings: Settings, run_id: str, as_of: pd.Timestamp, dataset: Dataset,
           forecast: ForecastResult, result: PlanResult, previous: list[PreviousForecast],
           out: Path) -> Path:
    """``report.html`` in the output folder."""
    return write_plan_report(settings, run_id, as_of, dataset, forecast, result, previous, out)


def notify(settings: Settings, run_id: str, as_of: pd.Timestamp, dataset: Dataset,
           result: PlanResult, out: Path, files: dict[str, Path]) -> Notices:
    """Digests to the teams and, when enabled, order e-mail to the suppliers; never raises."""
    return notify_plan(settings, run_id, as_of, dataset, result, out, files)


