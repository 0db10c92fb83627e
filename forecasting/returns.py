"""Customer returns: net demand and the returns expected back per channel and day.

The engine forecasts gross sales (what customers order). Livestream and apparel buyers send a
large share back (often 20-50% of units on Douyin), days later, and part of it can be sold
again. From the ``returns`` table (:data:`forecasting.contract.RETURNS`) and the sales history
this module learns, and applies to a channel forecast:

- a **delay distribution** per channel (days from the sale to the return's arrival, 0 to
  :data:`MAX_DELAY_DAYS` = 45: the 7-day no-reason return window plus shipping both ways).
  When the table gives ``sale_date`` for at least half of the units, it is their histogram,
  shrunk towards all channels' with :data:`PRIOR_UNITS` = 200 units. Otherwise it is fitted:
  a discretised gamma (shape 2) whose mean, 1 to 30 days, best explains the channel's daily
  returns as a rate times its past sales spread by the delay (least squares);
- a **return rate** per channel and category: returns received over the last
  :data:`LEARN_DAYS` = 365 days divided by the sales whose returns were due to arrive in those
  days (each day's sales weighted by the share of the delay that falls in the span, so sales
  of the last days, whose returns are still out, count in part). Category rates are shrunk
  towards the channel's, and channels' towards all, with :data:`PRIOR_UNITS` = 200 units
  of exposure;
- a **restockable share** per channel and category: the units-weighted mean of
  ``restockable_share`` (an empty cell counts as 1: the returned units are sold again),
  shrunk the same way.

Output per forecast row (:data:`RETURN_COLUMNS`): ``net`` = gross forecast x (1 - rate), the
units kept; ``returns`` = the units expected back that day from past sales (still out at the
origin) and from the forecast sales before it; ``restocked`` = ``returns`` x the restockable
share. Without a returns table nothing is known about returns: net = gross, none come back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "LEARN_DAYS",
    "MAX_DELAY_DAYS",
    "PRIOR_UNITS",
    "RETURN_COLUMNS",
    "ReturnModel",
    "expected_returns",
    "fit_returns",
]

MAX_DELAY_DAYS = 45
PRIOR_UNITS = 200.0
LEARN_DAYS = 365
RETURN_COLUMNS = ["sku", "channel", "date", "gross", "net", "returns", "restocked"]
_GAMMA_SHAPE = 2.0
_MEAN_DELAYS = np.arange(1, 31)


class ReturnModel:
    """What :func:`fit_returns` learned: ``delay`` (channel -> pmf over 0..MAX_DELAY_DAYS
    days, key ``"*"`` for other channels), ``rate`` and ``restockable`` (indexed by
    ``channel, category``, with ``(channel, "*")`` and ``("*", "*")`` fallbacks); and what
    applying it needs: the ``origin``, the sales of the last :data:`MAX_DELAY_DAYS` days
    (their returns may still be out) and ``categories`` (sku -> category, or None)."""

    def __init__(self, delay: dict[str, np.ndarray], rate: pd.Series,
                 restockable: pd.Series, origin: pd.Timestamp, recent: pd.DataFrame,
                 categories: pd.Series | None) -> None:
        self.delay = delay
        self.rate = rate
        self.restockable = restockable
        self.origin = origin
        self.recent = recent
        self.categories = categories

    def pmf(self, channel: str) -> np.ndarray:
        return self.delay.get(channel, self.delay["*"])

    def lookup(self, table: pd.Series, channel: str, category: str) -> float:
        for key in ((channel, category), (channel, "*"), ("*", "*")):
            if key in table.index:
                return float(table[key])
        return 0.0


def _gamma_pmf(mean: float) -> np.ndarray:
    """Discretised gamma (shape 2) over 0..MAX_DELAY_DAYS days, normalised."""
    edges = np.arange(MAX_DELAY_DAYS + 2) - 0.5
    cdf = stats.gamma.cdf(np.clip(edges, 0, None), _GAMMA_SHAPE, scale=mean / _GAMMA_SHAPE)
    pmf = np.diff(cdf)
    return pmf / pmf.sum()


def _daily(frame: pd.DataFrame, column: str, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Units per channel (columns) and day (rows of ``dates``)."""
    wide = frame.pivot_table(index="date", columns="channel", values=column, aggfunc="sum")
    return wide.reindex(dates).fillna(0.0)


