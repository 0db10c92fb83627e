"""``replenish simulate``: load the data, replay it with both policies, write and record.

Reads the dataset like ``replenish plan`` does, plus — when the folder holds them (the sample
brand writes them) — ``truth/true_demand.parquet`` (``date, sku, channel, demand``: what
customers wanted, served or not) and ``truth/stock.parquet`` (``date, sku, ..., on_hand``:
end-of-day stock, whose value on the day before ``--start`` is the start stock). Without
them demand is the recorded sales (days out of stock understate it) and the start stock is
the engine's first order-up-to level.

Writes ``summary.json``, ``trace.csv`` (per policy, day and SKU) and ``baseline_grid.csv``
(every baseline rule tried) into ``--out`` as one staged folder, and records the run (kind
``simulate``) with the trace and grid in the run store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.config import Settings
from flows.errors import UserError
from flows.pipeline.recording import recorded_run
from flows.pipeline.stages import check_plannable, dataset_hashes
from flows.progress import Progress
from flows.storage.exports import atomic_write, staged_output, write_csv
from flows.storage.hashing import hash_mapping
from flows.storage.sources import load_dataset
from replenishment.contract import Dataset
from replenishment.simulate import (
    SimulationResult,
    SimulationSettings,
    engine_forecast,
    simulate,
    simulation_forecast_config,
    simulation_planning_config,
)
from replenishment.timeline import planning_horizon

__all__ = ["SimulationJob", "describe_simulation", "read_truth", "run_simulation",
           "simulation_demand"]

TRUTH_DEMAND = Path("truth") / "true_demand.parquet"
TRUTH_STOCK = Path("truth") / "stock.parquet"


@dataclass(frozen=True)
class SimulationJob:
    """What ``run_simulation`` produced and where it put it."""

    run_id: str
    result: SimulationResult
    out: Path
    files: dict[str, Path]


def _read_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: cannot read it as Parquet: {err}") from err
    missing = [c for c in columns if c not in frame]
    if missing:
        raise UserError(f"{path}: expected the columns {', '.join(columns)}; missing "
                        f"{', '.join(missing)}")
    frame = frame[columns].copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.normalize()
    frame["sku"] = frame["sku"].astype(str)
    return frame


def read_truth(folder: Path | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The true demand and the daily stock from ``folder/truth/`` (None where absent)."""
    if folder is None:
        return None, None
    demand = stock = None
    if (folder / TRUTH_DEMAND).exists():
        demand = _read_parquet(folder / TRUTH_DEMAND, ["date", "sku", "channel", "demand"])
        demand["channel"] = demand["channel"].astype(str)
    if (folder / TRUTH_STOCK).exists():
        stock = _read_parquet(folder / TRUTH_STOCK, ["date", "sku", "on_hand"])
    return demand, stock


