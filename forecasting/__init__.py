"""Demand side of the engine: contract of sales and signal tables, features, models,
backtests, calibrated quantiles and demand scenarios. Frames in, frames out.

>>> from forecasting import Forecaster, ForecastConfig
>>> # Forecaster(ForecastConfig()).fit(demand, as_of).predict()  -> ForecastResult

The names below load on first use (PEP 562), so ``import forecasting.errors`` stays cheap:
the engine pulls in LightGBM and statsforecast, which take seconds to import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forecasting.config import ForecastConfig
    from forecasting.contract import DataContractError, DemandData
    from forecasting.engine import Forecaster, ForecastResult
    from forecasting.errors import UserError
    from forecasting.scenarios import DemandScenarios

__all__ = [
    "DataContractError",
    "DemandData",
    "DemandScenarios",
    "ForecastConfig",
    "ForecastResult",
    "Forecaster",
    "UserError",
]

_HOME = {
    "DataContractError": "forecasting.contract", "DemandData": "forecasting.contract",
    "DemandScenarios": "forecasting.scenarios", "ForecastConfig": "forecasting.config",
    "ForecastResult": "forecasting.engine", "Forecaster": "forecasting.engine",
    "UserError": "forecasting.errors",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'forecasting' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
