"""Customer returns in the replay: units sold come back days later, part of them to the shelf.

The replay (:mod:`replenishment.replay`) serves demand from stock; with a :class:`ReturnFlow`
each unit served on channel ``c`` of SKU ``i`` comes back with probability ``rate[i, c]``,
after a delay drawn from the channel's distribution ``pmf[c]`` (0 to
:data:`~forecasting.returns.MAX_DELAY_DAYS` = 45 days), and a share ``restockable[i, c]`` of
what comes back is sold again: it lands in the stock of the pool serving ``c``. Decisions:

* **Expected values, not draws.** A day's served units send back ``served x rate x pmf[d]``
  on each later day ``d``, fractional units included, as the replay's served units already
  are fractional when channels share short stock. Both policies face the same rule, so a
  policy that sells more gets more back; no random stream is spent.
* **Learned once, before the replay**, with the engine's own estimator
  (:func:`forecasting.returns.fit_returns` at the eve of the first day): rates and restockable
  shares per channel and category (shrunk towards the channel's and all channels'), delays per
  channel (the histogram of ``date - sale_date``). From the sample brand's truth when it has
  it (every returned unit with its sale date and whether it was restocked:
  :func:`truth_returns_table` turns it into a ``returns`` table), else from the data's
  ``returns`` table. A SKU's rate is therefore its category's on that channel: the sample
  brand draws a rate per SKU (Douyin 20-50%), so single SKUs get back more or less than
  their own truth would send, the brand in total about as much.
* **Sales before the first day** (the recorded history of the last 45 days) return during the
  replay by the same rule (:attr:`ReturnFlow.prior`), for both policies alike.
* A return arriving the day of its sale (delay 0) is put on the shelf the next morning: every
  return arrives at the start of a day, like a purchase order.

Without a returns table (and no truth) there is no flow: the replay is exactly what it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.returns import MAX_DELAY_DAYS, fit_returns

__all__ = ["ReturnFlow", "return_flow", "schedule_returns", "truth_returns_table"]


@dataclass(frozen=True)
class ReturnFlow:
    """Per (SKU, channel) ``rate`` (share of served units returned) and ``restockable``
    (share of returned units sold again); per channel ``pmf`` over delays 0..45 days;
    ``prior[i, c, t]`` units returned on replay day ``t`` from sales before the first day."""

    rate: np.ndarray
    restockable: np.ndarray
    pmf: np.ndarray
    prior: np.ndarray

    def __post_init__(self) -> None:
        if self.rate.shape != self.restockable.shape or self.prior.shape[:2] != self.rate.shape:
            raise ValueError("rate, restockable and prior must share their (sku, channel) shape")
        if self.pmf.shape != (self.rate.shape[1], MAX_DELAY_DAYS + 1):
            raise ValueError(f"pmf must hold one row of {MAX_DELAY_DAYS + 1} delays per channel")
        if ((self.rate < 0) | (self.rate > 1) | (self.restockable < 0)
                | (self.restockable > 1)).any():
            raise ValueError("return rates and restockable shares must be shares in [0, 1]")


def schedule_returns(flow: ReturnFlow, back: np.ndarray, served: np.ndarray, day: int) -> None:
    """Add to ``back[i, c, t]`` (returned units arriving on day ``t``; the last column: after
    the replay) what ``served[i, c]``, sold on ``day``, sends back (delay 0 counts as 1)."""
    n_days = back.shape[2] - 1
    returned = served * flow.rate  # (sku, channel)
    pmf = flow.pmf.copy()
    pmf[:, 1] += pmf[:, 0]
    pmf[:, 0] = 0.0
    first = max(day + 1, 0)
    if first > n_days:
        back[:, :, n_days] += returned
        return
    last = min(day + MAX_DELAY_DAYS, n_days - 1)
    if last >= first:
        delays = slice(first - day, last - day + 1)
        back[:, :, first:last + 1] += returned[:, :, None] * pmf[None, :, delays]
    back[:, :, n_days] += returned * pmf[:, last - day + 1:].sum(axis=1)[None, :]


def _categories(products: pd.DataFrame) -> pd.Series | None:
    if "category" not in products:
        return None
    return products.drop_duplicates("sku").set_index("sku")["category"].astype(str)


def _recorded_sales(sales: pd.DataFrame, skus: pd.Index, channels: pd.Index,
                    start: pd.Timestamp) -> np.ndarray:
    """Units sold per (SKU, channel) on each of the 45 days before ``start`` (oldest first)."""
    window = pd.date_range(start - pd.Timedelta(days=MAX_DELAY_DAYS), periods=MAX_DELAY_DAYS)
    recent = sales[sales["date"].isin(window) & sales["sku"].isin(skus)
                   & sales["channel"].isin(channels)]
    out = np.zeros((len(skus), len(channels), MAX_DELAY_DAYS))
    cells = (skus.get_indexer(pd.Index(recent["sku"])),
             channels.get_indexer(pd.Index(recent["channel"])),
             window.get_indexer(pd.DatetimeIndex(recent["date"])))
    np.add.at(out, cells, recent["units"].to_numpy(dtype=float))
    return out


def return_flow(returns: pd.DataFrame | None, sales: pd.DataFrame, products: pd.DataFrame,
                skus: pd.Index, channels: pd.Index, start: pd.Timestamp,
                n_days: int) -> ReturnFlow | None:
    """The flow of the module's decisions, learned from ``returns`` (a ``returns`` table)
    and ``sales`` up to the eve of ``start``; None without returns before ``start``."""
    start = pd.Timestamp(start).normalize()
    if returns is None or returns.empty:
        return None
    categories = _categories(products)
    model = fit_returns(returns, sales, categories, start - pd.Timedelta(days=1))
    if model is None:
        return None
    category = [str(categories.get(s, "*")) if categories is not None else "*" for s in skus]
    rate = np.array([[model.lookup(model.rate, str(c), k) for c in channels] for k in category])
    share = np.array([[model.lookup(model.restockable, str(c), k) for c in channels]
                      for k in category])
    pmf = np.stack([model.pmf(str(c)) for c in channels]) if len(channels) else np.zeros(
        (0, MAX_DELAY_DAYS + 1))
    shape = (len(skus), len(channels))
    empty = ReturnFlow(rate.reshape(shape), share.reshape(shape), pmf,
                       np.zeros((*shape, n_days)))
    back = np.zeros((*shape, n_days + 1))
    sold = _recorded_sales(sales, skus, channels, start)
    for k in range(MAX_DELAY_DAYS):
        schedule_returns(empty, back, sold[:, :, k], k - MAX_DELAY_DAYS)
    return ReturnFlow(empty.rate, empty.restockable, pmf, back[:, :, :n_days])


def truth_returns_table(truth: pd.DataFrame) -> pd.DataFrame:
    """The sample brand's returns truth (``sale_date, date, sku, channel, units,
    restocked``) as a ``returns`` table: every unit dated, ``restockable_share`` the share
    restocked."""
    units = truth["units"].to_numpy(dtype=float)
    share = np.divide(truth["restocked"].to_numpy(dtype=float), units,
                      out=np.ones_like(units), where=units > 0)
    return pd.DataFrame({
        "date": pd.to_datetime(truth["date"]).dt.normalize(),
        "sku": truth["sku"].astype(str), "channel": truth["channel"].astype(str),
        "units": units, "restockable_share": share,
        "sale_date": pd.to_datetime(truth["sale_date"]).dt.normalize(),
    })
