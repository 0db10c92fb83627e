"""How the forecast's cost grows with the number of series, in one process vs on Dask.

Usage: ``python -m benchmarks.bench_scaleout [--series 1000 3000 10000] [--workers 2]
[--fugue-max 1000] [--whole-skus 300] [--write]``.

Stage measured at every size: the per-series statistical models at one origin (what the
engine runs once per backtest window and once at the origin): ``stats_forecast`` with the
default candidates (``forecasting.config.STATS_MODEL_NAMES``) on 364 days of synthetic daily
series (60% intermittent, 40% smooth with a weekly rhythm), AutoETS on the 100 largest, as in
the default ``ForecastConfig``. Engines: ``local`` (this process), ``dask`` (chunks of whole
series on a ``LocalCluster`` of ``--workers`` single-threaded worker processes) and, up to
``--fugue-max`` series, ``fugue`` (statsforecast's own Dask backend, ``StatsForecast.forecast``
on a Dask dataframe). ``--whole-skus`` also times the whole forecast (``Forecaster.fit`` and
``predict``) on the sample brand, local vs dask.

Every measurement runs in a fresh interpreter, after a warm-up call on a few series (imports
and compiled numba code on the workers), so a row is the steady cost of the stage; the
cluster's start-up is reported apart. CPU and peak memory cover the process and its worker
processes (memory sampled every 50 ms, summed over the processes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psutil

from benchmarks.docs import machine_summary, write_section

__all__ = ["Measurement", "main", "measure", "synthetic_history"]

_HISTORY_DAYS = 364
_HORIZON = 28
_ETS_SERIES = 100


def synthetic_history(n_series: int, days: int = _HISTORY_DAYS, seed: int = 0) -> pd.DataFrame:
    """``unique_id, ds, y`` daily sales: 60% intermittent, 40% smooth with a weekly rhythm."""
    rng = np.random.default_rng(seed)
    weekly = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7)
    smooth = rng.random(n_series) < 0.4
    level = np.where(smooth, rng.uniform(5, 50, n_series), rng.uniform(0.05, 0.5, n_series))
    y = rng.poisson(level[:, None] * weekly[None, :]).astype(float)
    return pd.DataFrame({
        "unique_id": np.repeat([f"S{i:06d}" for i in range(n_series)], days),
        "ds": np.tile(pd.date_range(end="2026-10-31", periods=days, freq="D"), n_series),
        "y": y.reshape(-1),
    })


@dataclass(frozen=True)
class Measurement:
    engine: str
    stage: str
    series: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    startup_s: float


class _TreeSampler:
    """Peak summed RSS of this process and its children while the ``with`` block runs."""

    def __init__(self) -> None:
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            with suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._rss())
            self._stop.wait(0.05)

    def __enter__(self) -> _TreeSampler:
        self.peak_bytes = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _tree_cpu() -> float:
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


@contextmanager
def _cluster(engine: str, workers: int) -> Iterator[Executor | None]:
    """The executor the engine spreads its per-series models over (None: this process); for
    ``fugue`` the cluster's client is only made current for Dask dataframes."""
    if engine == "local":
        yield None
        return
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client.get_executor() if engine == "dask" else None


def _stats_call(engine: str, history: pd.DataFrame, executor: Executor | None
                ) -> Callable[[], object]:
    from forecasting.config import STATS_MODEL_NAMES
    from forecasting.parallel import spread_stats_forecast

    volume = history.groupby("unique_id")["y"].sum().sort_values(ascending=False)
    ets_ids = list(volume.index[:_ETS_SERIES])
    if engine == "fugue":
        return _fugue_call(history)
    return lambda: spread_stats_forecast(history, _HORIZON, "D", 7, STATS_MODEL_NAMES, ets_ids,
                                         executor=executor)


def _fugue_call(history: pd.DataFrame) -> Callable[[], object]:
    """statsforecast's Dask backend with the same cheap models (AutoETS left out: it is only
    fitted on a few series, which that backend cannot express in one call)."""
    import dask.dataframe as dd
    from statsforecast import StatsForecast
    from statsforecast.models import HistoricAverage

    from forecasting.config import STATS_MODEL_NAMES
    from forecasting.models import _stats_model

    models = [_stats_model(n, 7, "ANA") for n in STATS_MODEL_NAMES if n != "auto_ets"]
    sf: Any = StatsForecast(models, freq="D", n_jobs=1, fallback_model=HistoricAverage())
    frame = dd.from_pandas(history, npartitions=4)

    def run() -> object:
        return sf.forecast(df=frame, h=_HORIZON).compute()

    return run


