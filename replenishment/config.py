"""Settings of the planning engine (the ``planning:`` section of a config file)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["PlanningConfig"]


class PlanningConfig(BaseModel):
    """How to turn forecasts into orders and alerts."""

    service_levels: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90},
        description="Cycle-service target per ABC class (by revenue) when a product sets none.",
    )
    review_days: int = Field(7, ge=1, description="Default review period when a supplier sets none.")
