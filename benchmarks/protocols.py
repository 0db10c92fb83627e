"""The benchmark protocols of ``../shared/data/README.md`` and their scores.

A protocol cuts the history at ``cutoff`` and scores the next ``horizon`` periods against the
sales rows of the contract folder: for Rossmann those are exactly the open days (closed days
are closure events, not sales rows); for Walmart the store-department weeks of ``train.csv``;
for cheese every retailer's last 8 weeks (704 weeks: each retailer reports up to 1992-12-31).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.contract import DemandData

__all__ = ["CHEESE", "PROTOCOLS", "ROSSMANN", "WALMART", "Protocol", "actuals", "score"]


@dataclass(frozen=True)
class Protocol:
    """One benchmark: where to cut, how far to forecast, how to weight holiday periods."""

    name: str
    cutoff: pd.Timestamp
    horizon: int
    freq: str
    season: int
    holiday_weight: float

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.date_range(self.cutoff, periods=self.horizon + 1, freq=self.freq)[1:]


ROSSMANN = Protocol("rossmann", pd.Timestamp("2015-06-19"), 42, "D", 7, 1.0)
WALMART = Protocol("walmart", pd.Timestamp("2012-08-03"), 12, "W-FRI", 52, 5.0)
CHEESE = Protocol("cheese", pd.Timestamp("1992-11-05"), 8, "W-THU", 52, 1.0)
PROTOCOLS = {p.name: p for p in (ROSSMANN, WALMART, CHEESE)}


def actuals(data: DemandData, protocol: Protocol) -> pd.DataFrame:
    """Scored rows ``sku, channel, date, units, weight`` of the protocol's test window.

    ``weight`` is ``holiday_weight`` in periods overlapping a holiday event for every sku,
    else 1 (the Walmart competition's WMAE weighting).
    """
    sales = data.sales
    window = sales[sales["date"].isin(protocol.dates)]
    events = data.events
    shared = events[(events["kind"] == "holiday") & events["sku"].isna()
                    & events["channel"].isna()]
    period_start = window["date"] - pd.tseries.frequencies.to_offset(protocol.freq)
    holiday = np.zeros(len(window), dtype=bool)
    for start, end in zip(shared["start"], shared["end"], strict=True):
        holiday |= ((window["date"] >= start) & (period_start < end)).to_numpy()
    weight = np.where(holiday, protocol.holiday_weight, 1.0)
    out = window[["sku", "channel", "date", "units"]].assign(weight=weight)
    return out.reset_index(drop=True)


def score(forecast: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """WAPE, RMSPE (days with sales > 0), WMAE and quantile coverage of ``forecast``
    (``sku, channel, date, forecast`` and optionally ``p50``/``p90``) on ``truth``.

    A scored row without a forecast counts as a forecast of 0 and is reported as ``missing``.
    """
    joined = truth.merge(forecast, on=["sku", "channel", "date"], how="left")
    missing = int(joined["forecast"].isna().sum())
    f = joined["forecast"].fillna(0.0).to_numpy(dtype=float)
    y = joined["units"].to_numpy(dtype=float)
    w = joined["weight"].to_numpy(dtype=float)
    positive = y > 0
    result = {
        "wape": float(np.abs(f - y).sum() / y.sum()),
        "rmspe": float(np.sqrt(np.mean(((f[positive] - y[positive]) / y[positive]) ** 2))),
        "wmae": float((w * np.abs(f - y)).sum() / w.sum()),
        "bias": float((f - y).sum() / y.sum()),
        "rows": float(len(joined)),
        "missing": float(missing),
    }
    for column in ("p50", "p90"):
        if column in joined:
            result[f"{column}_coverage"] = float((y <= joined[column].to_numpy(dtype=float))
                                                 .mean())
    return result