def _whole_call(skus: int, executor: Executor | None) -> Callable[[], object]:
    from flows.sample import generate_brand
    from forecasting.config import ForecastConfig
    from forecasting.engine import forecast
    from replenishment.contract import parse_dataset

    brand = generate_brand(skus=skus, days=730)
    dataset = parse_dataset({name: (frame, name) for name, frame in brand.tables.items()})
    config = ForecastConfig()
    return lambda: forecast(dataset.demand, config, products=dataset.supply.products,
                            executor=executor)


def measure(engine: str, stage: str, size: int, workers: int) -> Measurement:
    """One measurement in this process (see the module docstring)."""
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    with _cluster(engine, workers) as executor:
        startup = time.perf_counter() - start
        _stats_call(engine, synthetic_history(max(4 * workers, 8), days=60), executor)()
        if stage == "stats":
            call = _stats_call(engine, synthetic_history(size), executor)
            series = size
        else:
            call = _whole_call(size, executor)
            series = 0
        cpu_before = _tree_cpu()
        with _TreeSampler() as memory:
            start = time.perf_counter()
            result = call()
            wall = time.perf_counter() - start
        cpu = _tree_cpu() - cpu_before
        if stage == "whole":
            series = len(result.models)  # type: ignore[attr-defined]
    return Measurement(engine, stage, series, wall, cpu, memory.peak_bytes / 2**20, startup)


def _in_fresh_process(engine: str, stage: str, size: int, workers: int) -> Measurement:
    command = [sys.executable, "-m", "benchmarks.bench_scaleout", "--one", engine, stage,
               str(size), "--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


def _table(rows: list[Measurement]) -> str:
    local = {(m.stage, m.series): m.wall_s for m in rows if m.engine == "local"}
    lines = ["| stage | series | engine | wall s | vs local | CPU s (all processes) | "
             "peak memory MB | cluster start s |", "| --- | ---: | --- | ---: | ---: | ---: | "
             "---: | ---: |"]
    for m in rows:
        ratio = local.get((m.stage, m.series))
        versus = f"{m.wall_s / ratio:.2f}x" if ratio else ""
        start = f"{m.startup_s:.1f}" if m.engine != "local" else ""
        lines.append(f"| {m.stage} | {m.series:,} | {m.engine} | {m.wall_s:.1f} | {versus} | "
                     f"{m.cpu_s:.1f} | {m.peak_mb:,.0f} | {start} |")
    return "\n".join(lines)


def _section(rows: list[Measurement], workers: int, load: tuple[float, float]) -> str:
    return f"""## Scale-out

`python -m benchmarks.bench_scaleout --write` on {machine_summary()}; Dask: a `LocalCluster`
of {workers} single-threaded worker processes. "stats" is the per-series statistical stage
at one origin (7 candidate models, AutoETS on the 100 largest series, 364 days, horizon 28;
the engine runs it once per backtest window and once at the origin); "whole" is the whole
forecast of the sample brand (default `ForecastConfig`). Each row is a fresh interpreter after
a warm-up call; the cluster's start-up is apart. `fugue` is statsforecast's own Dask backend
(same models without AutoETS). Shared machine: 1-minute load average {load[0]:.1f} before,
{load[1]:.1f} after; other engineers' jobs were running, so the times are upper bounds.

{_table(rows)}

See `docs/scale-out.md` for what runs where and how to use a real cluster.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fugue-max", dest="fugue_max", type=int, default=1000)
    parser.add_argument("--whole-skus", dest="whole_skus", type=int, nargs="*", default=[])
    parser.add_argument("--write", action="store_true",
                        help="Write the results to the Scale-out section of docs/benchmarks.md.")
    parser.add_argument("--one", nargs=3, metavar=("ENGINE", "STAGE", "SIZE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        engine, stage, size = args.one
        print(json.dumps(measure(engine, stage, int(size), args.workers).__dict__))
        return
    load_before = os.getloadavg()[0]
    plan: list[tuple[str, str, int]] = []
    for n in args.series:
        plan += [("local", "stats", n), ("dask", "stats", n)]
        plan += [("fugue", "stats", n)] if n <= args.fugue_max else []
    for skus in args.whole_skus:
        plan += [("local", "whole", skus), ("dask", "whole", skus)]
    rows = []
    for engine, stage, size in plan:
        row = _in_fresh_process(engine, stage, size, args.workers)
        print(json.dumps(row.__dict__), flush=True)
        rows.append(row)
    section = _section(rows, args.workers, (load_before, os.getloadavg()[0]))
    print(section)
    if args.write:
        write_section("## Scale-out", section)


if __name__ == "__main__":
    main()
