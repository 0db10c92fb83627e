"""One planning run: pull -> validate -> forecast -> plan -> export -> report -> notify.

:func:`run_planning` is the only planning pipeline. ``replenish plan``, ``replenish run``,
``replenish demo`` and the scheduled Prefect flow all call it; they differ only in the
:class:`Stages` they pass (the plain functions of :mod:`flows.pipeline.stages`, or the same
functions wrapped as Prefect tasks by :mod:`flows.orchestration.flow`, which adds retries,
caching and artifacts) and in the :class:`PlanOptions` the user chose.

The run is recorded in the run store under its key (as-of date, config and what-if, input
hashes): running the same day again reuses the record and replaces its outputs instead of
adding a second set. When a stage fails, the run is recorded as failed with the reason, the
previous output folder is left as it was, a failure notice goes to every configured target,
and the error is raised again for the caller (the CLI prints it and exits with code 2).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import BaseModel, ConfigDict

from flows.config import Settings
from flows.i18n import language
from flows.outbound.publish import Notices, failure_reason, send_failure_notice
from flows.outbound.report import stored_forecasts
from flows.outbound.terminal import describe_run
from flows.pipeline import stages
from flows.pipeline.outputs import plan_summary
from flows.progress import Progress
from flows.storage.hashing import hash_mapping
from flows.storage.store import RunStore
from replenishment.contract import Dataset
from replenishment.whatif import PlanOverrides

__all__ = [
    "PlanOptions",
    "PlanningOutcome",
    "Stages",
    "describe_outcome",
    "plan_config_hash",
    "run_planning",
]

_STEPS = 8


class PlanOptions(BaseModel):
    """What the user asked of this run, beyond the config file.

    ``force`` lets outputs of an earlier as-of date replace a later run's folder.
    ``overrides`` is a what-if (promotions, lead times, budget); a what-if plan is written and
    recorded like any other but, unless ``notify`` is set explicitly, sends nothing to teams or
    suppliers (it is a question, not a plan to act on).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    as_of: str | None = None
    out: Path | None = None
    folder: Path | None = None
    overrides: PlanOverrides | None = None
    report: bool = True
    notify: bool | None = None
    force: bool = False
    quiet: bool = False

    def should_notify(self) -> bool:
        return self.notify if self.notify is not None else self.overrides is None


@dataclass(frozen=True)
class Stages:
    """The stage functions a run calls, each with the signature of its namesake in
    :mod:`flows.pipeline.stages` (the defaults: plain calls in this process). ``hits``
    collects the names of stages whose result was read back from a cache (only the Prefect
    flow caches)."""

    pull_tables: Callable[..., Any] = stages.pull_tables
    pull_signals: Callable[..., Any] = stages.pull_signals
    validate: Callable[..., Any] = stages.validate
    forecast: Callable[..., Any] = stages.forecast
    plan: Callable[..., Any] = stages.plan_orders
    export: Callable[..., Any] = stages.export
    report: Callable[..., Any] = stages.report
    notify: Callable[..., Any] = stages.notify
    hits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanningOutcome:
    """What a successful planning run produced and where it put it."""

    run_id: str
    as_of: pd.Timestamp
    out: Path
    files: dict[str, Path]
    report: Path | None
    summary: dict[str, object]
    data_summary: str
    cached: tuple[str, ...]
    notices: Notices
    whatif: bool = False


def plan_config_hash(settings: Settings, overrides: PlanOverrides | None = None) -> str:
    """The config part of a planning run's key in the run store."""
    overrides_json = overrides.model_dump_json() if overrides else ""
    return hash_mapping({"settings": settings.fingerprint(), "overrides": overrides_json})


def _today(timezone: str) -> pd.Timestamp:
    return pd.Timestamp(datetime.now(ZoneInfo(timezone)).date())


def _record_early_failure(settings: Settings, as_of: pd.Timestamp, config_hash: str,
                          timings: dict[str, float], reason: str) -> str:
    """Record a run that failed before its inputs were known (their hashes stay empty)."""
    try:
        with RunStore(settings.store_url) as store:
            run = store.begin_run("plan", as_of.date(), config_hash, {})
            store.finish_run(run.run_id, "failed", timings, error=reason)
            return run.run_id
    except Exception as err:  # the store itself is down: still tell people about the run
        print(f"warning: the failed run could not be recorded: {err}", file=sys.stderr)
        return "unrecorded"


def _announce_failure(settings: Settings, run_id: str, as_of: pd.Timestamp, reason: str,
                      out: Path, progress: Progress) -> None:
    results = send_failure_notice(settings, run_id, as_of, reason)
    t = progress.lang.gettext
    progress.say(t("Run {run_id} as of {date} FAILED and is recorded as failed; the previous "
                   "outputs in {out} are unchanged.", run_id=run_id, date=as_of.date(), out=out))
    for r in results:
        progress.say(t("  failure notice: {path}", path=r.path) if r.path is not None
                     else t("  failure notice: {team} -> {target}: {status}", team=r.team,
                            target=r.target, status=r.status))


