"""Supply side of the engine: contract of supply tables, inventory policy, optimiser, CPFR,
alerts and simulation. Frames in, frames out.

>>> from replenishment import plan, PlanningConfig
>>> # plan(dataset, forecast, PlanningConfig(), as_of)  -> PlanResult

The names below load on first use (PEP 562), keeping light imports light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from replenishment.config import PlanningConfig
    from replenishment.contract import Dataset, parse_dataset
    from replenishment.plan import PlanResult, plan
    from replenishment.timeline import planning_horizon

__all__ = ["Dataset", "PlanResult", "PlanningConfig", "parse_dataset", "plan",
           "planning_horizon"]

_HOME = {
    "Dataset": "replenishment.contract", "parse_dataset": "replenishment.contract",
    "PlanResult": "replenishment.plan", "plan": "replenishment.plan",
    "PlanningConfig": "replenishment.config", "planning_horizon": "replenishment.timeline",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'replenishment' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
