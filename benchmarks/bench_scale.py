"""Forecast + plan of a large brand: wall time, CPU time and peak memory against series count.

Usage: ``python -m benchmarks.bench_scale [--skus 250 2500] [--engine local|dask]
[--workers 2] [--data-root /tmp/replenish-scale] [--write]``.

Each size is the sample brand (``replenish sample --skus N``: N SKUs on 4 channels, 800 days;
about 4 x N series) written once to ``--data-root`` and then run in a fresh interpreter the
way ``replenish plan`` runs it: read the folder and validate, forecast the whole planning
horizon with the default ``ForecastConfig`` (``horizon`` unset), plan with the default
``PlanningConfig``. Wall time per stage; CPU time and peak memory (RSS sampled every 50 ms,
summed over the process and its children, i.e. the Dask workers) over the three stages
together. ``--engine dask`` starts a ``LocalCluster`` of ``--workers`` single-threaded worker
processes (``flows.orchestration.dask``) before the clock starts; its start-up is apart.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from benchmarks.bench_scaleout import _tree_cpu, _TreeSampler
from benchmarks.docs import machine_summary

__all__ = ["ScaleRun", "main", "measure"]

_DEFAULT_ROOT = Path("/tmp/replenish-scale")


@dataclass(frozen=True)
class ScaleRun:
    """One measured run of read + validate, forecast and plan."""

    skus: int
    series: int
    engine: str
    read_s: float
    forecast_s: float
    plan_s: float
    cpu_s: float
    peak_mb: float
    startup_s: float
    horizon: int
    order_lines: int
    load_before: float
    load_after: float
    stage_peak_mb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Peak RSS of the process tree during read + validate, forecast and plan."""

    @property
    def wall_s(self) -> float:
        return self.read_s + self.forecast_s + self.plan_s

    @property
    def mb_per_series(self) -> float:
        return self.peak_mb / max(self.series, 1)


def brand_folder(root: Path, skus: int) -> Path:
    """The sample brand of ``skus`` SKUs under ``root``, written if absent."""
    folder = root / f"brand-{skus}"
    if not (folder / "truth" / "true_demand.parquet").exists():
        from flows.sample import generate_brand, write_brand

        write_brand(generate_brand(skus=skus), folder)
    return folder


def measure(folder: Path, skus: int, engine: str, workers: int) -> ScaleRun:
    """Read, validate, forecast and plan ``folder`` in this process (see the docstring)."""
    from flows.config import ExecutionSettings
    from flows.orchestration.dask import execution
    from flows.pipeline import stages
    from flows.storage.sources.folder import read_folder
    from forecasting.config import ForecastConfig
    from replenishment.config import PlanningConfig
    from replenishment.contract import parse_dataset

    warnings.simplefilter("ignore")
    load_before = os.getloadavg()[0]
    settings = ExecutionSettings(engine=engine)
    started = time.perf_counter()
    with execution(settings, workers=workers):
        startup = time.perf_counter() - started
        cpu_before = _tree_cpu()
        peaks = []
        with _TreeSampler() as memory:
            clock = time.perf_counter()
            with _TreeSampler() as stage:
                dataset = parse_dataset(read_folder(folder))
                as_of = pd.Timestamp(dataset.demand.sales["date"].max())
                planning = PlanningConfig()
                config, _ = stages.planning_forecast_config(ForecastConfig(), dataset,
                                                            planning)
            peaks.append(stage.peak_bytes / 2**20)
            read = time.perf_counter() - clock
            clock = time.perf_counter()
            with _TreeSampler() as stage:
                forecast = stages.forecast(dataset.demand, dataset.supply.products, config,
                                           as_of, settings, dataset.supply.inventory)
            peaks.append(stage.peak_bytes / 2**20)
            forecast_s = time.perf_counter() - clock
            clock = time.perf_counter()
            with _TreeSampler() as stage:
                result = stages.plan_orders(dataset, forecast, planning, as_of)
            peaks.append(stage.peak_bytes / 2**20)
            plan_s = time.perf_counter() - clock
        cpu = _tree_cpu() - cpu_before
    return ScaleRun(skus, len(forecast.models), engine, read, forecast_s, plan_s, cpu,
                    memory.peak_bytes / 2**20, startup if engine == "dask" else 0.0,
                    int(config.horizon or 0), len(result.orders), load_before,
                    os.getloadavg()[0], (peaks[0], peaks[1], peaks[2]))


def _in_fresh_process(folder: Path, skus: int, engine: str, workers: int) -> ScaleRun:
    command = [sys.executable, "-m", "benchmarks.bench_scale", "--one", str(folder), str(skus),
               "--engine", engine, "--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    fields = json.loads(done.stdout.strip().splitlines()[-1])
    fields["stage_peak_mb"] = tuple(fields["stage_peak_mb"])
    return ScaleRun(**fields)


def table(rows: list[ScaleRun]) -> str:
    """The rows as a markdown table."""
    lines = ["| SKUs | series | engine | horizon | read + validate s | forecast s | plan s | "
             "wall s | CPU s | peak MB | MB per series | peak MB read / forecast / plan | "
             "load 1m before / after |",
             "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
             "--- | --- |"]
    for r in rows:
        stages = " / ".join(f"{p:,.0f}" for p in r.stage_peak_mb)
        lines.append(
            f"| {r.skus:,} | {r.series:,} | {r.engine} | {r.horizon} | {r.read_s:.1f} | "
            f"{r.forecast_s:.1f} | {r.plan_s:.1f} | {r.wall_s:.1f} | {r.cpu_s:.1f} | "
            f"{r.peak_mb:,.0f} | {r.mb_per_series:.2f} | {stages} | {r.load_before:.1f} / "
            f"{r.load_after:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, nargs="+", default=[250, 2500])
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-root", dest="root", type=Path, default=_DEFAULT_ROOT)
    parser.add_argument("--one", nargs=2, metavar=("FOLDER", "SKUS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        run = measure(Path(args.one[0]), int(args.one[1]), args.engine, args.workers)
        print(json.dumps(asdict(run)))
        return
    print(f"date={pd.Timestamp.now():%Y-%m-%d} {machine_summary()}", flush=True)
    rows = []
    for skus in args.skus:
        folder = brand_folder(args.root, skus)
        rows.append(_in_fresh_process(folder, skus, args.engine, args.workers))
        print(json.dumps(asdict(rows[-1])), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
