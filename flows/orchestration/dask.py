"""Running the jobs on a Dask cluster: ``--engine dask [--dask-address ADDRESS]``.

Forecasting spreads its per-series models over the cluster (:mod:`forecasting.distributed`);
the planning flow's computing stages (validate, forecast, plan) run on Dask workers through
prefect-dask's ``DaskTaskRunner``, while the stages that read sources or write files stay in
the flow's process, next to the data and the output folder. Without an address a
``LocalCluster`` with one single-threaded worker per core is started for the run and closed
after it. See ``docs/scale-out.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, Literal

from distributed import Client
from prefect_dask import DaskTaskRunner

from flows.config import Settings
from flows.errors import UserError
from flows.orchestration.runtime import environment
from forecasting.config import ForecastConfig
from forecasting.distributed import dask_client

if TYPE_CHECKING:
    from flows.orchestration.flow import PlanningOutcome

__all__ = ["dask_task_runner", "execution", "run_flow_on_dask", "with_engine"]

Engine = Literal["local", "dask"]
# Settings names the planning flow reads from the environment (flows.config: REPLENISH_*).
_ENGINE_ENV = "REPLENISH_FORECAST__ENGINE"
_ADDRESS_ENV = "REPLENISH_FORECAST__DASK_ADDRESS"


def with_engine(settings: Settings, engine: Engine | None, address: str | None) -> Settings:
    """``settings`` with the command line's ``--engine`` / ``--dask-address`` applied."""
    resolved = engine or ("dask" if address else settings.forecast.engine)
    if address and resolved != "dask":
        raise UserError(f"--dask-address {address}: only used with --engine dask")
    forecast = settings.forecast.model_copy(update={
        "engine": resolved, "dask_address": address or settings.forecast.dask_address})
    return settings.model_copy(update={"forecast": forecast})


@contextmanager
def execution(config: ForecastConfig, workers: int | None = None,
              processes: bool = True) -> Iterator[Client | None]:
    """The Dask client the forecast runs with, for the ``with`` block (None when local)."""
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


def dask_task_runner(client: Client) -> DaskTaskRunner:
    """A prefect-dask task runner on the cluster ``client`` is connected to."""
    # By address rather than cluster object: Prefect copies the runner for each flow run,
    # and the copy keeps the address but not the object.
    return DaskTaskRunner(address=str(client.scheduler_info()["address"]))


def _engine_environment(config: ForecastConfig) -> AbstractContextManager[None]:
    """The flow loads its settings itself: pass the engine on through the environment."""
    values: dict[str, str] = {_ENGINE_ENV: config.engine}
    if config.dask_address:
        values[_ADDRESS_ENV] = config.dask_address
    return environment(values)


def run_flow_on_dask(settings: Settings, config: str | None, as_of: str | None = None, *,
                     workers: int | None = None, processes: bool = True,
                     quiet: bool = False) -> PlanningOutcome:
    """One planning flow run with its tasks on Dask (``settings.forecast.engine == 'dask'``)."""
    from flows.orchestration.flow import planning_flow

    with execution(settings.forecast, workers, processes) as client:
        if client is None:
            raise UserError("run_flow_on_dask needs forecast.engine 'dask'")
        runner: Any = dask_task_runner(client)  # prefect's stubs want its base future type
        flow = planning_flow.with_options(task_runner=runner)
        with _engine_environment(settings.forecast):
            return flow(config, as_of=as_of, quiet=quiet)
