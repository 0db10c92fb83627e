"""True daily demand of the sample brand per (sku, channel, day).

The expected demand is a product of interpretable factors (level, channel mix, weekly and
yearly rhythm, trend, life cycle, price, festivals, promotions, livestreams); the drawn demand
adds gamma-Poisson noise whose dispersion makes slow movers intermittent and lumpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flows.sample.calendar import DOUYIN, weekly_profile, yearly_profile
from flows.sample.catalog import CATEGORIES, Catalog
from flows.sample.signals import Signals

__all__ = ["draw_demand", "expected_demand", "planned_rate"]

PRICE_ELASTICITY = 1.2
_LAUNCH_RAMP_DAYS = 14.0


def planned_rate(catalog: Catalog, n_days: int, history_days: int) -> NDArray[np.float64]:
    """Daily demand (sku, day) without rhythm or signals: the level a planner budgets for."""
    days = np.arange(n_days)[None, :]
    trend = np.exp(catalog.trend[:, None] * (days - (history_days - 1)) / 365)
    since_launch = (days - catalog.launch[:, None]).astype(float)
    ramp = 1 - np.exp(-np.clip(since_launch, 0, None) / _LAUNCH_RAMP_DAYS)
    alive = catalog.alive(n_days)
    return np.where(alive, catalog.base[:, None] * trend * ramp, 0.0)


def _festival_effect(catalog: Catalog, festival: NDArray[np.float64]) -> NDArray[np.float64]:
    """Festival lifts scaled by category sensitivity (gift sets react most); dips and the
    logistics pause apply to every category alike."""
    sensitivity = np.array([c.festival_sensitivity for c in CATEGORIES])[catalog.category]
    lift = 1 + (festival[None, :, :] - 1) * sensitivity[:, None, None]
    return np.where(festival[None, :, :] > 1, lift, festival[None, :, :])


def _signal_effect(catalog: Catalog, signals: Signals) -> NDArray[np.float64]:
    elasticity = catalog.elasticity[:, None, None]
    promoted = (1 - signals.discount) ** -elasticity
    effect = np.where(signals.discount > 0, promoted, 1 - signals.dip)
    # On a livestream day the stream drives Douyin sales, whatever promotion runs.
    effect[:, DOUYIN] = np.where(signals.live > 0, signals.live, effect[:, DOUYIN])
    return effect


def expected_demand(catalog: Catalog, signals: Signals, festival: NDArray[np.float64],
                    dates: pd.DatetimeIndex, history_days: int) -> NDArray[np.float64]:
    """Mean demand (sku, channel, day)."""
    amplitude = np.array([c.yearly_amplitude for c in CATEGORIES])[catalog.category]
    peak_day = np.array([c.yearly_peak_day for c in CATEGORIES], dtype=float)[catalog.category]
    level = planned_rate(catalog, len(dates), history_days)
    level = level * yearly_profile(dates, amplitude, peak_day)
    level = level * (signals.regular_price / catalog.list_price[:, None]) ** -PRICE_ELASTICITY
    mean = level[:, None, :] * catalog.share[:, :, None] * weekly_profile(dates)[None, :, :]
    return mean * _festival_effect(catalog, festival) * _signal_effect(catalog, signals)


def draw_demand(rng: np.random.Generator, mean: NDArray[np.float64],
                dispersion: NDArray[np.float64]) -> NDArray[np.int64]:
    """Gamma-Poisson counts around ``mean``; ``dispersion`` (per sku) is the gamma shape."""
    shape = np.broadcast_to(dispersion[:, None, None], mean.shape)
    noise = rng.gamma(shape, 1 / shape)
    return rng.poisson(mean * noise).astype(np.int64)
