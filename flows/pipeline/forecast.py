"""``replenish forecast``: load -> validate -> forecast -> write -> record.

A forecast on its own (any frequency, no planning): every (sku, channel) series and the SKU
level beside it. Recorded in the run store like a plan, under its as-of date, config and input
hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.config import Settings
from flows.i18n import language
from flows.pipeline import stages
from flows.pipeline.recording import recorded_run
from flows.progress import Progress
from flows.storage.exports import write_frame
from flows.storage.sources import load_dataset
from forecasting import ForecastResult
from forecasting.config import ForecastConfig
from replenishment.contract import Dataset

__all__ = ["ForecastJob", "forecast_config", "quality_path", "returns_path", "run_forecast",
           "sku_path"]


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


def quality_path(out: Path) -> Path:
    """Suspected stockouts and listing problems, written beside the forecast."""
    return out.with_name(f"{out.stem}_data_quality{out.suffix}")


def returns_path(out: Path) -> Path:
    """Net demand and the returns expected back per channel and day (written when the data
    has a returns table), beside the forecast."""
    return out.with_name(f"{out.stem}_returns{out.suffix}")


def run_forecast(
    settings: Settings, *, folder: Path | None = None, horizon: int | None = None,
    freq: str | None = None, as_of: str | None = None, out: Path | None = None,
    quiet: bool = False,
) -> ForecastJob:
    """Forecast every (sku, channel) series; write ``out`` and its SKU-level twin."""
    progress = Progress(3, quiet=quiet, lang=language(settings.locale))
    with progress.step("loading and validating data"):
        dataset, summary = load_dataset(settings, folder, require=("sales",))
    progress.say(summary)
    config = forecast_config(settings, horizon, freq)
    origin_hint = pd.Timestamp(as_of) if as_of else dataset.demand.sales["date"].max()
    config_hash = settings.model_copy(update={"forecast": config}).fingerprint()
    with recorded_run(settings, "forecast", origin_hint, config_hash,
                      stages.dataset_hashes(dataset), progress) as (store, run):
        label = ("forecasting {periods} periods ahead" if config.horizon
                 else "forecasting the default horizon")
        with progress.step(label, periods=config.horizon):
            as_of_ts = pd.Timestamp(as_of) if as_of else None
            result = stages.forecast(dataset.demand, dataset.supply.products, config, as_of_ts,
                                     settings.execution, dataset.supply.inventory)
        with progress.step("writing the forecast files"):
            channel_file = sku_file = None
            if out is not None:
                channel_file = write_frame(result.channel, out)
                sku_file = write_frame(result.sku, sku_path(out))
                write_frame(result.data_quality, quality_path(out))
                if not dataset.demand.returns.empty:
                    write_frame(result.returns, returns_path(out))
            store.save_outputs(run.run_id, {
                "forecast_channel": result.channel, "forecast_sku": result.sku,
                "models": result.models, "scores": result.scores,
            })
    return ForecastJob(run.run_id, result, dataset, channel_file, sku_file)
