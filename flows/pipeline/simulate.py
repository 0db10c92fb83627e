"""``replenish simulate``: load the data, replay it with both policies, write and record.

Reads the dataset like ``replenish plan`` does, plus — when the folder holds them (the sample
brand writes them) — ``truth/true_demand.parquet`` (``date, sku, channel, demand``: what
customers wanted, served or not) and ``truth/stock.parquet`` (``date, sku, ..., on_hand``:
end-of-day stock, whose value on the day before ``--start`` is the start stock) and
``truth/purchase_orders.parquet`` (``po_id, sku, supplier, qty, order_date, eta``: every
purchase order line; those placed by the evening before ``--start`` and received after it
are the orders open at the start) and ``truth/returns.parquet`` (``sale_date, date, sku,
channel, units, restocked``: every returned unit, from which the replay's customers learn
to send back, instead of the ``returns`` table). Without them demand is the recorded sales
(days out of stock understate it); a replay starting the day after the last sales starts
from the data's own state (``inventory`` per warehouse and ``open_orders``); otherwise the
start stock is the engine's first order-up-to level and no order is open at the start. Both
policies start from the same state; the open orders arrive at their ETA for both.

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
from flows.i18n import language
from flows.pipeline.recording import recorded_run
from flows.pipeline.stages import check_plannable, dataset_hashes
from flows.progress import Progress
from flows.storage.exports import atomic_write, staged_output, write_csv
from flows.storage.hashing import hash_mapping
from flows.storage.sources import load_dataset
from replenishment.contract import Dataset
from replenishment.sim_returns import truth_returns_table
from replenishment.simulate import (
    SimulationResult,
    SimulationSettings,
    engine_forecast,
    simulate,
    simulation_forecast_config,
    simulation_planning_config,
)
from replenishment.timeline import planning_horizon

__all__ = ["SimulationJob", "StartState", "Truth", "describe_simulation", "read_truth",
           "run_simulation", "simulation_demand", "simulation_returns", "start_state"]

TRUTH_DEMAND = Path("truth") / "true_demand.parquet"
TRUTH_STOCK = Path("truth") / "stock.parquet"
TRUTH_ORDERS = Path("truth") / "purchase_orders.parquet"
TRUTH_RETURNS = Path("truth") / "returns.parquet"


@dataclass(frozen=True)
class SimulationJob:
    """What ``run_simulation`` produced and where it put it."""

    run_id: str
    result: SimulationResult
    out: Path
    files: dict[str, Path]


def _read_parquet(path: Path, columns: list[str], dates: tuple[str, ...] = ("date",),
                  ) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: cannot read it as Parquet: {err}") from err
    missing = [c for c in columns if c not in frame]
    if missing:
        raise UserError(f"{path}: expected the columns {', '.join(columns)}; missing "
                        f"{', '.join(missing)}")
    frame = frame[columns].copy()
    for column in dates:
        frame[column] = pd.to_datetime(frame[column]).dt.normalize()
    frame["sku"] = frame["sku"].astype(str)
    return frame


@dataclass(frozen=True)
class Truth:
    """What ``folder/truth/`` holds (None where absent)."""

    demand: pd.DataFrame | None = None
    stock: pd.DataFrame | None = None
    orders: pd.DataFrame | None = None
    returns: pd.DataFrame | None = None


def read_truth(folder: Path | None) -> Truth:
    """The true demand, the daily stock, the purchase order history and the returns from
    ``folder/truth/`` (None where absent)."""
    if folder is None:
        return Truth()
    demand = stock = orders = returns = None
    if (folder / TRUTH_DEMAND).exists():
        demand = _read_parquet(folder / TRUTH_DEMAND, ["date", "sku", "channel", "demand"])
        demand["channel"] = demand["channel"].astype(str)
    if (folder / TRUTH_STOCK).exists():
        stock = _read_parquet(folder / TRUTH_STOCK, ["date", "sku", "on_hand"])
    if (folder / TRUTH_ORDERS).exists():
        orders = _read_parquet(folder / TRUTH_ORDERS, ["sku", "qty", "order_date", "eta"],
                               dates=("order_date", "eta"))
    if (folder / TRUTH_RETURNS).exists():
        returns = _read_parquet(folder / TRUTH_RETURNS, ["sale_date", "date", "sku", "channel",
                                                         "units", "restocked"],
                                dates=("sale_date", "date"))
    return Truth(demand, stock, orders, returns)


def simulation_returns(dataset: Dataset, truth: pd.DataFrame | None,
                       ) -> tuple[pd.DataFrame | None, str]:
    """Returns the replay's customers learn from, and where they come from: the truth,
    else the ``returns`` table (None: the data's own), else none."""
    if truth is not None and not truth.empty:
        return truth_returns_table(truth), f"true returns ({TRUTH_RETURNS.as_posix()})"
    if dataset.demand.returns.empty:
        return None, "none (no returns table)"
    return None, "the returns table"


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


@dataclass(frozen=True)
class StartState:
    """The state both policies start from: stock on hand per SKU (None: the engine's first
    order-up-to), the purchase order lines open (``sku, qty, eta``; None: none), and where
    each came from; ``by_warehouse`` the stock per warehouse when known (``sku, warehouse,
    on_hand``: the pools start from it instead of a split of ``stock``)."""

    stock: pd.Series | None
    open_orders: pd.DataFrame | None
    source: str
    by_warehouse: pd.DataFrame | None = None


def _truth_state(truth: Truth, start: pd.Timestamp) -> StartState | None:
    """The evening before ``start`` as the truth recorded it, if it did."""
    if truth.stock is None:
        return None
    eve = start - pd.Timedelta(days=1)
    evening = truth.stock[truth.stock["date"] == eve]
    if evening.empty:
        return None
    orders = truth.orders
    if orders is not None:
        orders = orders[(orders["order_date"] <= eve) & (orders["eta"] > eve)]
    source = "truth (stock" + (" and purchase orders)" if orders is not None else ")")
    return StartState(evening.groupby("sku")["on_hand"].sum(), orders, source)


def start_state(dataset: Dataset, truth: Truth, start: pd.Timestamp) -> StartState:
    """Stock and open orders at ``start``: the truth's evening before; else, when the replay
    starts the day after the last sales, the data's ``inventory`` and ``open_orders``;
    else unknown (the engine's first order-up-to, nothing open)."""
    recorded = _truth_state(truth, start)
    if recorded is not None:
        return recorded
    last_sale = dataset.demand.sales["date"].max()
    if pd.notna(last_sale) and start == last_sale + pd.Timedelta(days=1):
        supply = dataset.supply
        stock = supply.inventory.groupby("sku")["on_hand"].sum()
        return StartState(stock, supply.open_orders, "data (inventory and open_orders)",
                          supply.inventory[["sku", "warehouse", "on_hand"]])
    return StartState(None, None, "unknown (first plan's order-up-to, no open orders)")


def run_simulation(
    settings: Settings, *, start: str, end: str, out: Path, folder: Path | None = None,
    simulation: SimulationSettings | None = None, quiet: bool = False,
) -> SimulationJob:
    """Replay ``start``..``end`` with the engine's policy and the tuned baseline; write
    ``summary.json``, ``trace.csv`` and ``baseline_grid.csv`` into ``out`` at once."""
    simulation = simulation or SimulationSettings()
    first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    progress = Progress(3, quiet=quiet, lang=language(settings.locale))
    with progress.step("loading and validating data"):
        dataset, summary = load_dataset(settings, folder)
        check_plannable(dataset, settings.forecast)
        truth = read_truth(folder or settings.data.folder)
        demand, source = simulation_demand(dataset, truth.demand)
        _check_dates(first, last, dataset, demand, source)
        state = start_state(dataset, truth, first)
        returns, returns_source = simulation_returns(dataset, truth.returns)
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
        with progress.step("simulating {weeks} weeks, reviews every {days} days",
                           weeks=f"{weeks:.0f}", days=simulation.review_days):
            stock = state.by_warehouse if state.by_warehouse is not None else state.stock
            result = simulate(dataset, demand, first, last, engine_forecast(config),
                              settings.planning, simulation, stock, state.open_orders, returns)
        with progress.step("writing the simulation outputs"):
            document = {**result.summary, "run_id": run.run_id, "demand_source": source,
                        "start_state": state.source, "returns_source": returns_source}
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
    """A few lines for the terminal, led by the fill rates of both policies; then both side
    by side."""
    summary = job.result.summary
    policy, baseline = summary["policy"], summary["baseline"]
    rule = summary["baseline_rule"]
    saving = summary["inventory_value_saving"]
    fill = summary["fill_rate"]
    opened = summary["open_orders_at_start"]
    lines = [
        f"Fill rate: engine {fill['policy']}, planners' rule {fill['baseline']} "
        f"(target {fill['target']:g})",
        f"Simulation {summary['start']} to {summary['end']} ({summary['skus']} SKUs, "
        f"{summary['reviews']} reviews; measured from {summary['measured_from']}; "
        f"{opened['lines']} purchase order lines open at the start) "
        f"-> {job.out} (run {job.run_id})",
        f"  {'':28}{'policy':>14}{'baseline':>14}",
    ]
    for key in ("cycle_service_level", "stockout_days", "avg_on_hand_units",
                "avg_on_hand_value", "orders"):
        lines.append(f"  {key:28}{policy[key]!s:>14}{baseline[key]!s:>14}")
    lines.append(f"  baseline rule: order up to {rule['cover_days']:g} days of average sales "
                 f"when cover < {rule['reorder_days']:g} days; target fill rate "
                 f"{summary['target_fill_rate']:g}")
    if saving is not None:
        lines.append(f"  the policy holds {saving:.1%} less inventory value than the baseline")
    if summary["pools"]:
        lines.append(f"  stock pools: {', '.join(summary['pools'])}; the policy moved "
                     f"{policy['transfer_units']:,.0f} units between them "
                     f"(cost {policy['transfer_cost']:,.2f})")
    if summary["returns"] != "none":
        lines.append(f"  customer returns back on the shelf: policy "
                     f"{policy['units_restocked']:,.0f} of {policy['units_returned']:,.0f} "
                     f"units, baseline {baseline['units_restocked']:,.0f} of "
                     f"{baseline['units_returned']:,.0f}")
    return "\n".join(lines)
