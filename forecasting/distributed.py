"""The per-series statistical models on a Dask cluster.

The per-series stage is what grows with the catalogue: every series is fitted on its own, at
every backtest cutoff. Here the history is cut into chunks of whole series, balanced by their
expected cost, and each chunk is forecast on a Dask worker by the very function that runs
locally (:func:`forecasting.models.stats_forecast`), so the result equals the local one.

Why chunks rather than statsforecast's Fugue backend (``StatsForecast.forecast(df=dask_df)``):
that backend partitions by ``unique_id`` and calls the models once per series through a
grouped apply, which measured 25x slower than one process on 1,000 daily series (see the
"Scale-out" section of ``docs/benchmarks.md``). A chunk fits hundreds of series in one call,
so the cluster's time goes to fitting rather than to per-call overhead.

The global LightGBM model stays in the process that runs the engine: it is one model trained
on all rows, LightGBM already uses every core of that machine, and a data-parallel fit
(``mlforecast.distributed``) grows different trees, so results would no longer equal the local
ones (see ``docs/scale-out.md``).

A Dask client must be current: :func:`dask_client` provides one (connecting to a scheduler, or
starting a local cluster); inside a task that already runs on a Dask worker (a Prefect task
under ``DaskTaskRunner``) the worker's client is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise

import numpy as np
import pandas as pd
from distributed import Client, LocalCluster, get_client, get_worker, worker_client

__all__ = ["DaskUnavailableError", "chunk_series", "dask_client", "dask_stats_forecast"]

# AutoETS costs about 100x the other per-series models (forecasting.config.ets_max_series);
# the chunks are balanced on this estimate so no worker gets all of them.
_ETS_COST = 100.0
# Chunks per worker thread: enough to even out the load, few enough that per-task overhead
# stays small next to the fits.
_CHUNKS_PER_THREAD = 4


class DaskUnavailableError(RuntimeError):
    """The Dask engine was asked for but no Dask client is running."""


@contextmanager
def dask_client(address: str | None = None, workers: int | None = None,
                processes: bool = True) -> Iterator[Client]:
    """A Dask client, current for the ``with`` block.

    With ``address`` (``tcp://scheduler:8786``) it connects to that scheduler; without, it
    starts a ``LocalCluster`` of ``workers`` single-threaded workers (default: the machine's
    cores) and closes it afterwards. ``processes=False`` runs the workers as threads of this
    process, which starts faster but shares one interpreter lock.
    """
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
def _current_client() -> Iterator[Client]:
    try:
        get_worker()
    except ValueError:
        pass
    else:
        # On a worker: leave the worker's thread while waiting, or a cluster with one thread
        # per worker could wait on itself.
        with worker_client() as client:
            yield client
        return
    try:
        client = get_client()
    except ValueError as err:
        raise DaskUnavailableError(
            "the 'dask' forecasting engine needs a running Dask client: run inside "
            "forecasting.distributed.dask_client(address) or pass --dask-address to the CLI"
        ) from err
    yield client


def chunk_series(history: pd.DataFrame, n_chunks: int, ets_ids: Sequence[str] = ()
                 ) -> list[pd.DataFrame]:
    """Cut ``history`` (``unique_id, ds, y``) into at most ``n_chunks`` frames of whole series
    with about the same expected fitting cost (rows, AutoETS series weighted ``_ETS_COST``x).

    Series keep their order, so the chunks' forecasts concatenate in the local order.
    """
    ids = history["unique_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lengths = np.diff(np.r_[starts, len(ids)])
    if len(starts) != pd.unique(ids).size:
        raise ValueError("history must hold each series' rows together (sort by unique_id)")
    is_ets = np.isin(ids[starts], np.asarray(list(ets_ids), dtype=object))
    cost = np.cumsum(lengths * np.where(is_ets, _ETS_COST, 1.0))
    n_chunks = max(1, min(n_chunks, len(starts)))
    # Series i goes to the chunk its cumulative cost falls in.
    chunk_of_series = np.minimum((cost - 1e-9) * n_chunks // cost[-1], n_chunks - 1)
    bounds = np.r_[starts[np.r_[True, np.diff(chunk_of_series) > 0]], len(ids)]
    return [history.iloc[a:b] for a, b in pairwise(bounds)]


def _forecast_chunk(chunk: pd.DataFrame, h: int, freq: str, season: int, names: Sequence[str],
                    ets_ids: Sequence[str], ets_model: str) -> pd.DataFrame | None:
    from forecasting.models import stats_forecast

    present = set(chunk["unique_id"].unique())
    chunk_ets = [i for i in ets_ids if i in present]
    if all(n == "auto_ets" for n in names) and not chunk_ets:
        return None
    return stats_forecast(chunk, h, freq, season, names, chunk_ets, ets_model)


def dask_stats_forecast(history: pd.DataFrame, h: int, freq: str, season: int,
                        names: Sequence[str], ets_ids: Sequence[str] = (),
                        ets_model: str = "ANA") -> pd.DataFrame:
    """:func:`forecasting.models.stats_forecast` with the series spread over the current Dask
    cluster's workers; the same frame, in the same order."""
    frame = history[["unique_id", "ds", "y"]]
    frame = frame.sort_values(["unique_id", "ds"], kind="stable", ignore_index=True)
    with _current_client() as client:
        threads = sum(client.nthreads().values()) or 1
        chunks = chunk_series(frame, threads * _CHUNKS_PER_THREAD, ets_ids)
        futures = client.map(_forecast_chunk, chunks, h=h, freq=freq, season=season,
                             names=list(names), ets_ids=list(ets_ids), ets_model=ets_model,
                             pure=False)
        results = client.gather(futures)
    parts = [r for r in results if r is not None]
    if not parts:
        raise ValueError("no series to forecast")
    return pd.concat(parts, ignore_index=True)
