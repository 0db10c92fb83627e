"""The sample brand's stock pools: its own warehouse and two platform warehouses.

The replay (:mod:`flows.sample.inventory`) keeps one stock per SKU; on the as-of day it is
split, from its own seeded stream (so every other table stays as it was), between:

* 华东仓 (the brand's own, the main pool: Douyin and the mini-program, and whatever no other
  pool serves; moving stock into it takes 2 days and ¥0.8 a unit);
* 京东FBP仓 (JD's warehouse, serving JD; inbound appointments on Tuesdays and Thursdays; 3
  days and ¥1.5 a unit to move stock in);
* 菜鸟仓 (Tmall's Cainiao warehouse, serving Tmall; inbound on Monday, Wednesday and Friday;
  2 days and ¥1.2 a unit).

Each platform warehouse holds its channel's share of the SKU's stock times a factor drawn
between 0.3 and 1.4 (platform stock is topped up in batches, so some SKUs run short there
while others pile up), the brand's warehouse the rest; the three add up to the replay's
stock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.sample.calendar import CHANNELS
from flows.sample.catalog import Catalog
from flows.sample.tables import WAREHOUSE

__all__ = ["WAREHOUSES", "split_inventory"]

WAREHOUSES = pd.DataFrame({
    "warehouse": [WAREHOUSE, "京东FBP仓", "菜鸟仓"],
    "kind": ["own", "platform", "platform"],
    "channels": ["douyin,miniapp", "jd", "tmall"],
    "inbound_weekdays": ["", "Tue,Thu", "Mon,Wed,Fri"],
    "transfer_lead_time_days": [2.0, 3.0, 2.0],
    "transfer_cost_per_unit": [0.8, 1.5, 1.2],
})
_PLATFORM_SPREAD = (0.3, 1.4)


def split_inventory(rng: np.random.Generator, inventory: pd.DataFrame,
                    catalog: Catalog) -> pd.DataFrame:
    """``inventory`` (one row per SKU, all in :data:`~flows.sample.tables.WAREHOUSE`)
    split between the three warehouses (rows with stock only, besides the brand's own)."""
    on_hand = inventory["on_hand"].to_numpy(float)
    parts = {WAREHOUSE: on_hand.copy()}
    for warehouse, channel in (("京东FBP仓", "jd"), ("菜鸟仓", "tmall")):
        share = catalog.share[:, CHANNELS.index(channel)]
        factor = rng.uniform(*_PLATFORM_SPREAD, len(on_hand))
        units = np.minimum(np.round(on_hand * share * factor), parts[WAREHOUSE])
        parts[warehouse] = units
        parts[WAREHOUSE] = parts[WAREHOUSE] - units
    frames = [pd.DataFrame({"sku": inventory["sku"].to_numpy(), "on_hand": units,
                            "warehouse": warehouse}) for warehouse, units in parts.items()]
    out = pd.concat(frames, ignore_index=True)
    out = out[(out["warehouse"] == WAREHOUSE) | (out["on_hand"] > 0)]
    return out.reset_index(drop=True)
