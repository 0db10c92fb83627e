"""Channel stock pools: which warehouses serve which channels, the plan per (SKU, pool), and
stock moved between pools instead of bought.

Without a ``warehouses`` table there is one pool: every warehouse's stock serves every
channel, as before. With one (:data:`replenishment.contract.WAREHOUSES`), decisions:

* A **pool** is one or more warehouses (``pool``; default the warehouse itself) whose stock
  serves the same channels. The first row's pool is the *main* pool: it serves every channel
  no row names and holds the stock rows and open orders that name no warehouse.
* **Demand of a pool** is the SKU's demand paths times, day by day, the share of the pool's
  channels in the SKU's channel forecast; on a day that forecast is zero, its share over the
  whole forecast; a SKU without a channel forecast (a launch) sells from the main pool. The
  pools' paths add up to the SKU's, path by path.
* The plan runs on one row per (SKU, pool) where the pool sells the SKU, holds it or expects
  it (open orders); a SKU found in no pool is planned in the main pool. Its rows are planned
  together: supplier capacity, minimum order value and budget are shared; case pack and MOQ
  apply per order line, and a line ships to one pool (``warehouse`` of the order line). The
  SKU's ABC class comes from its total revenue, so all its pools share its service level.
* **Inbound appointments** (``inbound_weekdays``, JD and Cainiao warehouses book deliveries on
  set days): the firm order's expected arrival moves to the next booking day (its lead time
  lengthened by the 0-6 days of waiting); later reviews keep that lead time, so with a weekly
  review they land on the same weekday.
* **Transfers** (:func:`propose_transfers`): a pool whose firm order buys (the *short* pool)
  takes stock from a pool of the same SKU that has more than its own target over its firm
  order's coverage window (the *long* pool: ``-q*`` units spare, at most its stock on hand:
  units still on their way cannot leave) when transfers into the short
  pool are set (``transfer_lead_time_days``, ``transfer_cost_per_unit``), they arrive no later
  than the purchase would, and the long pool is the brand's own (``kind`` ``own``: stock never
  leaves a JD or Cainiao warehouse). It moves what the short pool needs until the end of its
  firm order's coverage window: the firm order's ``q*`` plus the sales the projection loses
  between the transfer's arrival and the purchase's, at most the spare units. The plan is
  then made again with the moved units gone from the long pool on day 0 and arriving in the
  short pool after the transfer lead time; a transfer is kept only when it costs less than
  the purchase it avoids (the short pool's firm order value without it minus with it, so a
  transfer that leaves an MOQ lot to buy anyway is dropped), and the plan is made a third
  time when some were dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.contract import Problem
from forecasting.scenarios import DemandScenarios

__all__ = [
    "KEY_SEPARATOR",
    "POOL_KINDS",
    "POOL_SETTINGS",
    "TRANSFER_COLUMNS",
    "Pool",
    "PoolFold",
    "StockPools",
    "apply_transfers",
    "appointment_wait",
    "fold_pools",
    "keep_cheaper",
    "propose_transfers",
    "split_names",
    "stock_pools",
    "transfer_table",
    "unfold",
    "warehouse_problems",
    "weekday_numbers",
]

POOL_KINDS = ("own", "platform")
POOL_SETTINGS = ("kind", "channels", "inbound_weekdays", "transfer_lead_time_days",
                 "transfer_cost_per_unit")
"""Columns of ``warehouses`` that belong to the pool: equal on every row of a pool that
gives them."""
KEY_SEPARATOR = "\x1f"  # inside a (SKU, pool) row key; never in a name a planner types
TRANSFER_COLUMNS = [
    "sku", "name", "from_warehouse", "to_warehouse", "qty", "ship_date", "expected_arrival",
    "transfer_cost_per_unit", "transfer_cost", "purchase_avoided", "purchase_value_avoided",
]
"""A proposed transfer: ``qty`` units leave the long pool on ``ship_date`` (the morning after
``as_of``) and arrive on ``expected_arrival``; ``purchase_avoided`` units (at
``purchase_value_avoided``) the short pool's firm order no longer buys."""