def _fitted_delay(sold: np.ndarray, returned: np.ndarray) -> np.ndarray:
    """The gamma delay whose mean best explains ``returned`` from ``sold`` (daily arrays)."""
    best, best_sse = _gamma_pmf(7.0), np.inf
    for mean in _MEAN_DELAYS:
        pmf = _gamma_pmf(float(mean))
        due = np.convolve(sold, pmf)[: len(sold)][MAX_DELAY_DAYS:]
        seen = returned[MAX_DELAY_DAYS:]
        scale = float(due @ seen) / max(float(due @ due), 1e-9)
        sse = float(((seen - scale * due) ** 2).sum())
        if sse < best_sse:
            best, best_sse = pmf, sse
    return best


def _histogram_delay(returns: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per channel the shrunk histogram of ``date - sale_date`` (see the module)."""
    known = returns.dropna(subset=["sale_date"])
    lag = (known["date"] - known["sale_date"]).dt.days.clip(0, MAX_DELAY_DAYS).to_numpy()
    counts = pd.DataFrame({"channel": known["channel"].to_numpy(), "lag": lag,
                           "units": known["units"].to_numpy(float)})
    table = counts.pivot_table(index="channel", columns="lag", values="units", aggfunc="sum")
    table = table.reindex(columns=range(MAX_DELAY_DAYS + 1)).fillna(0.0)
    pooled = table.sum(axis=0).to_numpy()
    pooled = pooled / max(pooled.sum(), 1e-9)
    out = {"*": pooled}
    for channel, row in table.iterrows():
        mixed = row.to_numpy() + PRIOR_UNITS * pooled
        out[str(channel)] = mixed / mixed.sum()
    return out


def _delays(returns: pd.DataFrame, sales: pd.DataFrame, dates: pd.DatetimeIndex
            ) -> dict[str, np.ndarray]:
    units = returns["units"].sum()
    dated = returns.loc[returns["sale_date"].notna(), "units"].sum()
    if units > 0 and dated >= 0.5 * units:
        return _histogram_delay(returns)
    sold = _daily(sales, "units", dates)
    back = _daily(returns, "units", dates)
    out = {"*": _fitted_delay(sold.sum(axis=1).to_numpy(), back.sum(axis=1).to_numpy())}
    for channel in back.columns:
        if channel in sold.columns:
            out[str(channel)] = _fitted_delay(sold[channel].to_numpy(), back[channel].to_numpy())
    return out


def _shrunk(table: pd.DataFrame, value: str, weight: str) -> pd.Series:
    """``value / weight`` per (channel, category), shrunk towards the channel's and that
    towards all channels' with :data:`PRIOR_UNITS` of weight (the module's rule)."""
    overall = table[value].sum() / max(table[weight].sum(), 1e-9)
    per_channel = table.groupby("channel")[[value, weight]].sum()
    channel_rate = (per_channel[value] + PRIOR_UNITS * overall) / (
        per_channel[weight] + PRIOR_UNITS)
    cells = table.groupby(["channel", "category"])[[value, weight]].sum()
    prior = channel_rate.reindex(cells.index.get_level_values("channel")).to_numpy()
    rates = (cells[value] + PRIOR_UNITS * prior) / (cells[weight] + PRIOR_UNITS)
    fallbacks = pd.Series(channel_rate.to_numpy(), index=pd.MultiIndex.from_arrays(
        [channel_rate.index, ["*"] * len(channel_rate)], names=["channel", "category"]))
    everything = pd.Series([overall], index=pd.MultiIndex.from_tuples(
        [("*", "*")], names=["channel", "category"]))
    return pd.concat([rates, fallbacks, everything])


def _exposure(sales: pd.DataFrame, delay: dict[str, np.ndarray], start: pd.Timestamp,
              origin: pd.Timestamp) -> pd.Series:
    """Per sales row, the share of its returns due to arrive from ``start`` to ``origin``."""
    cdfs = {c: np.concatenate([[0.0], np.cumsum(p)]) for c, p in delay.items()}
    to_origin = (origin - sales["date"]).dt.days.to_numpy()
    to_start = (start - sales["date"]).dt.days.to_numpy()
    share = np.zeros(len(sales))
    channels = sales["channel"].to_numpy()
    for channel in pd.unique(channels):
        cdf = cdfs.get(str(channel), cdfs["*"])
        rows = channels == channel
        upper = cdf[np.clip(to_origin[rows] + 1, 0, MAX_DELAY_DAYS + 1)]
        lower = cdf[np.clip(to_start[rows], 0, MAX_DELAY_DAYS + 1)]
        share[rows] = upper - lower
    return pd.Series(share, index=sales.index)


def fit_returns(returns: pd.DataFrame, sales: pd.DataFrame, categories: pd.Series | None,
                origin: pd.Timestamp) -> ReturnModel | None:
    """Learn the delay, rate and restockable share from returns and sales up to ``origin``
    (``categories``: sku -> category, optional). None without returns."""
    returns = returns[returns["date"] <= origin]
    if returns.empty:
        return None
    start = origin - pd.Timedelta(days=LEARN_DAYS - 1)
    sales = sales[(sales["date"] <= origin)
                  & (sales["date"] >= start - pd.Timedelta(days=MAX_DELAY_DAYS))]
    dates = pd.date_range(start - pd.Timedelta(days=MAX_DELAY_DAYS), origin, freq="D")
    delay = _delays(returns, sales, dates)
    recent = returns[returns["date"] >= start]
    category_of = (lambda s: s.map(categories).fillna("*")) if categories is not None else (
        lambda s: pd.Series("*", index=s.index))
    exposed = pd.DataFrame({
        "channel": sales["channel"], "category": category_of(sales["sku"]),
        "returned": 0.0, "exposure": sales["units"] * _exposure(sales, delay, start, origin),
    })
    came_back = pd.DataFrame({"channel": recent["channel"],
                              "category": category_of(recent["sku"]),
                              "returned": recent["units"], "exposure": 0.0})
    rate = _shrunk(pd.concat([exposed, came_back], ignore_index=True), "returned", "exposure")
    share = recent["restockable_share"].fillna(1.0)
    restock = pd.DataFrame({"channel": recent["channel"], "category": category_of(recent["sku"]),
                            "restocked": recent["units"] * share, "units": recent["units"]})
    restockable = _shrunk(restock, "restocked", "units") if len(restock) else pd.Series(
        [1.0], index=pd.MultiIndex.from_tuples([("*", "*")]))
    recent = sales[sales["date"] > origin - pd.Timedelta(days=MAX_DELAY_DAYS)]
    return ReturnModel(delay, rate.clip(0.0, 1.0), restockable.clip(0.0, 1.0), origin,
                       recent[["date", "sku", "channel", "units"]], categories)


def expected_returns(model: ReturnModel | None, forecast: pd.DataFrame) -> pd.DataFrame:
    """Net demand and returns per row of ``forecast`` (``sku, channel, date, forecast``,
    daily, after the model's origin): :data:`RETURN_COLUMNS`."""
    out = forecast[["sku", "channel", "date"]].assign(gross=forecast["forecast"].to_numpy())
    if model is None or forecast.empty:
        return out.assign(net=out["gross"], returns=0.0, restocked=0.0)[RETURN_COLUMNS]
    past: dict[tuple[str, str], pd.DataFrame] = {
        (str(sku), str(channel)): rows
        for (sku, channel), rows in model.recent.groupby(["sku", "channel"])}
    parts = [_series_returns(model, (str(key[0]), str(key[1])), rows, past)
             for key, rows in out.groupby(["sku", "channel"], sort=False)]
    return pd.concat(parts).loc[out.index][RETURN_COLUMNS]


def _series_returns(model: ReturnModel, key: tuple[str, str], rows: pd.DataFrame,
                    past: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    sku, channel = key
    categories, origin = model.categories, model.origin
    category = str(categories.get(sku, "*")) if categories is not None else "*"
    rate = model.lookup(model.rate, channel, category)
    share = model.lookup(model.restockable, channel, category)
    pmf = model.pmf(channel)
    rows = rows.sort_values("date")
    days = (rows["date"] - origin).dt.days.to_numpy()  # 1, 2, ... for daily rows
    sold = np.zeros(MAX_DELAY_DAYS + int(days.max()) + 1)
    own = past.get(key)
    if own is not None:
        np.add.at(sold, MAX_DELAY_DAYS + (own["date"] - origin).dt.days.to_numpy(),
                  own["units"].to_numpy(float))
    sold[MAX_DELAY_DAYS + days] += rows["gross"].to_numpy(float)
    due = np.convolve(sold, pmf)[MAX_DELAY_DAYS + days] * rate
    return rows.assign(net=rows["gross"] * (1.0 - rate), returns=due, restocked=due * share)
