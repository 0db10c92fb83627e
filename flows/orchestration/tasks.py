"""The planning stages as Prefect tasks: the functions of :mod:`flows.pipeline.stages`, with
retries, time limits and a result cache, and nothing else.

Sources are retried with exponential backoff (a database or an API may come back); pure
computations are not retried (the same inputs fail the same way) but are cached by the content
of their inputs, so an unchanged stage is read back instead of recomputed. Stages with side
effects (files, the run store, messages) are never cached: their idempotency comes from the
atomic output folder, the run store's run key and the notification ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from prefect import Task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.context import FlowRunContext, TaskRunContext
from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.config import Settings
from flows.errors import SourceError
from flows.orchestration.cache import content_key
from flows.pipeline import stages
from flows.pipeline.planning import Stages

__all__ = ["CACHED_STAGES", "TaskCall", "planning_tasks", "result_folder", "stage_cache_key"]

R = TypeVar("R")
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

_SOURCES: dict[str, Callable[..., Any]] = {
    "pull-tables": stages.pull_tables, "pull-signals": stages.pull_signals}
_COMPUTING: dict[str, Callable[..., Any]] = {
    "validate": stages.validate, "forecast": stages.forecast, "plan": stages.plan_orders}
_SIDE_EFFECTS: dict[str, Callable[..., Any]] = {
    "export": stages.export, "report": stages.report, "notify": stages.notify}
# Names of the cached tasks: the prefixes of their cache keys.
CACHED_STAGES = tuple(_COMPUTING)


def _call(stage: Task[..., R], hits: list[str], *args: Any) -> R:
    """Run a task; note in ``hits`` when Prefect read its result from the cache.

    Under the default task runner the task runs in the flow's thread, where its timeout can
    interrupt it; under another runner (``DaskTaskRunner``, see
    :mod:`flows.orchestration.dask`) it is submitted to that runner's workers.
    """
    context = FlowRunContext.get()
    if context is None or isinstance(context.task_runner, ThreadPoolTaskRunner):
        state: State[R] = stage(*args, return_state=True)  # type: ignore[assignment]
    else:
        future = stage.submit(*args)
        future.wait()
        state = future.state
    if state.name == "Cached":
        hits.append(stage.name)
    return state.result()


class TaskCall:
    """A stage as the pipeline calls it: runs ``task`` and notes cache hits in ``hits``."""

    def __init__(self, task: Task[..., Any], hits: list[str]) -> None:
        self.task = task
        self.hits = hits

    def __call__(self, *args: Any) -> Any:
        return _call(self.task, self.hits, *args)


def planning_tasks(settings: Settings) -> Stages:
    """The pipeline's stages as tasks configured from the ``flow:`` section of ``settings``."""
    cfg = settings.flow
    source: dict[str, Any] = {
        "retries": cfg.source_retries, "retry_condition_fn": _source_may_recover,
        "retry_delay_seconds": exponential_backoff(backoff_factor=cfg.source_retry_delay_s)(
            max(cfg.source_retries, 1)),
        "timeout_seconds": cfg.source_timeout_s, **_NOT_CACHED,
    }
    compute: dict[str, Any] = {"timeout_seconds": cfg.stage_timeout_s,
                               "cache_expiration": timedelta(days=cfg.cache_days), **_CACHED}
    if cfg.result_storage is not None:
        compute["result_storage"] = cfg.result_storage.resolve()
    side_effect: dict[str, Any] = {"timeout_seconds": cfg.stage_timeout_s, **_NOT_CACHED}
    hits: list[str] = []
    made: dict[str, TaskCall] = {}
    for options, group in ((source, _SOURCES), (compute, _COMPUTING),
                           (side_effect, _SIDE_EFFECTS)):
        for name, function in group.items():
            made[name] = TaskCall(Task(fn=function, name=name, **options), hits)
    return Stages(
        pull_tables=made["pull-tables"], pull_signals=made["pull-signals"],
        validate=made["validate"], forecast=made["forecast"], plan=made["plan"],
        export=made["export"], report=made["report"], notify=made["notify"], hits=hits,
    )


def result_folder(settings: Settings) -> Path:
    """Where the cached stage results are kept: ``flow.result_storage`` or Prefect's local
    result storage (``PREFECT_HOME/storage`` unless configured otherwise)."""
    if settings.flow.result_storage is not None:
        return settings.flow.result_storage.resolve()
    return Path(PREFECT_RESULTS_LOCAL_STORAGE_PATH.value())
