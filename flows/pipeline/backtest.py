"""``replenish backtest``: rolling-origin evaluation written as CSV tables and a PNG plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from flows.config import Settings
from flows.i18n import language
from flows.outbound.report.backtest_plot import plot_backtest
from flows.pipeline.forecast import forecast_config
from flows.pipeline.recording import recorded_run
from flows.pipeline.stages import dataset_hashes
from flows.progress import Progress
from flows.storage.exports import atomic_write, staged_output, write_csv
from flows.storage.sources import load_dataset
from forecasting.backtest import BacktestResult, backtest

__all__ = ["BacktestJob", "describe_backtest", "run_backtest"]

_PLOT_SKUS = 6


@dataclass(frozen=True)
class BacktestJob:
    run_id: str
    result: BacktestResult
    out: Path


def _write(result: BacktestResult, folder: Path) -> None:
    write_csv(result.overall, folder / "overall.csv")
    write_csv(result.per_series, folder / "per_series.csv")
    write_csv(result.by_class, folder / "by_class.csv")
    write_csv(result.actuals, folder / "actuals.csv")
    figure = plot_backtest(result, top_n=_PLOT_SKUS)
    with atomic_write(folder / "largest_skus.png", mode="wb") as handle:
        figure.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def run_backtest(
    settings: Settings, *, out: Path, folder: Path | None = None, horizon: int | None = None,
    windows: int = 3, freq: str | None = None, as_of: str | None = None, quiet: bool = False,
) -> BacktestJob:
    """Refit the engine at ``windows`` rolling origins and score every model and the choice."""
    progress = Progress(3, quiet=quiet, lang=language(settings.locale))
    with progress.step("loading and validating data"):
        dataset, summary = load_dataset(settings, folder, require=("sales",))
    progress.say(summary)
    config = forecast_config(settings, horizon, freq)
    origin = pd.Timestamp(as_of) if as_of else pd.Timestamp(dataset.demand.sales["date"].max())
    config_hash = settings.model_copy(update={"forecast": config}).fingerprint()
    with recorded_run(settings, "backtest", origin, config_hash, dataset_hashes(dataset),
                      progress) as (store, run):
        with progress.step("backtesting {windows} windows of {horizon} periods",
                           windows=windows, horizon=config.horizon):
            result = backtest(dataset.demand, config, windows=windows, as_of=as_of,
                              products=dataset.supply.products)
        with progress.step("writing scores and plot"):
            with staged_output(out) as staging:
                _write(result, staging)
            store.save_outputs(run.run_id, {
                "backtest_overall": result.overall, "backtest_per_series": result.per_series,
                "backtest_by_class": result.by_class,
            })
    return BacktestJob(run.run_id, result, out)


def describe_backtest(job: BacktestJob) -> str:
    overall = job.result.overall
    columns = [c for c in ("model", "wape", "mase", "bias") if c in overall.columns]
    coverage = [c for c in overall.columns if c.startswith("coverage")]
    table = overall[columns + coverage].to_string(index=False, float_format=lambda v: f"{v:.3f}")
    return "\n".join([
        f"Backtest (run {job.run_id}) -> {job.out}",
        "  overall.csv, per_series.csv, by_class.csv, actuals.csv, largest_skus.png",
        table,
    ])
