"""Small synthetic demand datasets with known structure, for the forecasting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.contract import LIVESTREAMS, PROMOTIONS, DemandData, empty_table

__all__ = ["synthetic_demand"]


def synthetic_demand(
    n_skus: int = 12,
    channels: tuple[str, ...] = ("tmall", "jd"),
    days: int = 300,
    start: str = "2024-01-01",
    level: tuple[float, float] = (5.0, 30.0),
    intermittent_share: float = 0.0,
    promo_lift: float = 0.0,
    promo_every: int = 0,
    stockout_rate: float = 0.0,
    future_promo_days: int = 0,
    seed: int = 0,
) -> tuple[DemandData, pd.DataFrame, pd.DataFrame]:
    """(data, products, true demand) with weekly seasonality and negative binomial noise.

    Intermittent SKUs sell on ~15% of days. With ``promo_every`` > 0 every SKU gets a 3-day
    promotion every ``promo_every`` days that multiplies demand by ``1 + promo_lift``;
    ``future_promo_days`` adds promotions within that many days after the history.
    A ``stockout_rate`` share of days (in runs of 5) sells only 20% of demand and is flagged.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    weekly = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(7) / 7)
    skus = [f"S{i:03d}" for i in range(n_skus)]
    categories = [f"C{i % 3}" for i in range(n_skus)]
    promos = []
    if promo_every:
        span = days + future_promo_days
        for i, sku in enumerate(skus):
            for first in range(5 + (i * 3) % promo_every, span - 3, promo_every):
                promos.append({"start": dates[0] + pd.Timedelta(days=first),
                               "end": dates[0] + pd.Timedelta(days=first + 2),
                               "kind": "discount", "sku": sku, "discount": 0.3})
    promotions = pd.DataFrame(promos) if promos else empty_table(PROMOTIONS)
    rows = []
    for i, sku in enumerate(skus):
        intermittent = i < round(intermittent_share * n_skus)
        base = rng.uniform(*level) if not intermittent else rng.uniform(0.5, 2.0)
        for channel in channels:
            mean = base * weekly[dates.dayofweek] * rng.uniform(0.6, 1.4)
            if promo_every:
                on = np.zeros(days, bool)
                for p in promos:
                    if p["sku"] == sku:
                        on |= (dates >= p["start"]) & (dates <= p["end"])
                mean = mean * np.where(on, 1.0 + promo_lift, 1.0)
            if intermittent:
                mean = mean * (rng.random(days) < 0.15)
            demand = rng.negative_binomial(5, 5 / (5 + mean)).astype(float)
            stockout = np.zeros(days, bool)
            if stockout_rate:
                for s in np.flatnonzero(rng.random(days) < stockout_rate / 5):
                    stockout[s:s + 5] = True
            units = np.where(stockout, np.floor(demand * 0.2), demand)
            rows.append(pd.DataFrame({"date": dates, "sku": sku, "channel": channel,
                                      "units": units, "demand": demand,
                                      "stockout": stockout.astype("int8")}))
    full = pd.concat(rows, ignore_index=True)
    sales = full[(full["units"] > 0) | (full["stockout"] == 1)].copy()
    sales["price"] = np.nan
    data = DemandData(sales[["date", "sku", "channel", "units", "price", "stockout"]]
                      .reset_index(drop=True), promotions=promotions,
                      livestreams=empty_table(LIVESTREAMS))
    products = pd.DataFrame({"sku": skus, "category": categories})
    return data, products, full[["date", "sku", "channel", "demand"]]