def _inputs(settings: Settings, options: PlanOptions, run: Stages,
            progress: Progress) -> tuple[Dataset, str]:
    with progress.step("pulling tables"):
        raw, origin = run.pull_tables(settings, options.folder)
    with progress.step("pulling signals"):
        signals = run.pull_signals(settings)
    with progress.step("validating"):
        dataset, description = run.validate(raw, origin, signals, settings.timezone,
                                            settings.locale)
        stages.check_plannable(dataset, settings.forecast)
    progress.say(description)
    return dataset, description


def run_planning(settings: Settings, options: PlanOptions | None = None,
                 run: Stages | None = None,
                 on_success: Callable[[PlanningOutcome, Any], None] | None = None,
                 ) -> PlanningOutcome:
    """Run the planning pipeline once and record it; return what it produced.

    ``on_success(outcome, result)`` is called before the run is marked succeeded (the Prefect
    flow publishes its artifacts there). Raises the failing stage's error after recording the
    failure and sending the failure notice.
    """
    options = options or PlanOptions()
    run = run or Stages()
    progress = Progress(_STEPS, quiet=options.quiet, lang=language(settings.locale))
    out = options.out or settings.output_dir
    config_hash = plan_config_hash(settings, options.overrides)
    requested = pd.Timestamp(options.as_of).normalize() if options.as_of else None
    try:
        dataset, description = _inputs(settings, options, run, progress)
    except Exception as err:
        day = requested if requested is not None else _today(settings.timezone)
        reason = failure_reason(err)
        run_id = _record_early_failure(settings, day, config_hash, progress.timings, reason)
        _announce_failure(settings, run_id, day, reason, out, progress)
        raise
    origin = requested if requested is not None else pd.Timestamp(
        dataset.demand.sales["date"].max()).normalize()
    with RunStore(settings.store_url) as store:
        record = store.begin_run("plan", origin.date(), config_hash,
                                 stages.dataset_hashes(dataset))
        try:
            outcome, result = _compute_and_publish(
                settings, options, run, progress, store, record.run_id, dataset, origin, out,
                description)
            if on_success is not None:
                on_success(outcome, result)
        except Exception as err:
            reason = failure_reason(err)
            store.finish_run(record.run_id, "failed", progress.timings, error=reason)
            _announce_failure(settings, record.run_id, origin, reason, out, progress)
            raise
        store.finish_run(record.run_id, "succeeded", progress.timings)
    return outcome


def _compute_and_publish(
    settings: Settings, options: PlanOptions, run: Stages, progress: Progress,
    store: RunStore, run_id: str, dataset: Dataset, origin: pd.Timestamp, out: Path,
    description: str,
) -> tuple[PlanningOutcome, Any]:
    config, short = stages.planning_forecast_config(settings.forecast, dataset,
                                                    settings.planning)
    if short:
        progress.say(progress.lang.gettext(stages.SHORT_HORIZON, **short))
    with progress.step("forecasting {days} days ahead", days=config.horizon):
        forecast = run.forecast(dataset.demand, dataset.supply.products, config, origin,
                                settings.execution, dataset.supply.inventory)
    with progress.step("planning orders, order forecasts and alerts"):
        previous = _previous_forecast(store, origin, run_id)
        result = stages.localize(run.plan(dataset, forecast, settings.planning, origin,
                                          previous, options.overrides), settings.locale)
    with progress.step("exporting"):
        summary = plan_summary(result, run_id, origin)
        if options.overrides is not None:
            summary["whatif"] = options.overrides.model_dump(mode="json")
        # The store first: when it cannot keep the run (a full disk), nothing is published.
        store.save_outputs(run_id, {
            "forecast_channel": forecast.channel, "forecast_sku": result.forecast,
            "models": forecast.models, "scores": forecast.scores, "orders": result.orders,
            "order_forecast": result.order_forecast, "exceptions": result.exceptions,
            "alerts": result.alerts, "levels": result.levels,
            "data_quality": forecast.data_quality,
            # Planned per stock pool: the moves between pools, for the workbench.
            **({"transfers": result.transfers} if "warehouse" in result.levels else {}),
        })
        files = run.export(result, forecast, out, summary, settings, dataset.supply.products,
                           origin, options.force)
    report: Path | None = None
    with progress.step("writing the report"):
        if options.report:
            earlier = stored_forecasts(store, origin)
            report = run.report(settings, run_id, origin, dataset, forecast, result, earlier,
                                out)
    with progress.step("notifying"):
        notices = (run.notify(settings, run_id, origin, dataset, result, out, files)
                   if options.should_notify() else Notices())
    outcome = PlanningOutcome(run_id, origin, out, files, report, summary, description,
                              tuple(run.hits), notices, whatif=options.overrides is not None)
    return outcome, result


def _previous_forecast(store: RunStore, as_of: pd.Timestamp, run_id: str
                       ) -> pd.DataFrame | None:
    """The SKU forecast of the latest earlier plan, for CPFR's forecast-move exception."""
    previous = store.latest_run("plan", before_as_of=as_of.date(), exclude_run_id=run_id)
    return None if previous is None else store.load_output(previous.run_id, "forecast_sku")


def describe_outcome(outcome: PlanningOutcome, locale: str = "en") -> str:
    """The run's summary and paths, for the terminal, in ``locale`` (the config's)."""
    return describe_run(outcome, language(locale))