_SPLIT = re.compile(r"[,，、;；|/]")
_DAY_NAMES = {
    **{str(i + 1): i for i in range(7)},
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday",
                                         "friday", "saturday", "sunday"))},
    **{f"{prefix}{ch}": i for prefix in ("周", "星期") for i, ch in enumerate("一二三四五六日")},
    "周天": 6, "星期天": 6,
}


def split_names(text: object) -> list[str]:
    """``tmall,douyin`` (also ``，、;；|/``) as its names, blanks dropped."""
    if not isinstance(text, str):
        return []
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def weekday_numbers(text: object) -> tuple[frozenset[int], list[str]]:
    """Booking weekdays (Monday = 0) of ``Tue,Thu``, ``2,4`` (Monday = 1) or ``周二、周四``,
    and the parts not understood."""
    days, unknown = set(), []
    for part in split_names(text):
        day = _DAY_NAMES.get(part.lower())
        if day is None:
            unknown.append(part)
        else:
            days.add(day)
    return frozenset(days), unknown


@dataclass(frozen=True)
class Pool:
    """One stock pool and its settings (see the module's decisions)."""

    name: str
    kind: str
    channels: frozenset[str]
    inbound_weekdays: frozenset[int]
    transfer_days: float | None
    transfer_cost: float | None

    @property
    def takes_transfers(self) -> bool:
        return self.transfer_days is not None and self.transfer_cost is not None


@dataclass(frozen=True)
class StockPools:
    """The pools of a ``warehouses`` table; ``pools[0]`` is the main pool."""

    pools: tuple[Pool, ...]
    warehouse_pool: Mapping[str, str]

    @property
    def main(self) -> Pool:
        return self.pools[0]

    def named(self) -> dict[str, Pool]:
        return {pool.name: pool for pool in self.pools}

    def of_channels(self, channels: pd.Series) -> pd.Series:
        """The pool serving each channel (the main pool for channels no pool names)."""
        serving = {ch: pool.name for pool in self.pools for ch in pool.channels}
        return channels.astype(str).map(serving).fillna(self.main.name)

    def of_warehouses(self, warehouses: pd.Series) -> pd.Series:
        """The pool of each warehouse (the main pool for a row naming none). A pool's own
        name is its pool too: the order book's open lines ship to the pool an order line
        was planned for (``warehouse`` of the plan's orders), e.g. 品牌仓 of 华东仓 and
        华南仓; a warehouse of that name wins."""
        names = {**{pool.name: pool.name for pool in self.pools}, **self.warehouse_pool}
        return warehouses.map(names).fillna(self.main.name)


def _pool_names(frame: pd.DataFrame) -> pd.Series:
    pool = frame["pool"] if "pool" in frame else pd.Series(np.nan, index=frame.index)
    return pool.where(pool.notna() & (pool.astype(str).str.strip() != ""),
                      frame["warehouse"]).astype(str)


def _setting(rows: pd.DataFrame, column: str) -> object:
    given = rows[column].dropna() if column in rows else pd.Series(dtype=object)
    return given.iloc[0] if len(given) else None


def stock_pools(warehouses: pd.DataFrame | None) -> StockPools | None:
    """The pools of a validated ``warehouses`` table; None without one (one pool)."""
    if warehouses is None or warehouses.empty:
        return None
    frame = warehouses.reset_index(drop=True).assign(_pool=lambda f: _pool_names(f))
    pools = []
    for name in pd.unique(frame["_pool"]):
        rows = frame[frame["_pool"] == name]
        days = _setting(rows, "transfer_lead_time_days")
        cost = _setting(rows, "transfer_cost_per_unit")
        kind = _setting(rows, "kind")
        pools.append(Pool(
            name=str(name), kind=str(kind) if kind is not None else "own",
            channels=frozenset(split_names(_setting(rows, "channels"))),
            inbound_weekdays=weekday_numbers(_setting(rows, "inbound_weekdays"))[0],
            transfer_days=None if days is None else float(days),  # type: ignore[arg-type]
            transfer_cost=None if cost is None else float(cost),  # type: ignore[arg-type]
        ))
    return StockPools(tuple(pools), dict(zip(frame["warehouse"].astype(str), frame["_pool"],
                                             strict=True)))


