"""The planning flow's tasks: thin Prefect wrappers over :mod:`flows.pipeline.jobs` and
:mod:`flows.outbound.publish`, which stay callable without Prefect.

Sources are retried with exponential backoff (a database or an API may come back); pure
computations are not retried (the same inputs fail the same way) but are cached by the content
of their inputs, so an unchanged stage is read back instead of recomputed. Stages with side
effects (files, the run store, messages) are never cached: their idempotency comes from the
atomic output folder, the run store's run key and the notification ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH
from prefect.states import State
from prefect.tasks import exponential_backoff

from flows.config import Settings
from flows.errors import SourceError
from flows.orchestration.cache import content_key
from flows.outbound.publish import Notices, notify_plan, write_plan_report
from flows.outbound.report import PreviousForecast
from flows.pipeline.jobs import (
    forecast_demand,
    plan_orders,
    read_signals,
    validate_tables,
    write_plan_outputs,
)
from flows.storage.exports import staged_output
from flows.storage.sources import RawTables, SignalsResult, read_raw
from forecasting.config import ForecastConfig
from forecasting.contract import DemandData
from forecasting.engine import ForecastResult
from replenishment.config import PlanningConfig
from replenishment.contract import Dataset
from replenishment.plan import PlanResult

__all__ = [
    "CACHED_STAGES",
    "PlanningTasks",
    "export_task",
    "forecast_task",
    "notify_task",
    "plan_task",
    "planning_tasks",
    "pull_signals",
    "pull_tables",
    "report_task",
    "result_folder",
    "stage_cache_key",
    "validate_task",
]

_SOURCE_ERRORS = (SourceError, OSError, TimeoutError, sa.exc.OperationalError)


def stage_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Prefect cache key of a computing stage: its name and its inputs' content."""
    return content_key(context.task.name, parameters)


def _source_may_recover(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry a source on connection problems and timeouts, not on bad data or bad config."""
    return isinstance(state.data, _SOURCE_ERRORS)


_NOT_CACHED: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}
_CACHED: dict[str, Any] = {"cache_key_fn": stage_cache_key, "persist_result": True,
                           "result_serializer": "pickle"}


@task(name="pull-tables", retry_condition_fn=_source_may_recover, **_NOT_CACHED)
def pull_tables(settings: Settings) -> tuple[RawTables, str]:
    """The raw tables from the folder or the database, and where they came from."""
    return read_raw(settings)


@task(name="pull-signals", retry_condition_fn=_source_may_recover, **_NOT_CACHED)
def pull_signals(settings: Settings) -> SignalsResult | None:
    """Promotions and livestreams from the signals API (None when none is configured)."""
    return read_signals(settings)


@task(name="validate", **_CACHED)
def validate_task(raw: RawTables, origin: str, signals: SignalsResult | None,
             timezone: str) -> tuple[Dataset, str]:
    return validate_tables(raw, origin, signals, timezone)


@task(name="forecast", **_CACHED)
def forecast_task(demand: DemandData, products: pd.DataFrame, config: ForecastConfig,
             as_of: pd.Timestamp) -> ForecastResult:
    return forecast_demand(demand, products, config, as_of)


@task(name="plan", **_CACHED)
def plan_task(dataset: Dataset, forecast: ForecastResult, config: PlanningConfig,
         as_of: pd.Timestamp, previous: pd.DataFrame | None) -> PlanResult:
    return plan_orders(dataset, forecast, config, as_of, previous)


# Names of the cached tasks: the prefixes of their cache keys.
CACHED_STAGES = tuple(t.name for t in (validate_task, forecast_task, plan_task))


@task(name="export", **_NOT_CACHED)
def export_task(result: PlanResult, forecast: ForecastResult, out: Path,
                summary: dict[str, object]) -> dict[str, Path]:
    """Write every output into a staging folder that replaces ``out`` only when complete;
    return the files by name ("orders/<supplier>" keeps the supplier's true name)."""
    with staged_output(out) as staging:
        written = write_plan_outputs(result, forecast, staging, summary)
    return {name: out / path.relative_to(staging) for name, path in written.items()}


@task(name="report", **_NOT_CACHED)
def report_task(settings: Settings, run_id: str, as_of: pd.Timestamp, dataset: Dataset,
           forecast: ForecastResult, result: PlanResult, previous: list[PreviousForecast],
           out: Path) -> Path:
    return write_plan_report(settings, run_id, as_of, dataset, forecast, result, previous, out)


@task(name="notify", **_NOT_CACHED)
def notify_task(settings: Settings, run_id: str, as_of: pd.Timestamp, dataset: Dataset,
           result: PlanResult, out: Path, files: dict[str, Path]) -> Notices:
    return notify_plan(settings, run_id, as_of, dataset, result, out, files)


@dataclass(frozen=True)
class PlanningTasks:
    """The tasks of one run, with the retries, time limits and cache storage of its config."""

    pull_tables: Task[..., tuple[RawTables, str]]
    pull_signals: Task[..., SignalsResult | None]
    validate: Task[..., tuple[Dataset, str]]
    forecast: Task[..., ForecastResult]
    plan: Task[..., PlanResult]
    export: Task[..., dict[str, Path]]
    report: Task[..., Path]
    notify: Task[..., Notices]


def planning_tasks(settings: Settings) -> PlanningTasks:
    """The tasks configured from the ``flow:`` section of ``settings``."""
    cfg = settings.flow
    source: dict[str, Any] = {
        "retries": cfg.source_retries,
        "retry_delay_seconds": exponential_backoff(backoff_factor=cfg.source_retry_delay_s)(
            max(cfg.source_retries, 1)),
        "timeout_seconds": cfg.source_timeout_s,
    }
    compute: dict[str, Any] = {
        "timeout_seconds": cfg.stage_timeout_s,
        "cache_expiration": timedelta(days=cfg.cache_days),
    }
    if cfg.result_storage is not None:
        compute["result_storage"] = cfg.result_storage.resolve()
    side_effect: dict[str, Any] = {"timeout_seconds": cfg.stage_timeout_s}
    return PlanningTasks(
        pull_tables=pull_tables.with_options(**source),
        pull_signals=pull_signals.with_options(**source),
        validate=validate_task.with_options(**compute),
        forecast=forecast_task.with_options(**compute),
        plan=plan_task.with_options(**compute),
        export=export_task.with_options(**side_effect),
        report=report_task.with_options(**side_effect),
        notify=notify_task.with_options(**side_effect),
    )


def result_folder(settings: Settings) -> Path:
    """Where the cached stage results are kept: ``flow.result_storage`` or Prefect's local
    result storage (``PREFECT_HOME/storage`` unless configured otherwise)."""
    if settings.flow.result_storage is not None:
        return settings.flow.result_storage.resolve()
    return Path(PREFECT_RESULTS_LOCAL_STORAGE_PATH.value())