def simulation_demand(dataset: Dataset, truth: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """Demand to replay and where it comes from: the truth, else the recorded sales."""
    if truth is not None:
        return truth, f"true demand ({TRUTH_DEMAND.as_posix()})"
    sales = dataset.demand.sales
    recorded = sales[["date", "sku", "channel"]].assign(demand=sales["units"].to_numpy())
    return recorded, "recorded sales (days out of stock understate demand)"


def _check_dates(start: pd.Timestamp, end: pd.Timestamp, dataset: Dataset,
                 demand: pd.DataFrame, source: str) -> None:
    if end < start:
        raise UserError(f"--end {end.date()} is before --start {start.date()}")
    first_sale = dataset.demand.sales["date"].min()
    if pd.isna(first_sale) or first_sale >= start:
        known = "no sales" if pd.isna(first_sale) else f"the first sales on {first_sale.date()}"
        raise UserError(f"--start {start.date()}: the forecast needs sales before it; the data "
                        f"has {known}")
    last = demand["date"].max()
    if end > last:
        raise UserError(f"--end {end.date()} is after the last day of demand known "
                        f"({last.date()}, from the {source}); choose an earlier --end")


def _start_stock(stock: pd.DataFrame | None, start: pd.Timestamp) -> pd.Series | None:
    if stock is None:
        return None
    evening = stock[stock["date"] == start - pd.Timedelta(days=1)]
    if evening.empty:
        return None
    return evening.groupby("sku")["on_hand"].sum()


def run_simulation(
    settings: Settings, *, start: str, end: str, out: Path, folder: Path | None = None,
    simulation: SimulationSettings | None = None, quiet: bool = False,
) -> SimulationJob:
    """Replay ``start``..``end`` with the engine's policy and the tuned baseline; write
    ``summary.json``, ``trace.csv`` and ``baseline_grid.csv`` into ``out`` at once."""
    simulation = simulation or SimulationSettings()
    first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    progress = Progress(3, quiet=quiet)
    with progress.step("loading and validating data"):
        dataset, summary = load_dataset(settings, folder)
        check_plannable(dataset, settings.forecast)
        truth_demand, truth_stock = read_truth(folder or settings.data.folder)
        demand, source = simulation_demand(dataset, truth_demand)
        _check_dates(first, last, dataset, demand, source)
        start_stock = _start_stock(truth_stock, first)
    progress.say(summary)
    planning = simulation_planning_config(settings.planning, simulation.target_fill_rate,
                                          simulation.review_days)
    config = simulation_forecast_config(
        settings.forecast, simulation.review_days, simulation.forecast_every,
        planning_days=planning_horizon(dataset.supply.suppliers, planning))
    config_hash = hash_mapping({
        "settings": settings.fingerprint(), "simulation": simulation.model_dump_json(),
        "end": last.date().isoformat(),
    })
    with recorded_run(settings, "simulate", first, config_hash, dataset_hashes(dataset),
                      progress) as (store, run):
        weeks = len(pd.date_range(first, last)) / 7
        with progress.step(f"simulating {weeks:.0f} weeks, reviews every "
                           f"{simulation.review_days} days"):
            result = simulate(dataset, demand, first, last, engine_forecast(config),
                              settings.planning, simulation, start_stock)
        with progress.step("writing outputs"):
            document = {**result.summary, "run_id": run.run_id, "demand_source": source}
            with staged_output(out) as staging:
                with atomic_write(staging / "summary.json") as handle:
                    handle.write(json.dumps(document, indent=2, ensure_ascii=False))
                write_csv(result.trace, staging / "trace.csv")
                write_csv(result.baseline_grid, staging / "baseline_grid.csv")
            store.save_outputs(run.run_id, {"simulation_trace": result.trace,
                                            "baseline_grid": result.baseline_grid})
    files = {p.name: p for p in sorted(out.iterdir())}
    return SimulationJob(run.run_id, result, out, files)


def describe_simulation(job: SimulationJob) -> str:
    """A few lines for the terminal: both policies side by side."""
    summary = job.result.summary
    policy, baseline = summary["policy"], summary["baseline"]
    rule = summary["baseline_rule"]
    saving = summary["inventory_value_saving"]
    lines = [
        f"Simulation {summary['start']} to {summary['end']} ({summary['skus']} SKUs, "
        f"{summary['reviews']} reviews; measured from {summary['measured_from']}) "
        f"-> {job.out} (run {job.run_id})",
        f"  {'':28}{'policy':>14}{'baseline':>14}",
    ]
    for key in ("fill_rate", "cycle_service_level", "stockout_days", "avg_on_hand_units",
                "avg_on_hand_value", "orders"):
        lines.append(f"  {key:28}{policy[key]!s:>14}{baseline[key]!s:>14}")
    lines.append(f"  baseline rule: order up to {rule['cover_days']:g} days of average sales "
                 f"when cover < {rule['reorder_days']:g} days; target fill rate "
                 f"{summary['target_fill_rate']:g}")
    if saving is not None:
        lines.append(f"  the policy holds {saving:.1%} less inventory value than the baseline")
    return "\n".join(lines)