def warehouse_problems(warehouses: pd.DataFrame, source: str) -> list[Problem]:
    """Rows of ``warehouses`` breaking its rules: a pool setting that differs from the
    pool's first, a weekday not understood, a channel served by two pools, a transfer lead
    time without its cost or the other way round."""
    if warehouses.empty:
        return []
    frame = warehouses.reset_index(drop=True).assign(_pool=lambda f: _pool_names(f))
    problems: list[Problem] = []
    first: dict[tuple[str, str], tuple[int, object]] = {}
    served: dict[str, tuple[str, int]] = {}
    for i, row in frame.iterrows():
        at, pool = int(str(i)) + 2, str(row["_pool"])
        for column in POOL_SETTINGS:
            value = row.get(column)
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            seen = first.setdefault((pool, column), (at, value))
            if seen[1] != value:
                problems.append(Problem(
                    source=source, row=at, column=column, value=str(value),
                    expected=f"the same {column} as row {seen[0]} ({seen[1]}): a setting of "
                             f"pool {pool}, given once per pool"))
        problems += _row_problems(row, at, pool, source, served)
    return problems


def _row_problems(row: pd.Series, at: int, pool: str, source: str,
                  served: dict[str, tuple[str, int]]) -> list[Problem]:
    problems = []
    _, unknown = weekday_numbers(row.get("inbound_weekdays"))
    if unknown:
        problems.append(Problem(
            source=source, row=at, column="inbound_weekdays", value=", ".join(unknown),
            expected="weekdays such as Tue,Thu or 2,4 (Monday = 1) or 周二,周四"))
    for channel in split_names(row.get("channels")):
        other = served.setdefault(channel, (pool, at))
        if other[0] != pool:
            problems.append(Problem(
                source=source, row=at, column="channels", value=channel,
                expected=f"each channel served by one pool (row {other[1]} gives it to "
                         f"pool {other[0]})"))
    given = [pd.notna(row.get(c)) for c in ("transfer_lead_time_days",
                                             "transfer_cost_per_unit")]
    if any(given) and not all(given):
        missing = "transfer_cost_per_unit" if given[0] else "transfer_lead_time_days"
        problems.append(Problem(
            source=source, row=at, column=missing,
            expected="both transfer_lead_time_days and transfer_cost_per_unit, or neither"))
    return problems


@dataclass(frozen=True)
class PoolFold:
    """The planning inputs with one row per (SKU, pool): ``items`` (``sku`` is the row's key,
    ``item_sku`` and ``warehouse`` the SKU and pool), ``scenarios``, ``channel`` forecast,
    ``open_orders`` and ``returns``, all keyed the same way."""

    items: pd.DataFrame
    scenarios: DemandScenarios
    channel: pd.DataFrame
    open_orders: pd.DataFrame
    returns: pd.DataFrame | None


def _key(skus: pd.Series, pools: pd.Series) -> pd.Series:
    return skus.astype(str) + KEY_SEPARATOR + pools.astype(str)


