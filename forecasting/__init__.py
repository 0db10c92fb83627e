"""Demand side of the engine: contract of sales and signal tables, features, models,
backtests, calibrated quantiles and demand scenarios. Frames in, frames out.

>>> from forecasting import Forecaster, ForecastConfig
>>> # Forecaster(ForecastConfig()).fit(demand, as_of).predict()  -> ForecastResult
"""

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
