"""Accuracy on the real-data protocols of ``../shared/data/README.md``.

    python -m benchmarks.bench_accuracy --protocol rossmann --method engine

Loads the contract folder written by ``python -m benchmarks.datasets`` (written first if
absent) with ``replenishment.contract.parse_dataset``, forecasts from the protocol's cutoff and
scores WAPE, RMSPE, WMAE and p50/p90 coverage on the test window. Methods:

- ``engine``: ``forecasting.engine.Forecaster`` with a default ``ForecastConfig`` holding only
  the protocol's horizon and frequency;
- ``recipe``: the direct LightGBM of ``benchmarks.recipe`` with backtest-calibrated quantiles;
- ``seasonal_naive``: statsforecast ``SeasonalNaive`` (the floor).

Each run appends one JSON line (scores, seconds, date, machine) to
``benchmarks/results/accuracy.jsonl`` and prints a Markdown table row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import SeasonalNaive

from benchmarks.datasets import (
    DEFAULT_DATA_ROOT,
    DEFAULT_OUT_ROOT,
    load_contract_folder,
    mapped_tables,
    write_contract_folder,
)
from benchmarks.protocols import PROTOCOLS, Protocol, actuals, score
from benchmarks.recipe import DAILY, WEEKLY, calibrated_forecast
from forecasting.config import ForecastConfig
from replenishment.contract import Dataset

__all__ = ["ENGINE_OVERRIDES", "METHODS", "cpu_model", "engine_config", "ensure_folder", "main",
           "run"]

RESULTS = Path("benchmarks/results/accuracy.jsonl")
Method = Callable[[Dataset, Protocol, int], pd.DataFrame]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (the platform's processor name elsewhere)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def ensure_folder(name: str, out_root: Path = DEFAULT_OUT_ROOT,
                  data_root: Path = DEFAULT_DATA_ROOT) -> Path:
    """The contract folder of dataset ``name``, mapped from the raw data if not there yet."""
    folder = Path(out_root) / name
    if not (folder / "sales.csv").exists():
        write_contract_folder(mapped_tables(name, data_root), folder)
    return folder


ENGINE_OVERRIDES: dict[str, object] = {}
"""``ForecastConfig`` fields set by ``--set`` (to measure a lever; empty: the defaults)."""


def engine_config(protocol: Protocol) -> ForecastConfig:
    """The default ``ForecastConfig`` with the protocol's facts only: horizon and frequency
    (no per-dataset model settings: the engine chooses its set-up on the data), plus the
    ``--set`` overrides when a lever is measured."""
    return ForecastConfig(**{"horizon": protocol.horizon, "freq": protocol.freq,
                             **ENGINE_OVERRIDES})


ENGINE_DETAILS: dict[str, object] = {}
"""What the last engine run chose (set-up, trees, blend) and its CPU seconds per stage."""


def engine_method(data: Dataset, protocol: Protocol, n_jobs: int) -> pd.DataFrame:
    """Forecast through the project's engine with the default settings, as
    ``replenish forecast`` does."""
    from forecasting.engine import Forecaster

    fitted = Forecaster(engine_config(protocol), n_jobs=n_jobs).fit(
        data.demand, as_of=protocol.cutoff, products=data.supply.products)
    result = fitted.predict()
    ENGINE_DETAILS.clear()
    ENGINE_DETAILS.update({
        "setup": getattr(getattr(fitted, "setup_", None), "name", None),
        "setup_scores": {k: round(v, 4) for k, v in fitted.setup_scores_.items()},
        "trees": fitted.trees_, "blend": fitted.blend_,
        "blend_scores": {k: round(v, 4) for k, v in fitted.blend_scores_.items()},
        "cpu_s_by_stage": {k: round(v, 1) for k, v in fitted.timings_.items()},
        "models": result.models["model"].value_counts().head(8).to_dict(),
    })
    return result.channel


def recipe_method(data: Dataset, protocol: Protocol, n_jobs: int) -> pd.DataFrame:
    settings = DAILY if protocol.freq == "D" else WEEKLY
    return calibrated_forecast(data.demand, settings, protocol.freq, protocol.horizon,
                               protocol.cutoff, n_jobs=n_jobs)


def seasonal_naive_method(data: Dataset, protocol: Protocol, n_jobs: int) -> pd.DataFrame:
    sales = data.demand.sales
    history = sales[sales["date"] <= protocol.cutoff]
    frame = history.assign(unique_id=history["sku"] + "|" + history["channel"])
    frame = frame.rename(columns={"date": "ds", "units": "y"})[["unique_id", "ds", "y"]]
    # Absent rows are zero sales under the contract: fill them so the season lines up.
    days = pd.date_range(frame["ds"].min(), protocol.cutoff, freq=protocol.freq)
    full = pd.MultiIndex.from_product([pd.Index(frame["unique_id"].unique()), days],
                                      names=["unique_id", "ds"])
    frame = frame.set_index(["unique_id", "ds"]).reindex(full, fill_value=0.0).reset_index()
    model = StatsForecast([SeasonalNaive(protocol.season)], freq=protocol.freq, n_jobs=n_jobs)
    predicted = model.forecast(df=frame, h=protocol.horizon)
    keys = predicted["unique_id"].str.split("|", n=1, expand=True)
    return pd.DataFrame({"sku": keys[0], "channel": keys[1], "date": predicted["ds"],
                         "forecast": predicted["SeasonalNaive"]})


METHODS: dict[str, Method] = {
    "engine": engine_method, "recipe": recipe_method, "seasonal_naive": seasonal_naive_method,
}


def run(protocol: Protocol, method: str, folder: Path, n_jobs: int = 2) -> dict[str, object]:
    """Score one method on one protocol; returns the scores with timing and machine."""
    data = load_contract_folder(folder)
    started = time.perf_counter()
    predicted = METHODS[method](data, protocol, n_jobs)
    seconds = time.perf_counter() - started
    scores = score(predicted, actuals(data.demand, protocol))
    details = dict(ENGINE_DETAILS) if method == "engine" else {}
    if method == "engine" and ENGINE_OVERRIDES:
        details["config"] = dict(ENGINE_OVERRIDES)
    return {"protocol": protocol.name, "method": method, **scores, "seconds": round(seconds, 1),
            "date": date.today().isoformat(), "nproc": os.cpu_count(), "cpu": cpu_model(),
            "load_avg_1m": round(os.getloadavg()[0], 1), **details}


def _row(result: dict[str, object]) -> str:
    cells = [str(result["protocol"]), str(result["method"])]
    for key in ("wape", "rmspe", "wmae", "p50_coverage", "p90_coverage"):
        value = result.get(key)
        cells.append("" if value is None else f"{value:.4f}" if key != "wmae"
                     else f"{value:.1f}")
    cells += [f"{result['seconds']}", str(result["date"])]
    return "| " + " | ".join(cells) + " |"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Accuracy on the real-data protocols.")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), action="append")
    parser.add_argument("--method", choices=sorted(METHODS), action="append")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--folders", type=Path, default=DEFAULT_OUT_ROOT)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--set", default="{}", help="ForecastConfig overrides of the engine "
                        "as JSON (to measure a lever; recorded with the result).")
    args = parser.parse_args(argv)
    ENGINE_OVERRIDES.clear()
    ENGINE_OVERRIDES.update(json.loads(args.set))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for name in args.protocol or sorted(PROTOCOLS):
        folder = ensure_folder(name, args.folders, args.data)
        for method in args.method or ["seasonal_naive", "recipe", "engine"]:
            result = run(PROTOCOLS[name], method, folder, args.n_jobs)
            with RESULTS.open("a") as out:
                out.write(json.dumps(result) + "\n")
            print(_row(result), flush=True)
            if method == "engine":
                print({k: result.get(k) for k in ENGINE_DETAILS}, flush=True)


if __name__ == "__main__":
    main()
