"""Small planning datasets and hand-built forecasts (negative binomial demand paths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import StringIO

import numpy as np
import pandas as pd

from forecasting.scenarios import DemandScenarios
from replenishment.contract import Dataset, parse_dataset

__all__ = [
    "AS_OF",
    "PLAN_TABLES",
    "Forecast",
    "alert_items",
    "flat_scenarios",
    "make_dataset",
    "make_forecast",
    "scenarios_from",
]

# A Sunday: the first planned day (Monday 2025-03-03) starts a calendar week.
AS_OF = pd.Timestamp("2025-03-02")

PLAN_TABLES: dict[str, str] = {
    "sales": (
        "date,sku,channel,units,price\n"
        "2025-02-28,A1,tmall,20,30\n"
        "2025-02-28,A2,tmall,5,12\n"
        "2025-02-28,B1,jd,3,120\n"
        "2025-02-28,OLD,jd,1,20\n"
    ),
    "products": (
        "sku,supplier,unit_cost,case_pack,moq,name,category,price,volume_m3,shelf_life_days,"
        "status\n"
        "A1,S1,10,12,48,玫瑰精华液,skincare,30,0.001,,active\n"
        "A2,S1,5,6,0,=HYPERLINK(\"x\"),skincare,12,0.001,,active\n"
        "B1,S2,50,10,0,口红 #01,makeup,120,0.002,,active\n"
        "OLD,S2,8,5,0,old serum,makeup,20,0.001,,discontinued\n"
    ),
    "suppliers": (
        "supplier,lead_time_days,lead_time_std_days,review_days,min_order_value,"
        "capacity_units_per_week\n"
        "S1,14,0,7,0,\n"
        "S2,7,0,7,0,\n"
    ),
    "inventory": "sku,on_hand\nA1,100\nA2,20\nB1,5\nOLD,0\n",
    "open_orders": "sku,supplier,qty,eta\nA1,S1,120,2025-03-05\n",
}


def make_dataset(**tables: str) -> Dataset:
    """Parse :data:`PLAN_TABLES` with ``tables`` replacing (or adding) some of them."""
    texts = {**PLAN_TABLES, **tables}
    raw = {name: (pd.read_csv(StringIO(text), dtype=str, keep_default_na=False), f"{name}.csv")
           for name, text in texts.items()}
    return parse_dataset(raw, require=("sales", "products", "suppliers", "inventory"))


@dataclass(frozen=True)
class Forecast:
    """The parts of a forecast result that planning reads."""

    channel: pd.DataFrame
    sku: pd.DataFrame
    scenarios: DemandScenarios


def scenarios_from(paths: np.ndarray, skus: list[str], start: pd.Timestamp) -> DemandScenarios:
    dates = pd.date_range(start, periods=paths.shape[2], freq="D")
    return DemandScenarios(pd.Index(skus), dates, paths.astype(float))


def make_forecast(
    means: dict[str, float],
    horizon: int = 56,
    n_paths: int = 400,
    dispersion: float = 5.0,
    start: pd.Timestamp | None = None,
    channel: str = "tmall",
    seed: int = 0,
) -> Forecast:
    """Negative binomial daily demand per SKU (mean ``means[sku]``), all on one channel."""
    rng = np.random.default_rng(seed)
    start = AS_OF + pd.Timedelta(days=1) if start is None else start
    skus = list(means)
    mean = np.array([means[s] for s in skus])[:, None, None]
    prob = dispersion / (dispersion + mean)
    paths = rng.negative_binomial(dispersion, np.broadcast_to(prob, (len(skus), n_paths, horizon)))
    scenarios = scenarios_from(paths, skus, start)
    dates = scenarios.dates
    sku_frame = pd.DataFrame({
        "sku": np.repeat(skus, horizon),
        "date": np.tile(dates, len(skus)),
        "forecast": paths.mean(axis=1).reshape(-1),
    })
    for q in (50, 90, 95, 99):
        sku_frame[f"p{q}"] = np.quantile(paths, q / 100, axis=1).reshape(-1)
    sku_frame["model"] = "test"
    channel_frame = sku_frame.assign(channel=channel)
    return Forecast(channel_frame, sku_frame, scenarios)


def flat_scenarios(rates: dict[str, float], days: int = 60, noise: bool = False,
                   start: pd.Timestamp | None = None, paths: int = 50) -> DemandScenarios:
    """Demand paths at a constant daily ``rates`` per SKU from ``start`` (default: the day
    after :data:`AS_OF`); ``noise`` draws Poisson paths instead (seeded)."""
    mean = np.array(list(rates.values()))[:, None, None]
    shape = (len(rates), paths, days)
    drawn = (np.random.default_rng(4).poisson(np.broadcast_to(mean, shape)) if noise
             else np.broadcast_to(mean, shape))
    first = AS_OF + pd.Timedelta(days=1) if start is None else start
    return scenarios_from(np.asarray(drawn, dtype=float), list(rates), first)


def alert_items(**columns: Sequence[object]) -> pd.DataFrame:
    """Prepared items for the alert functions: ``K0, K1, ...`` of supplier ``S``, price 20,
    cost 5, 100 on hand, lead time 10 days; ``columns`` override (their length sets n)."""
    n = len(next(iter(columns.values())))
    base: dict[str, Sequence[object]] = {
        "sku": [f"K{i}" for i in range(n)], "supplier": ["S"] * n, "category": ["c"] * n,
        "price": [20.0] * n, "unit_cost": [5.0] * n, "on_hand": [100.0] * n,
        "backorders": [0.0] * n, "lead_time_days": [10.0] * n, "shelf_life_days": [np.nan] * n,
    }
    base.update(columns)
    return pd.DataFrame(base)
