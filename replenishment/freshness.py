"""Stale sales data: a channel whose newest sales are older than expected on the as-of date.

A daily export lands the next morning, so on the as-of date the newest sales are from that
day or the day before; ``stale_sales_days`` (2 by default) allows one missed export. When a
channel's newest sales are older, the forecast reads the missing days as no demand and the
orders are sized on it: the planner should refresh that export and run again before
approving anything. Channels without sales in ``freshness_lookback_days`` (90) are closed,
not stale, and raise nothing.

No money is at stake in the alert itself (value at risk 0, no exposure), so its severity is
set here from the days missing: high, critical from 7 days (a week of missing sales hides a
festival's ramp-up, e.g. Double 11 presales).
"""

from __future__ import annotations

import pandas as pd

from replenishment.alert_actions import Action, with_actions
from replenishment.alerts import ALERT_COLUMNS, alert_rows
from replenishment.config import PlanningConfig
from replenishment.messages import Message, with_messages

__all__ = ["CRITICAL_STALE_DAYS", "freshness_alerts", "newest_sales"]

CRITICAL_STALE_DAYS = 7


def newest_sales(sales: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """The newest sales day per channel, on or before ``as_of``."""
    if sales.empty:
        return pd.Series(dtype="datetime64[ns]")
    dates = pd.to_datetime(sales["date"]).dt.normalize()
    channel = (sales["channel"].fillna("").astype(str) if "channel" in sales
               else pd.Series("", index=sales.index))
    known = dates <= as_of
    return dates[known].groupby(channel[known]).max()


def freshness_alerts(sales: pd.DataFrame, as_of: pd.Timestamp,
                     config: PlanningConfig) -> pd.DataFrame:
    """One ``data_freshness`` alert per channel whose newest sales are more than
    ``stale_sales_days`` older than ``as_of`` (and not older than the look-back)."""
    as_of = pd.Timestamp(as_of).normalize()
    newest = newest_sales(sales, as_of)
    age = (as_of - newest).dt.days
    stale = newest[(age > config.stale_sales_days) & (age <= config.freshness_lookback_days)]
    if stale.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    days = age[stale.index].astype(float)
    out = with_messages(pd.DataFrame({
        "sku": "", "channel": stale.index.astype(str), "supplier": "", "category": "",
        "date": stale.to_numpy(), "value_at_risk": 0.0,
        "period_start": (stale + pd.Timedelta(days=1)).to_numpy(), "period_end": as_of,
    }), [Message("data_freshness", {"channel": ch, "newest": d, "days": n, "as_of": as_of,
                                    "expected": config.stale_sales_days})
         for ch, d, n in zip(stale.index, stale, days, strict=True)])
    first_day = as_of + pd.Timedelta(days=1)
    out = with_actions(out, [
        Action(Message("action.refresh_sales", {"channel": ch, "newest": d}), first_day,
               Message("effect.fresh_plan", {"days": n}))
        for ch, d, n in zip(stale.index, stale, days, strict=True)
    ])
    alerts = alert_rows("data_freshness", out)
    alerts["severity"] = ["critical" if n >= CRITICAL_STALE_DAYS else "high" for n in days]
    return alerts
