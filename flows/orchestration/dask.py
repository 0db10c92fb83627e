"""Running the pipeline on a Dask cluster: ``--engine dask [--dask-address ADDRESS]``.

The core never creates or finds a cluster: it receives an executor
(``concurrent.futures.Executor``) and spreads its per-series models over it. This module is
where the executor comes from: a Dask client connected to a scheduler, or a ``LocalCluster``
with one single-threaded worker per core started for the run and closed after it. Inside a
task that already runs on a Dask worker (a Prefect task under prefect-dask's
``DaskTaskRunner``) the worker's own client is used. The planning flow's computing stages
(validate, forecast, plan) run on the workers; the stages that read sources or write files
stay in the flow's process, next to the data and the output folder. See
``docs/scale-out.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import ExitStack, contextmanager
from typing import Any, Literal

from distributed import Client, LocalCluster, get_client, get_worker, worker_client
from prefect_dask import DaskTaskRunner

from flows.config import ExecutionSettings, Settings
from flows.errors import UserError
from flows.pipeline.planning import PlanningOutcome, PlanOptions

__all__ = ["current_executor", "dask_client", "dask_task_runner", "execution",
           "run_flow_on_dask", "with_engine"]

Engine = Literal["local", "dask"]


def with_engine(settings: Settings, engine: Engine | None, address: str | None) -> Settings:
    """``settings`` with the command line's ``--engine`` / ``--dask-address`` applied."""
    current = settings.execution
    resolved = engine or ("dask" if address else current.engine)
    if address and resolved != "dask":
        raise UserError(f"--dask-address {address}: only used with --engine dask")
    execution = current.model_copy(update={
        "engine": resolved, "dask_address": address or current.dask_address})
    return settings.model_copy(update={"execution": execution})


@contextmanager
def dask_client(address: str | None = None, workers: int | None = None,
                processes: bool = True) -> Iterator[Client]:
    """A Dask client, current for the ``with`` block: connected to ``address``
    (``tcp://scheduler:8786``), or to a ``LocalCluster`` of ``workers`` single-threaded
    workers (default: the machine's cores) closed afterwards. ``processes=False`` runs the
    workers as threads of this process, which starts faster but shares one interpreter lock."""
    if address:
        with Client(address) as client:
            yield client
        return
    n_workers = workers or os.cpu_count() or 1
    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextmanager
def execution(config: ExecutionSettings, workers: int | None = None,
              processes: bool = True) -> Iterator[Client | None]:
    """The Dask client the run works with, for the ``with`` block (None when local)."""
    if config.engine != "dask":
        yield None
        return
    with ExitStack() as stack:
        try:
            client = stack.enter_context(dask_client(config.dask_address, workers, processes))
        except OSError as err:  # no scheduler there, or it did not answer in time
            raise UserError(
                f"cannot reach the Dask scheduler at {config.dask_address}: {err}") from err
        yield client


@contextmanager
def current_executor() -> Iterator[Executor]:
    """The executor of the Dask client current here, for the ``with`` block.

    On a worker, the worker's client, leaving the worker's thread while waiting (a cluster
    with one thread per worker would otherwise wait on itself); elsewhere the client made
    current by :func:`execution`.
    """
    try:
        get_worker()
    except ValueError:
        pass
    else:
        with worker_client() as client:
            yield client.get_executor()
        return
    try:
        client = get_client()
    except ValueError as err:
        raise UserError(
            "the 'dask' engine needs a running Dask client: pass --engine dask (and "
            "--dask-address to use a running scheduler) on the command line") from err
    yield client.get_executor()


def dask_task_runner(client: Client) -> DaskTaskRunner:
    """A prefect-dask task runner on the cluster ``client`` is connected to."""
    # By address rather than cluster object: Prefect copies the runner for each flow run,
    # and the copy keeps the address but not the object.
    return DaskTaskRunner(address=str(client.scheduler_info()["address"]))


def run_flow_on_dask(settings: Settings, options: PlanOptions | None = None, *,
                     workers: int | None = None, processes: bool = True) -> PlanningOutcome:
    """One planning flow run with its tasks on Dask (``settings.execution.engine == 'dask'``)."""
    from flows.orchestration.flow import planning_flow

    with execution(settings.execution, workers, processes) as client:
        if client is None:
            raise UserError("run_flow_on_dask needs execution.engine 'dask'")
        runner: Any = dask_task_runner(client)  # prefect's stubs want its base future type
        flow = planning_flow.with_options(task_runner=runner)
        return flow(settings=settings, options=options)
