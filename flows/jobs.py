"""The engine's jobs as plain functions: load -> compute -> write -> record.

The CLI and the Prefect flow both call these. Each job validates its input first, records
itself in the run store (idempotent per as-of date, config and inputs), writes its files
atomically, and marks the run failed with the reason when anything goes wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.config import Settings
from flows.exports import write_frame
from flows.hashing import hash_frames
from flows.progress import Progress
from flows.sources import load_dataset
from flows.store import RunKind, RunRecord, RunStore
from forecasting.config import ForecastConfig
from forecasting.engine import Forecaster, ForecastResult
from replenishment.contract import Dataset

__all__ = [
    "ForecastJob",
    "dataset_hashes",
    "forecast_config",
    "recorded_run",
    "run_forecast",
    "sku_path",
]


def dataset_hashes(dataset: Dataset) -> dict[str, str]:
    """Content hashes of every non-empty table, recorded with the run."""
    frames = {
        f.name: getattr(part, f.name)
        for part in (dataset.demand, dataset.supply)
        for f in dataclasses.fields(part)
    }
    return hash_frames({name: frame for name, frame in frames.items() if not frame.empty})


def forecast_config(
    settings: Settings, horizon: int | None = None, freq: str | None = None
) -> ForecastConfig:
    """The config's forecast section with command-line overrides applied."""
    updates: dict[str, object] = {}
    if horizon is not None:
        updates["horizon"] = horizon
    if freq is not None:
        updates["freq"] = freq
    return ForecastConfig.model_validate({**settings.forecast.model_dump(), **updates})


@contextmanager
def recorded_run(
    settings: Settings, kind: RunKind, as_of: pd.Timestamp, config_hash: str,
    input_hashes: Mapping[str, str], progress: Progress,
) -> Iterator[tuple[RunStore, RunRecord]]:
    """Open the run store and record a run around the body; failures are recorded too."""
    with RunStore(settings.store_url) as store:
        run = store.begin_run(kind, as_of.date(), config_hash, dict(input_hashes))
        try:
            yield store, run
        except BaseException as err:
            store.finish_run(run.run_id, "failed", progress.timings,
                             error=f"{type(err).__name__}: {err}")
            raise
        store.finish_run(run.run_id, "succeeded", progress.timings)


@dataclass(frozen=True)
class ForecastJob:
    """What ``run_forecast`` produced and where it put it."""

    run_id: str
    result: ForecastResult
    dataset: Dataset
    channel_path: Path | None
    sku_path: Path | None


def sku_path(out: Path) -> Path:
    """The SKU-level (all channels) file written beside the channel-level forecast."""
    return out.with_name(f"{out.stem}_sku{out.suffix}")


def run_forecast(
    settings: Settings, *, folder: Path | None = None, horizon: int | None = None,
    freq: str | None = None, as_of: str | None = None, out: Path | None = None,
    quiet: bool = False,
) -> ForecastJob:
    """Forecast every (sku, channel) series; write ``out`` and its SKU-level twin."""
    progress = Progress(3, quiet=quiet)
    with progress.step("loading and validating data"):
        dataset, summary = load_dataset(settings, folder, require=("sales",))
    progress.say(summary)
    config = forecast_config(settings, horizon, freq)
    forecaster = Forecaster(config)
    origin_hint = pd.Timestamp(as_of) if as_of else dataset.demand.sales["date"].max()
    config_hash = settings.model_copy(update={"forecast": config}).fingerprint()
    with recorded_run(settings, "forecast", origin_hint, config_hash,
                      dataset_hashes(dataset), progress) as (store, run):
        with progress.step(f"forecasting {config.horizon} periods ahead"):
            forecaster.fit(dataset.demand, as_of, products=dataset.supply.products)
            result = forecaster.predict()
        with progress.step("writing outputs"):
            channel_file = sku_file = None
            if out is not None:
                channel_file = write_frame(result.channel, out)
                sku_file = write_frame(result.sku, sku_path(out))
            store.save_outputs(run.run_id, {
                "forecast_channel": result.channel, "forecast_sku": result.sku,
                "models": result.models, "scores": result.scores,
            })
    return ForecastJob(run.run_id, result, dataset, channel_file, sku_file)