def _shares(channel: pd.DataFrame, pools: StockPools, scenarios: DemandScenarios,
            ) -> np.ndarray:
    """Share of each pool in each SKU's demand per day, ``(pools, skus, days)``."""
    names = [pool.name for pool in pools.pools]
    n, days = len(scenarios.skus), len(scenarios.dates)
    units = np.zeros((len(names), n, days))
    if not channel.empty and "channel" in channel:
        rows = scenarios.skus.get_indexer(pd.Index(channel["sku"]))
        cols = scenarios.dates.get_indexer(pd.DatetimeIndex(channel["date"]))
        pool = pd.Index(names).get_indexer(pd.Index(pools.of_channels(channel["channel"])))
        keep = (rows >= 0) & (cols >= 0)
        np.add.at(units, (pool[keep], rows[keep], cols[keep]),
                  channel["forecast"].to_numpy(float)[keep].clip(min=0.0))
    total = units.sum(axis=0)
    overall = units.sum(axis=2)
    overall_total = overall.sum(axis=0)
    fallback = np.where(overall_total > 0, overall / np.maximum(overall_total, 1e-12), 0.0)
    fallback[0] = np.where(overall_total > 0, fallback[0], 1.0)  # no forecast: main pool
    return np.where(total[None] > 0, units / np.maximum(total, 1e-12)[None],
                    fallback[:, :, None])


def appointment_wait(lead: np.ndarray, weekdays: frozenset[int],
                     first_day: pd.Timestamp) -> np.ndarray:
    """Days an order arriving ``ceil(lead)`` days after ``first_day`` waits for the next
    booking weekday (0 when ``weekdays`` is empty)."""
    if not weekdays:
        return np.zeros(len(lead))
    arrival = np.ceil(np.asarray(lead, float) - 1e-9).astype(int)
    weekday = (pd.Timestamp(first_day).weekday() + arrival) % 7
    waits = np.array([min((d - w) % 7 for d in weekdays) for w in range(7)])
    return waits[weekday].astype(float)


def _pool_rows(items: pd.DataFrame, shares: np.ndarray, rows: np.ndarray,
               stock: pd.Series, expected: pd.Series, pools: StockPools) -> pd.DataFrame:
    """(SKU, pool) pairs planned: where the pool sells, holds or expects the SKU."""
    pairs = []
    for p, pool in enumerate(pools.pools):
        sells = np.where(rows >= 0, shares[p][np.maximum(rows, 0)].sum(axis=1), 0.0) > 0
        held = [stock.get((s, pool.name), 0.0) > 0 or expected.get((s, pool.name), 0.0) > 0
                for s in items["sku"]]
        pairs.append(pd.DataFrame({"sku": items["sku"].to_numpy(), "warehouse": pool.name,
                                   "_keep": sells | np.asarray(held, bool), "_order": p}))
    table = pd.concat(pairs, ignore_index=True)
    anywhere = table.groupby("sku")["_keep"].transform("any")
    table["_keep"] |= ~anywhere & (table["warehouse"] == pools.main.name)
    return table[table["_keep"]].drop(columns="_keep")


def fold_pools(items: pd.DataFrame, scenarios: DemandScenarios, channel: pd.DataFrame,
               inventory: pd.DataFrame, open_orders: pd.DataFrame,
               returns: pd.DataFrame | None, pools: StockPools,
               as_of: pd.Timestamp) -> PoolFold:
    """The planning inputs per (SKU, pool) (see the module's decisions)."""
    shares = _shares(channel, pools, scenarios)
    rows = scenarios.skus.get_indexer(pd.Index(items["sku"]))
    stock = inventory.assign(_pool=pools.of_warehouses(inventory["warehouse"])).groupby(
        ["sku", "_pool"])["on_hand"].sum()
    orders = open_orders.assign(warehouse=pools.of_warehouses(open_orders["warehouse"]))
    expected = orders.groupby(["sku", "warehouse"])["qty"].sum()
    pairs = _pool_rows(items, shares, rows, stock, expected, pools)
    out = pairs.merge(items, on="sku", how="left").sort_values(["sku", "_order"], kind="stable")
    out = out.rename(columns={"sku": "item_sku"}).reset_index(drop=True)
    out.insert(0, "sku", _key(out["item_sku"], out["warehouse"]))
    out["on_hand"] = [float(stock.get((s, w), 0.0)) for s, w in
                      zip(out["item_sku"], out["warehouse"], strict=True)]
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    named = pools.named()
    for name, part in out.groupby("warehouse"):
        lead = part["lead_time_days"].to_numpy(float)
        wait = appointment_wait(lead, named[str(name)].inbound_weekdays, first_day)
        out.loc[part.index, "lead_time_days"] = np.where(
            wait > 0, np.ceil(lead - 1e-9) + wait, lead)
    keyed_orders = orders.assign(sku=_key(orders["sku"], orders["warehouse"]))
    out["on_order"] = _on_order(out, keyed_orders, as_of)
    source = scenarios.skus.get_indexer(pd.Index(out["item_sku"]))
    share = shares[out["_order"].to_numpy(int), source]
    paths = scenarios.paths[source] * share[:, None, :]
    keyed = DemandScenarios(pd.Index(out["sku"]), scenarios.dates, paths)
    return PoolFold(out.drop(columns="_order"), keyed, _keyed_channel(channel, pools),
                    keyed_orders,
                    _keyed_channel(returns, pools) if returns is not None else None)


