"""Settings of the planning engine (the ``planning:`` section of a config file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

__all__ = ["PlanningConfig"]


class PlanningConfig(BaseModel):
    """How to turn forecasts into orders and alerts."""

    service_levels: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90},
        description="Cycle-service target per ABC class (by revenue) when a product sets none.",
    )
    review_days: int = Field(
        default=7, ge=1, description="Default review period when a supplier sets none."
    )

    # Policy.
    service_target: Literal["cycle_service", "fill_rate"] = Field(
        default="cycle_service",
        description="Read service levels as the share of review cycles without a stockout "
        "(cycle_service) or as the share of demand served from stock (fill_rate).",
    )
    abc_revenue_shares: tuple[float, float] = Field(
        default=(0.8, 0.95),
        description="Cumulative revenue shares closing classes A and B (the rest is C).",
    )
    backorder_channels: tuple[str, ...] = Field(
        default=(),
        description="Channels whose customers wait when a SKU is out of stock (presales): "
        "their share of a SKU's forecast is backordered in the projection, the rest is lost.",
    )
    lead_time_strata: int = Field(
        default=8, ge=1, le=64,
        description="Equally likely lead-time values sampled per demand path when a supplier's "
        "lead time varies (lead_time_std_days > 0).",
    )
    seed: int = Field(default=0, description="Seed pairing demand paths with sampled lead times.")

    # Costs of the order optimiser.
    holding_cost_rate: float = Field(
        default=0.25, ge=0, description="Holding cost per year as a share of unit cost."
    )
    stockout_cost_rate: float | None = Field(
        default=None, ge=0,
        description="Cost of one unit short as a share of its price (unit cost when no price). "
        "Unset: implied by the service level, p = h * SL / (1 - SL), so that without "
        "constraints the optimiser orders up to the service-level target.",
    )
    ordering_cost: float = Field(default=0.0, ge=0, description="Fixed cost of one supplier order.")

    # Constraints shared by all suppliers.
    budget: float | None = Field(
        default=None, ge=0, description="Purchase budget of one planning run."
    )
    warehouse_volume_m3: float | None = Field(
        default=None, ge=0, description="Warehouse space (m3) the orders of one run may take."
    )
    capacity_weeks: float = Field(
        default=1.0, gt=0,
        description="Weeks of a supplier's capacity_units_per_week one order may use.",
    )

    # Solver.
    solver: Literal["highs", "cbc"] = Field(
        default="highs", description="MILP solver (HiGHS in-process; CBC if HiGHS is unavailable)."
    )
    time_limit_s: float = Field(
        default=60.0, gt=0, description="Solver time limit per planning run."
    )
    mip_gap: float = Field(
        default=0.001, ge=0, lt=1, description="Relative gap at which a solution counts as optimal."
    )
    threads: int | None = Field(
        default=None, ge=1, description="Solver threads (unset: solver default)."
    )
    shortage_breakpoints: int = Field(
        default=12, ge=2, le=64,
        description="Breakpoints of the piecewise-linear expected-shortage curve per SKU.",
    )

    # CPFR: order forecast and exceptions.
    order_forecast_weeks: int = Field(
        default=13, ge=1, le=104, description="Weekly buckets of the order forecast per supplier."
    )
    commitment_shortfall_share: float = Field(
        default=0.1, ge=0, le=1,
        description="Raise an exception when a supplier's commitment for a week falls short of "
        "the order forecast by more than this share of it.",
    )
    commitment_over_share: float = Field(
        default=0.1, ge=0,
        description="Raise an exception when a supplier commits more for a week than the order "
        "forecast asked by more than this share of it (a week the forecast asked nothing of: "
        "any commitment).",
    )
    forecast_move_share: float = Field(
        default=0.3, ge=0,
        description="Raise an exception when a SKU's weekly forecast moved by more than this "
        "share against the previous run's.",
    )
    forecast_error_threshold: float = Field(
        default=0.5, ge=0,
        description="Raise an exception when the weekly WAPE of the previous forecast against "
        "actual sales over the last forecast_error_weeks exceeds this.",
    )
    forecast_error_weeks: int = Field(
        default=4, ge=1, description="Past weeks over which the forecast error is measured."
    )
    exception_min_units: float = Field(
        default=10.0, ge=0,
        description="Forecast moves and errors on fewer units than this are noise, not exceptions.",
    )

    # Alerts.
    stockout_probability: float = Field(
        default=0.2, gt=0, le=1,
        description="Alert when the chance of running out before the next possible arrival "
        "reaches this.",
    )
    overstock_days: float = Field(
        default=120.0, gt=0,
        description="Alert when stock, open orders and this run's order still cover more days "
        "than this (the coming peaks sold through first, then the non-event rate).",
    )
    event_window_days: int = Field(
        default=14, ge=1,
        description="Check readiness for promotions, livestreams and calendar events (Double "
        "11, 618...) starting within this many days, or within the SKU's lead time when longer "
        "(an order placed now cannot arrive before them).",
    )
    severity_thresholds: tuple[float, float, float] = Field(
        default=(50_000.0, 10_000.0, 2_000.0),
        description="Value at risk from which an alert is critical, high, medium (else low); "
        "absolute, so an alert's severity never depends on the other alerts of the run.",
    )
    severity_cover_days: tuple[float, float, float] = Field(
        default=(7.0, 21.0, 45.0),
        description="Days of cover (from as_of to the day stock runs short) up to which a "
        "shortage alert may be critical, high, medium (else low); a shortage alert takes the "
        "less severe of its money and days-of-cover levels.",
    )
    clearance_days: int = Field(
        default=30, ge=1,
        description="Days a planner has to clear overstock (markdown, bundles, outlet channel): "
        "the by-when of a clear-overstock action.",
    )
    stale_sales_days: int = Field(
        default=2, ge=0,
        description="Raise a data-freshness alert when a channel's newest sales are more than "
        "this many days older than as_of (a daily export lands the next morning).",
    )
    freshness_lookback_days: int = Field(
        default=90, ge=1,
        description="Channels without sales in this many days are closed, not stale: no "
        "data-freshness alert for them.",
    )

    @field_validator("severity_thresholds")
    @classmethod
    def _decreasing(cls, value: tuple[float, float, float]) -> object:
        if not value[0] >= value[1] >= value[2] >= 0:
            raise ValueError(f"critical >= high >= medium >= 0 expected, got {value}")
        return value

    @field_validator("severity_cover_days")
    @classmethod
    def _increasing(cls, value: tuple[float, float, float]) -> object:
        if not 0 <= value[0] <= value[1] <= value[2]:
            raise ValueError(f"0 <= critical <= high <= medium expected, got {value}")
        return value
