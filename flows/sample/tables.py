"""Turn the simulated arrays into the contract's tables and the truth files."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flows.sample.calendar import CHANNELS
from flows.sample.catalog import Catalog
from flows.sample.inventory import Replay

__all__ = [
    "WAREHOUSE",
    "commitments_table",
    "inventory_table",
    "open_orders_table",
    "purchase_order_history",
    "sales_table",
    "stock_history",
    "true_demand_table",
]

WAREHOUSE = "华东仓"
COMMITMENT_WEEKS = 13  # at most: only weeks that end inside the simulated horizon


def sales_table(replay: Replay, price: NDArray[np.float64], skus: pd.Index,
                dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Rows with units sold or a stockout, like a channel export that omits zero days."""
    sales = replay.sales.transpose(2, 0, 1)  # (day, sku, channel): rows come out sorted
    stockout = replay.stockout.transpose(2, 0, 1)
    day, sku, channel = np.nonzero((sales > 0) | stockout)
    return pd.DataFrame({
        "date": dates[day],
        "sku": skus.to_numpy()[sku],
        "channel": np.asarray(CHANNELS)[channel],
        "units": sales[day, sku, channel],
        "price": price[sku, channel, day],
        "stockout": stockout[day, sku, channel].astype(np.int8),
    }, copy=False)  # fresh arrays: copying 14 million SKU strings took 3 s at 10,000 SKUs


def inventory_table(replay: Replay, skus: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({"sku": skus, "on_hand": replay.on_hand[:, -1].astype(float),
                         "warehouse": WAREHOUSE})


def open_orders_table(replay: Replay, catalog: Catalog, dates: pd.DatetimeIndex,
                      as_of_day: int) -> pd.DataFrame:
    """Purchase order lines placed but not yet received by the end of the as-of day."""
    lines = replay.orders[replay.orders["arrival_day"] > as_of_day]
    sku_index = lines["sku_index"].to_numpy()
    frame = pd.DataFrame({
        "sku": catalog.products["sku"].to_numpy()[sku_index],
        "supplier": catalog.products["supplier"].to_numpy()[sku_index],
        "qty": lines["qty"].to_numpy(dtype=float),
        "eta": dates[0] + pd.to_timedelta(lines["arrival_day"].to_numpy(), unit="D"),
        "po_id": lines["po_id"].to_numpy(),
    })
    return frame.sort_values(["eta", "po_id", "sku"], kind="stable", ignore_index=True)


def purchase_order_history(replay: Replay, catalog: Catalog,
                           dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Every purchase order line of the history (``po_id, sku, supplier, qty, order_date,
    eta``): placed at the end of ``order_date``, received at the start of ``eta``. The lines
    open on any evening (placed by it, received after it) are that day's open orders, which
    ``replenish simulate`` starts from."""
    sku_index = replay.orders["sku_index"].to_numpy()
    return pd.DataFrame({
        "po_id": replay.orders["po_id"].to_numpy(),
        "sku": catalog.products["sku"].to_numpy()[sku_index],
        "supplier": catalog.products["supplier"].to_numpy()[sku_index],
        "qty": replay.orders["qty"].to_numpy(dtype=float),
        "order_date": dates[replay.orders["order_day"].to_numpy()],
        "eta": dates[replay.orders["arrival_day"].to_numpy()],
    })


def commitments_table(rng: np.random.Generator, catalog: Catalog, mean: NDArray[np.float64],
                      dates: pd.DatetimeIndex, as_of_day: int) -> pd.DataFrame:
    """Suppliers' weekly confirmations (units) for the next weeks: near the brand's need,
    short where a supplier's capacity does not cover the week, and now and then at random
    (a raw-material delay)."""
    first_monday = as_of_day + 1 + (7 - int(dates[as_of_day + 1].dayofweek)) % 7
    weeks = [first_monday + 7 * w for w in range(COMMITMENT_WEEKS)
             if first_monday + 7 * w + 7 <= mean.shape[2]]
    daily = mean.sum(axis=1)
    need = np.stack([daily[:, w: w + 7].sum(axis=1) for w in weeks], axis=1)  # (sku, week)
    n_suppliers = len(catalog.suppliers)
    capacity = catalog.suppliers["capacity_units_per_week"].to_numpy(dtype=float)
    supplier_need = np.stack([np.bincount(catalog.supplier, weights=need[:, k],
                                          minlength=n_suppliers) for k in range(len(weeks))],
                             axis=1)
    capacity_share = np.minimum(1.0, capacity[:, None] / np.maximum(supplier_need, 1e-9))
    confirmed = need * rng.uniform(0.9, 1.1, need.shape) * capacity_share[catalog.supplier]
    delayed = rng.random(need.shape) < 0.06
    confirmed = np.where(delayed, confirmed * rng.uniform(0.4, 0.8, need.shape), confirmed)
    sku, week = np.nonzero(need >= 1)
    return pd.DataFrame({
        "supplier": catalog.products["supplier"].to_numpy()[sku],
        "sku": catalog.products["sku"].to_numpy()[sku],
        "week": dates[np.asarray(weeks)[week]],
        "qty": np.round(confirmed[sku, week]),
    }).sort_values(["supplier", "sku", "week"], kind="stable", ignore_index=True)


def true_demand_table(demand: NDArray[np.int64], skus: pd.Index,
                      dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Every (date, sku, channel) with its uncensored demand, zeros included."""
    n_skus, n_channels, n_days = demand.shape
    return pd.DataFrame({
        "date": np.repeat(dates.to_numpy(), n_skus * n_channels),
        "sku": np.tile(np.repeat(skus.to_numpy(), n_channels), n_days),
        "channel": np.tile(np.asarray(CHANNELS), n_skus * n_days),
        "demand": demand.transpose(2, 0, 1).reshape(-1).astype(np.int32),
    }, copy=False)  # fresh arrays: copying 36 million strings took 8 s at 10,000 SKUs


def stock_history(replay: Replay, skus: pd.Index, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Per (date, sku): units received at the start of the day, sold, and left at its end."""
    n_skus, n_days = replay.on_hand.shape
    return pd.DataFrame({
        "date": np.repeat(dates[:n_days].to_numpy(), n_skus),
        "sku": np.tile(skus.to_numpy(), n_days),
        "received": replay.received.T.reshape(-1),
        "sold": replay.sales.sum(axis=1).T.reshape(-1),
        "on_hand": replay.on_hand.T.reshape(-1),
    })
