"""Settings of the forecasting engine (the ``forecast:`` section of a config file)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ForecastConfig"]


class ForecastConfig(BaseModel):
    """How to forecast. Every field has a default suited to daily e-commerce sales."""

    horizon: int = Field(28, ge=1, description="Periods to forecast past the origin.")
    freq: str | None = Field(None, description="pandas alias (D, W-MON, ...); inferred if unset.")
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)
    seed: int = 0
