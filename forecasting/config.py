"""Settings of the forecasting engine (the ``forecast:`` section of a config file)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["STATS_MODEL_NAMES", "ForecastConfig"]

STATS_MODEL_NAMES = (
    "seasonal_naive", "seasonal_es", "croston_sba", "tsb", "adida", "imapa", "auto_ets",
)


class ForecastConfig(BaseModel):
    """How to forecast. Every field has a default suited to daily e-commerce sales.

    Where the work runs (threads, an executor, a cluster) is not a forecasting setting: the
    caller passes it to :class:`forecasting.engine.Forecaster` (``executor``, ``n_jobs``), so
    the same config gives the same forecast on a laptop or a cluster. Unknown keys are
    refused rather than ignored: ``engine`` or ``n_jobs`` left in an old config file would
    otherwise be dropped without a word.
    """

    model_config = ConfigDict(extra="forbid")

    horizon: int | None = Field(
        None, ge=1, description="Periods to forecast past the origin; None: as long as "
        "planning needs (the planning layer passes its horizon; 13 weeks otherwise).")
    freq: str | None = Field(None, description="pandas alias (D, W-MON, ...); inferred if unset.")
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)
    seed: int = 0
    season_length: int | None = Field(
        None, ge=1, description="Periods per season; 7 for daily data, 52 for weekly if unset.")
    backtest_windows: int = Field(
        2, ge=1, description="Rolling-origin windows used to choose models and calibrate.")
    min_history: int | None = Field(
        None, ge=1, description="Usable periods below which a series counts as new "
        "(forecast by the global model from category and channel); 2 seasons if unset.")
    stats_models: tuple[str, ...] = Field(
        STATS_MODEL_NAMES, description=f"Per-series candidates among {STATS_MODEL_NAMES}.")
    stats_history: int | None = Field(
        364, ge=1, description="Most recent periods the per-series models are fitted on.")
    ets_max_series: int = Field(
        100, ge=0, description="AutoETS is fitted on at most this many of the largest smooth or "
        "erratic series (it costs ~100x the other per-series models).")
    ets_model: str = Field("ANA", description="AutoETS model string (E, T, S components).")
    global_model: bool = Field(True, description="Fit the global LightGBM model.")
    global_strategy: Literal["recursive", "direct"] = Field(
        "direct", description="recursive: lags 1..k, predictions fed back; direct: every "
        "feature known a horizon ahead (level, year-ago, calendar, time index, signals).")
    global_setups: tuple[str, ...] | None = Field(
        None, description="Set-ups of the direct global model tried on the inner windows "
        "(tweedie, log1p, l1; see forecasting.setup); None: all of them.")
    global_target: Literal["scaled", "log1p", "raw"] | None = Field(
        None, description="Fix the direct model's target instead of choosing a set-up: "
        "y / series level (rows weighted by the level), log1p(y) with squared error, or y.")
    holiday_weight: float = Field(
        1.0, gt=0, description="Training weight of holiday periods in the direct model "
        "(e.g. 5 when the score weights holiday weeks 5x, as Walmart's WMAE does).")
    train_history: int | None = Field(
        None, ge=1, description="Most recent periods the global model trains on (None: "
        "chosen with the set-up: about 1.5 years, or all history).")
    lightgbm_params: dict[str, Any] = Field(default_factory=dict,
                                            description="Overrides of the LightGBM parameters.")
    combine_top: int = Field(2, ge=1, le=2, description="Models blended per series: 1 keeps the "
                             "best on the backtest windows, 2 may blend in the runner-up.")
    n_paths: int = Field(500, ge=10, description="Sample paths per SKU in the demand scenarios.")
    censor_stockouts: bool = Field(
        True, description="Treat stockout and closure periods as censored demand.")
    zero_on_closure: bool = Field(True, description="Forecast zero on future closure days.")
    max_event_names: int = Field(12, ge=0, description="Events with their own timing features.")
