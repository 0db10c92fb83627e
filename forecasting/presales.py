"""Presale deposits (预售定金) as a known-demand floor on the final-payment days.

For 618 and Double 11 customers pay a deposit weeks ahead and the final payment (尾款) on the
festival's first days, when the sale is recorded. The ``presales`` table
(:data:`forecasting.contract.PRESALES`) gives the deposits per SKU, channel and final-payment
window; deposits known at the forecast origin (rows whose ``deposit_start`` is on or before
it) are demand that will be recorded in that window, less the deposits never converted.

Decisions, with their numbers:

- **Conversion** (deposit units that become final payments) is learned from past presales,
  per channel: a window whose final-payment days sold ``S`` units against ``D`` deposit units
  converted at most ``min(S, D)`` of them (sales above the deposits are shoppers who paid no
  deposit; sales below show the deposits lost). The channel's rate is
  ``sum(min(S, D)) / sum(D)`` over its past windows, shrunk towards the rate of all channels
  with :data:`PRIOR_WINDOWS` = 3 windows of the mean deposit size, and that towards
  :data:`DEFAULT_CONVERSION` = 0.85 (a typical share of Tmall/JD deposits paid in full; the
  rest forfeit them) the same way. Windows with a stockout flagged in the final-payment days
  are left out: censored sales understate the conversion.
- **Floor.** The known demand of a window is ``conversion * deposits``, spread over the
  window's days in proportion to the model's own forecast of those days (final payments
  follow the same day profile as the festival's demand; equal shares when the model forecasts
  nothing). A window partly past the origin keeps the share of its days still ahead. The
  channel mean and every quantile of a day are at least its floor; on the SKU's sample paths
  each path's demand of the day is at least the sum of its channels' floors, so any window
  sum read off the paths (lead time + review) includes the deposits.
- Deposits of a window still open are counted as far as they are known: the floor only rises
  as more deposits come in (a re-plan after the deposits close sees them all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.scenarios import DemandScenarios

__all__ = [
    "DEFAULT_CONVERSION",
    "PRESALE_COLUMNS",
    "PRIOR_WINDOWS",
    "deposit_floor",
    "floor_paths",
    "learn_conversion",
    "presale_windows",
    "upcoming_presales",
]

DEFAULT_CONVERSION = 0.85
PRIOR_WINDOWS = 3.0
PRESALE_COLUMNS = ["sku", "channel", "final_start", "final_end", "deposits", "conversion"]
"""Columns of :func:`upcoming_presales`: the deposits of each final-payment window not yet
over at the origin and the conversion learned for its channel."""
_KEYS = ["sku", "channel", "final_start", "final_end"]


def presale_windows(presales: pd.DataFrame) -> pd.DataFrame:
    """Deposit units per (sku, channel, final_start, final_end): the rows of one window
    (daily deposit rows or a window's total) summed."""
    if presales.empty:
        return pd.DataFrame(columns=[*_KEYS, "deposits"])
    grouped = presales.groupby(_KEYS, as_index=False, sort=True).agg(
        deposits=("deposit_units", "sum"))
    return grouped


def _sold_in_windows(windows: pd.DataFrame, sales: pd.DataFrame) -> pd.DataFrame:
    """``windows`` with ``sold`` (units recorded in the final-payment days) and
    ``censored`` (a stockout flagged on one of them)."""
    if "stockout" not in sales:
        sales = sales.assign(stockout=0)
    joined = windows.reset_index(drop=True).reset_index(names="_window").merge(
        sales[["date", "sku", "channel", "units", "stockout"]], on=["sku", "channel"])
    inside = joined[(joined["date"] >= joined["final_start"])
                    & (joined["date"] <= joined["final_end"])]
    per = inside.groupby("_window").agg(sold=("units", "sum"), censored=("stockout", "max"))
    out = windows.reset_index(drop=True)
    sold = pd.to_numeric(per["sold"].reindex(out.index), errors="coerce")
    out["sold"] = sold.fillna(0.0).to_numpy(dtype=float)
    censored = pd.to_numeric(per["censored"].reindex(out.index), errors="coerce")
    out["censored"] = censored.fillna(0.0).to_numpy(dtype=float) > 0
    return out


def learn_conversion(presales: pd.DataFrame, sales: pd.DataFrame, origin: pd.Timestamp
                     ) -> pd.Series:
    """Conversion per channel from the windows over by ``origin`` (see the module's
    decisions); the entry ``"*"`` is the rate for channels without past windows."""
    windows = presale_windows(presales)
    past = windows[(windows["final_end"] <= origin) & (windows["deposits"] > 0)]
    if past.empty:
        return pd.Series({"*": DEFAULT_CONVERSION})
    scored = _sold_in_windows(past, sales)
    scored = scored[~scored["censored"]]
    if scored.empty:
        return pd.Series({"*": DEFAULT_CONVERSION})
    scored = scored.assign(converted=np.minimum(scored["sold"], scored["deposits"]))
    prior = PRIOR_WINDOWS * float(scored["deposits"].mean())
    overall = ((scored["converted"].sum() + prior * DEFAULT_CONVERSION)
               / (scored["deposits"].sum() + prior))
    per = scored.groupby("channel")[["converted", "deposits"]].sum()
    rates = (per["converted"] + prior * overall) / (per["deposits"] + prior)
    return pd.concat([rates, pd.Series({"*": overall})])


def upcoming_presales(presales: pd.DataFrame, sales: pd.DataFrame, origin: pd.Timestamp
                      ) -> pd.DataFrame:
    """The windows whose final payments are not over at ``origin``, with their known
    deposits and conversion (:data:`PRESALE_COLUMNS`). ``presales`` and ``sales`` are the
    tables as known at the origin."""
    windows = presale_windows(presales)
    ahead = windows[(windows["final_end"] > origin) & (windows["deposits"] > 0)]
    if ahead.empty:
        return pd.DataFrame(columns=PRESALE_COLUMNS)
    rates = learn_conversion(presales, sales, origin)
    conversion = ahead["channel"].map(rates.drop("*")).fillna(rates["*"])
    return ahead.assign(conversion=conversion.to_numpy(dtype=float))[PRESALE_COLUMNS]


def _keys(final: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """``sku, channel, ds`` of forecast rows ``final`` (``unique_id, ds``); ``series`` is
    indexed by ``unique_id`` with ``sku`` and ``channel``."""
    ids = final["unique_id"]
    return pd.DataFrame({"sku": ids.map(series["sku"]).to_numpy(),
                         "channel": ids.map(series["channel"]).to_numpy(),
                         "ds": final["ds"].to_numpy()})


def deposit_floor(upcoming: pd.DataFrame, final: pd.DataFrame, series: pd.DataFrame,
                  mu: np.ndarray) -> np.ndarray:
    """Known demand per forecast row of ``final`` (``unique_id, ds``, aligned with the
    model's means ``mu``; ``series`` indexed by ``unique_id`` with ``sku, channel``); 0
    outside every final-payment window."""
    floor = np.zeros(len(final))
    if upcoming.empty or final.empty:
        return floor
    keyed = _keys(final, series)
    for window in upcoming.to_dict("records"):
        start, end = pd.Timestamp(window["final_start"]), pd.Timestamp(window["final_end"])
        inside = ((keyed["sku"] == window["sku"]) & (keyed["channel"] == window["channel"])
                  & (keyed["ds"] >= start) & (keyed["ds"] <= end))
        positions = np.flatnonzero(inside.to_numpy())
        if len(positions) == 0:
            continue
        window_days = (end - start).days + 1
        known = (float(window["conversion"]) * float(window["deposits"])
                 * min(len(positions) / window_days, 1.0))
        profile = np.asarray(mu, dtype=float)[positions]
        share = (profile / profile.sum() if profile.sum() > 0
                 else np.full(len(positions), 1.0 / len(positions)))
        floor[positions] += known * share
    return floor


def floor_paths(scenarios: DemandScenarios, final: pd.DataFrame, series: pd.DataFrame,
                floor: np.ndarray) -> DemandScenarios:
    """``scenarios`` with each SKU's demand on each day at least the sum of its channels'
    ``floor`` (aligned with the rows of ``final``, as for :func:`deposit_floor`) on every
    path."""
    if not (floor > 0).any():
        return scenarios
    keyed = _keys(final, series)
    lifted = keyed.loc[floor > 0, ["sku", "ds"]].assign(floor=floor[floor > 0])
    per_day = lifted.groupby(["sku", "ds"])["floor"].sum()
    paths = scenarios.paths.copy()
    sku_pos = scenarios.skus.get_indexer(per_day.index.get_level_values("sku"))
    day_pos = scenarios.dates.get_indexer(per_day.index.get_level_values("ds"))
    keep = (sku_pos >= 0) & (day_pos >= 0)
    for i, t, value in zip(sku_pos[keep], day_pos[keep], per_day.to_numpy()[keep],
                           strict=True):
        paths[i, :, t] = np.maximum(paths[i, :, t], value)
    return DemandScenarios(scenarios.skus, scenarios.dates, paths)
