"""Supply side of the engine: contract of supply tables, inventory policy, optimiser, CPFR,
alerts and simulation. Frames in, frames out.

>>> from replenishment import plan, PlanningConfig
>>> # plan(dataset, forecast, PlanningConfig(), as_of)  -> PlanResult
"""

from replenishment.config import PlanningConfig
from replenishment.contract import Dataset, parse_dataset
from replenishment.plan import PlanResult, plan

__all__ = ["Dataset", "PlanResult", "PlanningConfig", "parse_dataset", "plan"]
