"""The one planning pipeline and the other jobs (forecast, backtest, simulate) as plain
functions: load -> compute -> write -> record."""

from flows.pipeline.planning import (
    PlanningOutcome,
    PlanOptions,
    Stages,
    describe_outcome,
    run_planning,
)

__all__ = ["PlanOptions", "PlanningOutcome", "Stages", "describe_outcome", "run_planning"]