def _on_order(items: pd.DataFrame, keyed: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """Units of each row's open orders due within its lead time + review (as for a SKU)."""
    until = pd.Timestamp(as_of) + pd.to_timedelta(
        items["lead_time_days"] + items["review_days"], unit="D")
    window = pd.DataFrame({"sku": items["sku"], "_until": until.to_numpy()}).merge(
        keyed[["sku", "eta", "qty"]], on="sku")
    within = window[window["eta"] <= window["_until"]].groupby("sku")["qty"].sum()
    return items["sku"].map(within).fillna(0.0).to_numpy(float)


def _keyed_channel(frame: pd.DataFrame, pools: StockPools) -> pd.DataFrame:
    if frame.empty or "channel" not in frame:
        return frame
    return frame.assign(sku=_key(frame["sku"], pools.of_channels(frame["channel"])))


def unfold(frame: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Rows keyed by (SKU, pool) (``sku``) back to their SKU, the pool as ``warehouse``
    right after it."""
    if "sku" not in frame:
        return frame
    lookup = items.set_index("sku")
    keys = frame["sku"]
    out = frame.assign(sku=keys.map(lookup["item_sku"]).fillna(keys))
    where = keys.map(lookup["warehouse"])
    out.insert(int(out.columns.get_loc("sku")) + 1, "warehouse", where)  # type: ignore[arg-type]
    return out


def propose_transfers(items: pd.DataFrame, target: np.ndarray, ordered: np.ndarray,
                      arrival: np.ndarray, daily_lost: np.ndarray,
                      pools: StockPools) -> pd.DataFrame:
    """Moves ``to, from, qty, days, cost`` (row keys) from long to short pools of the same
    SKU (see the module's decisions); ``target`` (``q*``), ``ordered`` and ``arrival`` (the
    firm order's day) per row of ``items``, ``daily_lost`` per row and day."""
    named = pools.named()
    kind = items["warehouse"].map(lambda w: named[w].kind).to_numpy()
    # Spare: above the target, and on the shelf today (receipts due later cannot leave).
    held = items["on_hand"].to_numpy(float)
    spare = np.where(kind == "own", np.floor(np.minimum(np.maximum(-target, 0.0), held)), 0.0)
    moves = []
    for _, part in items.groupby("item_sku", sort=True):
        rows = part.index.to_numpy()
        shorts = [r for r in rows if ordered[r] > 0 and target[r] > 0]
        for r in sorted(shorts, key=lambda r: -target[r]):
            pool = named[str(items.at[r, "warehouse"])]
            if not pool.takes_transfers or np.ceil(pool.transfer_days or 0.0) > arrival[r]:
                continue
            day = int(np.ceil((pool.transfer_days or 0.0) - 1e-9))
            wanted = np.ceil(target[r] + daily_lost[r, day:arrival[r]].sum() - 1e-9)
            for s in sorted((s for s in rows if spare[s] > 0 and s != r), key=lambda s: -spare[s]):
                qty = min(wanted, spare[s])
                if qty <= 0:
                    break
                moves.append((items.at[r, "sku"], items.at[s, "sku"], float(qty), day,
                              float(pool.transfer_cost or 0.0)))
                spare[s] -= qty
                wanted -= qty
    return pd.DataFrame(moves, columns=["to", "from", "qty", "days", "cost"])


def apply_transfers(items: pd.DataFrame, moves: pd.DataFrame, as_of: pd.Timestamp,
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``items`` with the moved units gone from the long pools on day 0, and the units
    arriving in the short pools (``sku, date, qty``)."""
    leaving = moves.groupby("from")["qty"].sum()
    out = items.assign(on_hand=items["on_hand"] - items["sku"].map(leaving).fillna(0.0))
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    arriving = pd.DataFrame({"sku": moves["to"].to_numpy(),
                             "date": first_day + pd.to_timedelta(moves["days"], unit="D"),
                             "qty": moves["qty"].to_numpy(float)})
    return out, arriving


def _avoided(moves: pd.DataFrame, before: pd.Series, after: pd.Series) -> pd.Series:
    """Purchase value each destination's transfers avoid: its firm order value without them
    minus with them (row key -> value)."""
    to = pd.Index(moves["to"].unique())
    return (before.reindex(to).fillna(0.0) - after.reindex(to).fillna(0.0)).clip(lower=0.0)


def keep_cheaper(moves: pd.DataFrame, before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """The moves into destinations where the transfers cost less than the purchase value
    they avoid (``before``/``after``: firm order value per row key without/with them)."""
    if moves.empty:
        return moves
    cost = (moves["qty"] * moves["cost"]).groupby(moves["to"]).sum()
    avoided = _avoided(moves, before, after)
    cheaper = cost.index[cost.to_numpy() < avoided.reindex(cost.index).to_numpy() - 1e-9]
    return moves[moves["to"].isin(set(cheaper))].reset_index(drop=True)


def transfer_table(moves: pd.DataFrame, items: pd.DataFrame, qty_before: pd.Series,
                   qty_after: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    """The kept moves as :data:`TRANSFER_COLUMNS` (the purchase they avoid is shared among
    the moves into one destination by their units)."""
    if moves.empty:
        return pd.DataFrame(columns=TRANSFER_COLUMNS)
    lookup = items.set_index("sku")
    first_day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    units = _avoided(moves, qty_before, qty_after)
    share = moves["qty"] / moves.groupby("to")["qty"].transform("sum")
    avoided = moves["to"].map(units).to_numpy(float) * share.to_numpy(float)
    unit_cost = moves["to"].map(lookup["unit_cost"]).to_numpy(float)
    name = lookup["name"] if "name" in lookup else pd.Series("", index=lookup.index)
    out = pd.DataFrame({
        "sku": moves["to"].map(lookup["item_sku"]), "name": moves["to"].map(name).fillna(""),
        "from_warehouse": moves["from"].map(lookup["warehouse"]),
        "to_warehouse": moves["to"].map(lookup["warehouse"]),
        "qty": moves["qty"].round().astype(int), "ship_date": first_day,
        "expected_arrival": first_day + pd.to_timedelta(moves["days"], unit="D"),
        "transfer_cost_per_unit": moves["cost"],
        "transfer_cost": (moves["qty"] * moves["cost"]).round(2),
        "purchase_avoided": np.round(avoided, 2),
        "purchase_value_avoided": np.round(avoided * unit_cost, 2),
    })
    return out[TRANSFER_COLUMNS].sort_values(["sku", "to_warehouse", "from_warehouse"]
                                             ).reset_index(drop=True)
