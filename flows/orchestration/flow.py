"""The daily planning run as a Prefect 3 flow: :func:`flows.pipeline.run_planning` with its
stages as tasks (retries, caching; :mod:`flows.orchestration.tasks`) and the run's artifacts
published in Prefect's UI. Nothing else: the stages, the run record, the failure handling and
the outputs are the pipeline's, the same as ``replenish plan``.

Deploy with ``prefect.yaml`` (entrypoint ``flows/orchestration/flow.py:planning_flow``), serve
with ``replenish serve``, or run once with ``replenish run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.schedules import Cron

from flows.config import Settings, load_settings
from flows.orchestration.artifacts import publish_artifacts
from flows.orchestration.cache import prune_stage_results
from flows.orchestration.tasks import CACHED_STAGES, planning_tasks, result_folder
from flows.outbound.notify.digest import render_link
from flows.pipeline.planning import PlanningOutcome, PlanOptions, run_planning

__all__ = ["FLOW_NAME", "planning_deployment", "planning_flow", "serve_planning"]

FLOW_NAME = "replenishment-planning"


def _report_link(settings: Settings, report: Path | None) -> str:
    if report is None:
        return ""
    link = render_link(report, settings.output_dir, settings.notify.link_base_url)
    return link if "://" in link else report.resolve().as_uri()


@flow(name=FLOW_NAME, persist_result=False, log_prints=False)
def planning_flow(config: str | None = None, as_of: str | None = None, quiet: bool = False,
                  settings: Settings | None = None,
                  options: PlanOptions | None = None) -> PlanningOutcome:
    """Pull, validate, forecast, plan, export, report and notify for one as-of date (default:
    the last sales date), then publish the run's artifacts.

    A deployment passes ``config`` (path of the YAML config file); a caller that already holds
    the settings passes them as ``settings`` (the command line does). ``options`` carries the
    what-if and the output folder; ``as_of`` and ``quiet`` are shorthands for a deployment.
    """
    settings = settings or load_settings(Path(config) if config else None)
    options = options or PlanOptions()
    options = options.model_copy(update={"as_of": as_of or options.as_of,
                                         "quiet": quiet or options.quiet})

    def publish(outcome: PlanningOutcome, result: Any) -> None:
        publish_artifacts(f"{settings.brand}: plan as of {outcome.as_of.date()}",
                          outcome.summary, result, outcome.files,
                          _report_link(settings, outcome.report), outcome.notices,
                          outcome.cached)

    outcome = run_planning(settings, options, planning_tasks(settings), on_success=publish)
    prune_stage_results(result_folder(settings), CACHED_STAGES,
                        settings.flow.cache_days * 86_400)
    return outcome


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
    """Serve the planning flow on its schedule until the first Ctrl-C or SIGTERM."""
    from flows.orchestration.serve import serve_until_signal

    serve_until_signal(planning_deployment(settings, config))
