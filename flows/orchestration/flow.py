"""The daily planning run as a Prefect 3 flow.

pull (folder or SQL, HTTP signals) -> validate -> forecast -> plan -> export -> report ->
notify, each a task of :mod:`flows.orchestration.tasks`. The run is recorded in the run store under
its key
(as-of date, config, input hashes): running the same day again reuses the record and replaces
its outputs instead of adding a second set, and the notification ledger keeps unchanged alerts
from being sent twice. When any stage fails (a source still down after its retries, bad data)
the run is recorded as failed with the reason, the previous run's output folder is left as it
was, a failure notice goes to every configured target, and the flow run ends Failed.

Deploy with ``prefect.yaml`` (entrypoint ``flows/orchestration/flow.py:planning_flow``), serve with
``replenish serve``, or run once with ``replenish run``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import Task, flow
from prefect.context import FlowRunContext
from prefect.schedules import Cron
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from flows.config import Settings, load_settings
from flows.orchestration.artifacts import publish_artifacts
from flows.orchestration.cache import prune_stage_results
from flows.orchestration.tasks import CACHED_STAGES, PlanningTasks, planning_tasks, result_folder
from flows.outbound.notify.digest import render_link
from flows.outbound.publish import (
    Notices,
    failure_reason,
    send_failure_notice,
)
from flows.outbound.report import stored_forecasts
from flows.pipeline.jobs import (
    check_plannable,
    dataset_hashes,
    plan_config_hash,
    plan_summary,
    previous_forecast,
    save_plan_outputs,
)
from flows.progress import Progress
from flows.storage.store import RunStore
from replenishment.contract import Dataset

__all__ = [
    "FLOW_NAME",
    "PlanningOutcome",
    "describe_outcome",
    "planning_deployment",
    "planning_flow",
    "run_planning",
    "serve_planning",
]

FLOW_NAME = "replenishment-planning"
_STAGES = 8
R = TypeVar("R")


@dataclass(frozen=True)
class PlanningOutcome:
    """What a successful planning run produced and where it put it."""

    run_id: str
    as_of: pd.Timestamp
    out: Path
    files: dict[str, Path]
    report: Path
    summary: dict[str, object]
    data_summary: str
    cached: tuple[str, ...]
    notices: Notices


def _call(stage: Task[..., R], *args: Any) -> tuple[R, bool]:
    """Run a task; return its result and whether Prefect read it from the cache.

    Under the default task runner the task runs in the flow's thread, where its timeout can
    interrupt it; under another runner (``DaskTaskRunner``, see :mod:`flows.orchestration.dask`) it is
    submitted to that runner's workers.
    """
    context = FlowRunContext.get()
    if context is None or isinstance(context.task_runner, ThreadPoolTaskRunner):
        state: State[R] = stage(*args, return_state=True)  # type: ignore[assignment]
    else:
        future = stage.submit(*args)
        future.wait()
        state = future.state
    result: R = state.result()
    return result, state.name == "Cached"


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
                      progress: Progress) -> None:
    results = send_failure_notice(settings, run_id, as_of, reason)
    written = [str(r.path) for r in results if r.path is not None]
    progress.say(f"Run {run_id} as of {as_of.date()} FAILED and is recorded as failed; the "
                 f"previous outputs in {settings.output_dir} are unchanged.")
    sent = [f"{r.team} -> {r.target}: {r.status}" for r in results if r.path is None]
    for line in [*(f"  failure notice: {path}" for path in written), *sent]:
        progress.say(line)

def _inputs(settings: Settings, tasks: PlanningTasks, progress: Progress,
            cached: list[str]) -> tuple[Dataset, str]:
    with progress.step("pulling tables"):
        raw, origin = tasks.pull_tables(settings)
    with progress.step("pulling signals"):
        signals = tasks.pull_signals(settings)
    with progress.step("validating"):
        (dataset, description), hit = _call(tasks.validate, raw, origin, signals,
                                            settings.timezone)
        check_plannable(dataset, settings.forecast)
    if hit:
        cached.append("validate")
    progress.say(description)
    return dataset, description


def _report_link(settings: Settings, report: Path) -> str:
    link = render_link(report, settings.output_dir, settings.notify.link_base_url)
    return link if "://" in link else report.resolve().as_uri()


def run_planning(settings: Settings, as_of: str | None = None, *,
                 quiet: bool = False) -> PlanningOutcome:
    """One planning run's stages as Prefect tasks; call inside a flow (see :func:`planning_flow`).

    Raises the stage's error after recording the failure and sending the failure notice.
    """
    progress = Progress(_STAGES, quiet=quiet)
    tasks = planning_tasks(settings)
    config_hash = plan_config_hash(settings)
    requested = pd.Timestamp(as_of).normalize() if as_of else None
    cached: list[str] = []
    try:
        dataset, description = _inputs(settings, tasks, progress, cached)
    except Exception as err:
        day = requested if requested is not None else _today(settings.timezone)
        reason = failure_reason(err)
        run_id = _record_early_failure(settings, day, config_hash, progress.timings, reason)
        _announce_failure(settings, run_id, day, reason, progress)
        raise
    origin = requested if requested is not None else pd.Timestamp(
        dataset.demand.sales["date"].max()).normalize()
    out = settings.output_dir
    with RunStore(settings.store_url) as store:
        run = store.begin_run("plan", origin.date(), config_hash, dataset_hashes(dataset))
        try:
            with progress.step(f"forecasting {settings.forecast.horizon} days ahead"):
                forecast, hit = _call(tasks.forecast, dataset.demand, dataset.supply.products,
                                      settings.forecast, origin)
            cached += ["forecast"] if hit else []
            with progress.step("planning orders, order forecasts and alerts"):
                previous = previous_forecast(store, origin, run.run_id)
                result, hit = _call(tasks.plan, dataset, forecast, settings.planning, origin,
                                    previous)
            cached += ["plan"] if hit else []
            with progress.step("exporting"):
                summary = plan_summary(result, run.run_id, origin)
                files = tasks.export(result, forecast, out, summary)
                save_plan_outputs(store, run.run_id, forecast, result)
            with progress.step("writing the report"):
                earlier = stored_forecasts(store, origin)
                report = tasks.report(settings, run.run_id, origin, dataset, forecast, result,
                                      earlier, out)
            with progress.step("notifying"):
                notices = tasks.notify(settings, run.run_id, origin, dataset, result, out, files)
                publish_artifacts(f"{settings.brand}: plan as of {origin.date()}", summary,
                                  result, files, _report_link(settings, report), notices,
                                  tuple(cached))
        except Exception as err:
            reason = failure_reason(err)
            store.finish_run(run.run_id, "failed", progress.timings, error=reason)
            _announce_failure(settings, run.run_id, origin, reason, progress)
            raise
        store.finish_run(run.run_id, "succeeded", progress.timings)
    prune_stage_results(result_folder(settings), CACHED_STAGES,
                        settings.flow.cache_days * 86_400)
    return PlanningOutcome(run.run_id, origin, out, files, report, summary, description,
                           tuple(cached), notices)


@flow(name=FLOW_NAME, persist_result=False, log_prints=False)
def planning_flow(config: str | None = None, as_of: str | None = None,
                  quiet: bool = False) -> PlanningOutcome:
    """Forecast, plan, export, report and notify for one as-of date (default: the last
    sales date). ``config`` is the path of the YAML config file (default: built-in defaults
    and ``REPLENISH_*`` environment variables)."""
    settings = load_settings(Path(config) if config else None)
    return run_planning(settings, as_of, quiet=quiet)


def describe_outcome(outcome: PlanningOutcome) -> str:
    """The run's summary and paths, for the terminal."""
    summary = outcome.summary
    alerts = summary.get("alerts") or {}
    assert isinstance(alerts, dict)
    tally = ", ".join(f"{count} {level}" for level, count in alerts.items()) or "none"
    solver = summary.get("solver") or {}
    assert isinstance(solver, dict)
    digests = [r for r in outcome.notices.digests if r.path is not None]
    lines = [
        f"Planning run {outcome.run_id} as of {outcome.as_of.date()} -> {outcome.out}",
        f"  orders:        {summary['order_lines']} lines worth {summary['order_value']:,} to "
        f"{summary['suppliers_ordered']} suppliers (orders/<supplier>.csv)",
        f"  solver:        {solver.get('status')}, "
        f"{'proven optimal' if solver.get('proven_optimal') else 'NOT proven optimal'}",
        f"  exceptions:    {summary['exceptions']} (exceptions.csv)",
        f"  alerts:        {tally} (alerts.csv)",
        f"  forecast:      {outcome.out / 'forecast.csv'}",
        f"  order forecast: {outcome.out / 'order_forecast'}",
        f"  report:        {outcome.report}",
        *(f"  digest:        {r.path}" for r in digests),
    ]
    sent = [r for r in outcome.notices.digests if r.path is None]
    lines += [f"  notify:        {r.team} -> {r.target}: {r.status}" for r in sent]
    lines += [f"  NOT delivered: {line}" for line in outcome.notices.failed]
    if outcome.cached:
        lines.append(f"  reused from cache: {', '.join(outcome.cached)}")
    return "\n".join(lines)


def planning_deployment(settings: Settings, config: Path, name: str = "daily") -> Any:
    """A deployment of :func:`planning_flow` on the config's cron schedule and time zone."""
    timezone = settings.schedule.timezone or settings.timezone
    return planning_flow.to_deployment(
        name=name,
        schedules=[Cron(settings.schedule.cron, timezone=timezone)],
        parameters={"config": str(config.resolve()), "quiet": True},
        description=f"Daily replenishment planning for {settings.brand}",
    )


def serve_planning(settings: Settings, config: Path) -> None:
    """Serve the planning flow on its schedule until interrupted."""
    from prefect import serve

    serve(planning_deployment(settings, config), print_starting_message=True)

