"""The per-series statistical models spread over an executor, in chunks of whole series.

The per-series stage is what grows with the catalogue: every series is fitted on its own, at
every backtest cutoff. The core does not create workers: the caller passes any
:class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor``, or a Dask client's
``client.get_executor()``), and the history is cut into chunks of whole series, balanced by
their expected cost, each forecast by the very function that runs in-process
(:func:`forecasting.models.stats_forecast`), so the result equals the in-process one.

Why chunks rather than statsforecast's Fugue backend (``StatsForecast.forecast(df=dask_df)``):
that backend partitions by ``unique_id`` and calls the models once per series through a
grouped apply, which measured 6.6x slower than one process on 1,000 daily series (see the
"Scale-out" section of ``docs/benchmarks.md``). A chunk fits hundreds of series in one call,
so the workers' time goes to fitting rather than to per-call overhead.

How many chunks: the executor's size is not part of the ``Executor`` interface, so the count
follows the work. A chunk holds about :data:`CHUNK_COST` cost units (rows, an AutoETS row
counting :data:`ETS_COST`), about 1 s of fitting on one core (2 microseconds per row of the
cheap models: 10,000 series x 364 days took 7.3 CPU s, ``docs/benchmarks.md``), well above a
task's overhead; and there are at least :data:`MIN_CHUNKS` chunks when there are that many
series, so up to 32 worker threads are kept busy on a mid-sized catalogue.

The global LightGBM model stays in the calling process: it is one model trained on all rows,
LightGBM already uses every core of that machine, and a data-parallel fit grows different
trees, so results would no longer equal the in-process ones (see ``docs/scale-out.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from functools import partial
from itertools import pairwise

import numpy as np
import pandas as pd

from forecasting.models import stats_forecast

__all__ = ["CHUNK_COST", "ETS_COST", "MIN_CHUNKS", "chunk_count", "chunk_series",
           "forecast_chunk", "spread_stats_forecast"]

# AutoETS costs about 100x the other per-series models (forecasting.config.ets_max_series);
# the chunks are balanced on this estimate so no worker gets all of them.
ETS_COST = 100.0
CHUNK_COST = 500_000.0
MIN_CHUNKS = 32


def chunk_series(history: pd.DataFrame, n_chunks: int, ets_ids: Sequence[str] = ()
                 ) -> list[pd.DataFrame]:
    """Cut ``history`` (``unique_id, ds, y``) into at most ``n_chunks`` frames of whole series
    with about the same expected fitting cost (rows, AutoETS series weighted ``ETS_COST``x).

    Series keep their order, so the chunks' forecasts concatenate in the in-process order.
    """
    ids = history["unique_id"].to_numpy()
    if len(ids) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lengths = np.diff(np.r_[starts, len(ids)])
    if len(starts) != pd.unique(ids).size:
        raise ValueError("history must hold each series' rows together (sort by unique_id)")
    cost = np.cumsum(lengths * _series_cost(ids[starts], ets_ids))
    n_chunks = max(1, min(n_chunks, len(starts)))
    # Series i goes to the chunk its cumulative cost falls in.
    chunk_of_series = np.minimum((cost - 1e-9) * n_chunks // cost[-1], n_chunks - 1)
    bounds = np.r_[starts[np.r_[True, np.diff(chunk_of_series) > 0]], len(ids)]
    return [history.iloc[a:b] for a, b in pairwise(bounds)]


def chunk_count(history: pd.DataFrame, ets_ids: Sequence[str] = ()) -> int:
    """Chunks for ``history``: one per :data:`CHUNK_COST` of work, at least
    :data:`MIN_CHUNKS` (never more than there are series)."""
    ids = history["unique_id"].to_numpy()
    counts = pd.Series(ids).value_counts()
    total = float((counts.to_numpy() * _series_cost(counts.index.to_numpy(), ets_ids)).sum())
    return int(min(len(counts), max(MIN_CHUNKS, np.ceil(total / CHUNK_COST))))


def _series_cost(ids: np.ndarray, ets_ids: Sequence[str]) -> np.ndarray:
    is_ets = np.isin(ids, np.asarray(list(ets_ids), dtype=object))
    return np.where(is_ets, ETS_COST, 1.0)


def forecast_chunk(chunk: pd.DataFrame, h: int, freq: str, season: int, names: Sequence[str],
                   ets_ids: Sequence[str], ets_model: str) -> pd.DataFrame | None:
    """:func:`stats_forecast` on one chunk (None when only AutoETS is asked for and none of
    the chunk's series takes it). A module-level function, so process pools can pickle it."""
    present = set(chunk["unique_id"].unique())
    chunk_ets = [i for i in ets_ids if i in present]
    if all(n == "auto_ets" for n in names) and not chunk_ets:
        return None
    return stats_forecast(chunk, h, freq, season, names, chunk_ets, ets_model)


def spread_stats_forecast(history: pd.DataFrame, h: int, freq: str, season: int,
                          names: Sequence[str], ets_ids: Sequence[str] = (),
                          ets_model: str = "ANA", executor: Executor | None = None
                          ) -> pd.DataFrame:
    """:func:`stats_forecast` with the series spread over ``executor`` (in this process when
    None); the same frame, in the same order, either way."""
    if executor is None:
        return stats_forecast(history, h, freq, season, names, ets_ids, ets_model)
    frame = history[["unique_id", "ds", "y"]]
    frame = frame.sort_values(["unique_id", "ds"], kind="stable", ignore_index=True)
    chunks = chunk_series(frame, chunk_count(frame, ets_ids), ets_ids)
    task = partial(forecast_chunk, h=h, freq=freq, season=season, names=list(names),
                   ets_ids=list(ets_ids), ets_model=ets_model)
    parts = [r for r in executor.map(task, chunks) if r is not None]
    if not parts:
        raise ValueError("no series to forecast")
    return pd.concat(parts, ignore_index=True)
