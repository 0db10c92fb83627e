"""Policy simulation: replay history with the engine's plan and with the planners' rule.

:func:`simulate` replays the days from ``start`` to ``end`` twice on the same
:class:`~replenishment.replay.World` (same demand, same supplier delays):

* **policy** — at every review (every ``review_days`` from ``start``) the engine forecasts
  from the sales known the evening before (the recorded history before ``start``, then the
  simulated sales: served units, with stockout flags where demand went unserved) and runs
  the real :func:`~replenishment.plan.plan` with today's stock and open orders; its order
  lines are placed as they are;
* **baseline** — the planners' rule of :mod:`replenishment.baseline`, its (N, M) tuned on a
  grid to reach the same target fill rate at the least inventory value.

The engine plans for a fill-rate target: ``service_target = "fill_rate"`` and every SKU's
service level (products and ABC classes alike) set to ``target_fill_rate``. Suppliers are
reviewed at the simulation's cadence, so their ``review_days`` is set to it.

Products launching during the replay (no sales before ``start``, a ``launch_date`` inside
it) are replayed too: the engine plans their launch buy from its launch plan
(:mod:`replenishment.launches`: ``launch_units``, else the category's analogous launches,
plus planned livestreams); the planners' rule, averaging recent sales, starts ordering them
once they sell. Products with neither sales before ``start`` nor a launch date in the window
are left out and listed in the summary.

Both replays start from the same state: the start stock and the purchase orders open at the
start (``open_orders``: ``sku, qty, eta``; e.g. the data's ``open_orders`` when the replay
starts the day after its last sales, or the lines a history of purchase orders shows open
that evening), which arrive at their ETA for the engine and the planners' rule alike
(:attr:`~replenishment.replay.World.in_transit`) and are on order at their reviews until
then. Lines of SKUs outside the replay are dropped (counted in the summary).

**Stock pools and returns** (issue 14). With a ``warehouses`` table the replay keeps stock
per (SKU, pool) (:mod:`replenishment.replay`): each channel buys from the pool serving it;
the engine plans per pool as :func:`~replenishment.plan.plan` does for a real run (order lines
ship to their pool and land there, the transfers it proposes are made, arriving after the
destination's ``transfer_lead_time_days`` at its ``transfer_cost_per_unit``); the planners'
rule orders per (SKU, pool) from the pool's own sales (:mod:`replenishment.baseline`). A start
stock known per SKU only (the sample brand's truth keeps one stock) is split among the pools in
proportion to their channels' sales of the SKU over the ``average_days`` (28) before the start
(all in the main pool for a SKU that did not sell); one known per warehouse is summed per pool.
Open orders naming no warehouse arrive in the main pool. With a ``returns`` table (or the
returns given, e.g. the sample brand's truth) customers send back part of what they bought
and the restockable share lands back in its pool days later
(:mod:`replenishment.sim_returns`), for both policies alike; the engine's forecasts see the
returns received by each review's eve, as its real runs see the ``returns`` table. Without
either table the replay is exactly the one-stock replay it was.

Demand is what customers wanted: true demand when known (the sample brand writes it), else
the recorded sales — then days that were out of stock understate demand, and the simulated
service is flattered on them. Start stock is the stock on hand at ``start`` when known, else
the order-up-to level of the engine's first plan (a ``warmup_days`` period, excluded from
the metrics, lets that start wash out).

Metrics are defined in :mod:`replenishment.sim_metrics`. The summary is::

    {"fill_rate": {"target": 0.95, "policy": 0.951, "baseline": 0.948},
     "target_fill_rate": 0.95, "policy": {...}, "baseline": {...}, ...}

(the fill rates first: they are what the comparison is about)

where ``policy`` and ``baseline`` hold exactly :data:`~replenishment.sim_metrics.METRIC_KEYS`
and the extra keys beside them say what was simulated and which rule the baseline used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from forecasting.config import ForecastConfig
from forecasting.contract import DemandData
from forecasting.engine import Forecaster, resolve_horizon
from replenishment.baseline import (
    COVER_DAYS_GRID,
    REORDER_DAYS_GRID,
    BaselineRule,
    SupplierTerms,
    baseline_policy,
    tune_baseline,
)
from replenishment.config import PlanningConfig
from replenishment.contract import INVENTORY, OPEN_ORDERS, Dataset, SupplyData
from replenishment.plan import ForecastLike, PlanResult, plan
from replenishment.pools import StockPools, stock_pools
from replenishment.replay import (
    Decision,
    Policy,
    Replay,
    ReviewState,
    World,
    WorldPool,
    draw_lead_days,
    in_transit_lines,
    replay,
)
from replenishment.sim_metrics import METRIC_KEYS, replay_metrics, replay_trace
from replenishment.sim_returns import return_flow

__all__ = [
    "EnginePolicy",
    "ForecastFn",
    "SimulationResult",
    "SimulationSettings",
    "build_world",
    "engine_forecast",
    "simulate",
    "simulation_forecast_config",
    "simulation_planning_config",
]

ForecastFn = Callable[[DemandData, pd.Timestamp, pd.DataFrame], ForecastLike]
"""``(demand known up to as_of, as_of, products) -> forecast starting on as_of + 1 day``."""

_COSTLY_MODELS = ("auto_ets",)


class SimulationSettings(BaseModel):
    """How to simulate (the planning and forecast configs are passed beside)."""

    review_days: int = Field(7, ge=1, description="Days between reviews.")
    target_fill_rate: float = Field(0.95, gt=0, lt=1, description="Fill rate both aim at.")
    seed: int = Field(0, description="Seed of the supplier lead-time draws.")
    warmup_days: int | None = Field(
        None, ge=0, description="First days left out of the metrics (unset: the longest "
        "quoted lead time plus a review period, at most half the simulated days).")
    forecast_every: int = Field(
        1, ge=1, description="Reviews one forecast serves (1: a new forecast every review); "
        "the later ones read it further ahead.")
    cover_days_grid: tuple[float, ...] = Field(COVER_DAYS_GRID,
                                               description="Baseline N values tried.")
    reorder_days_grid: tuple[float, ...] = Field(REORDER_DAYS_GRID,
                                                 description="Baseline M values tried.")
    average_days: int = Field(28, ge=1, description="Days of sales the baseline averages.")


_SIMULATION_ORDER_WEEKS = 4
_DEFAULT_FORECAST_DAYS = 91  # the forecasting engine's horizon when its config sets none


def simulation_planning_config(config: PlanningConfig, target_fill_rate: float,
                               review_days: int) -> PlanningConfig:
    """``config`` aiming every SKU at ``target_fill_rate`` as a fill rate, with a 4-week
    order forecast (only this review's orders are placed in a replay; the later reviews are
    still planned over 4 weeks so that a peak beyond capacity is built ahead)."""
    levels = {name: target_fill_rate for name in config.service_levels}
    weeks = min(config.order_forecast_weeks, _SIMULATION_ORDER_WEEKS)
    return config.model_copy(update={"service_target": "fill_rate", "service_levels": levels,
                                     "review_days": review_days,
                                     "order_forecast_weeks": weeks})


def simulation_forecast_config(config: ForecastConfig, review_days: int = 7,
                               forecast_every: int = 1,
                               planning_days: int | None = None) -> ForecastConfig:
    """A cheaper ``config`` for forecasting at every review: no AutoETS, at most 200 sample
    paths, daily, and a horizon covering the plan (``planning_days``, e.g.
    :func:`replenishment.timeline.planning_horizon` of the simulation's planning config;
    else the config's horizon or 91 days) for ``forecast_every`` reviews.

    The global model keeps the config's training history and trees. A cheaper one (60 trees
    on the last 200 days) had been used here: it never saw last year's Double 11 or 618, so
    every replay over a festival planned it blind. The backtest windows are the config's
    (two by default), so the replay combines models as the engine does: with one window there
    is no held-out window to choose a blend on, and the single best model (LightGBM) forecast
    every series. Measured on the Double 11 + 12 replay (80 SKUs, stock pools, 51592bc): fill
    0.886 with one window, 0.926 with two (the per-series models forecast the Double 12 week
    of a trending cream within 6% where LightGBM had 0.53 of it), at ~1.5x the forecast time.
    """
    models = tuple(m for m in config.stats_models if m not in _COSTLY_MODELS)
    return config.model_copy(update={
        "freq": "D",
        "stats_models": models or ("seasonal_naive",),
        "ets_max_series": 0,
        "n_paths": min(config.n_paths, 200),
        "horizon": resolve_horizon(config, "D") + (forecast_every - 1) * review_days,
    })


def engine_forecast(config: ForecastConfig) -> ForecastFn:
    """The forecasting engine as a :data:`ForecastFn`."""

    def run(demand: DemandData, as_of: pd.Timestamp, products: pd.DataFrame) -> ForecastLike:
        return Forecaster(config).fit(demand, as_of, products=products).predict()

    return run


# --------------------------------------------------------------------------- the world


def _positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of every value in ``index`` (the values are known to be in it)."""
    return np.asarray(index.get_indexer(pd.Index(values)), dtype=np.int64)


def _demand_cube(demand: pd.DataFrame, skus: pd.Index, channels: pd.Index,
                 dates: pd.DatetimeIndex) -> np.ndarray:
    frame = demand[demand["date"].isin(dates) & demand["sku"].isin(skus)]
    cube = np.zeros((len(skus), len(channels), len(dates)))
    cells = (_positions(skus, frame["sku"]), _positions(channels, frame["channel"]),
             _positions(dates, frame["date"]))
    np.add.at(cube, cells, frame["demand"].to_numpy(dtype=float))
    return cube


def _in_transit(open_orders: pd.DataFrame | None, skus: pd.Index, supplier: np.ndarray,
                start: pd.Timestamp, pools: StockPools | None) -> pd.DataFrame:
    """The lines of ``open_orders`` (``sku, qty, eta``, optional ``warehouse``) of the
    replayed SKUs, arriving on the day of their ETA counted from ``start`` (overdue: the
    first day) in their warehouse's pool (none named: the main pool)."""
    frame = open_orders if open_orders is not None else pd.DataFrame(
        {"sku": pd.Series(dtype=str), "qty": pd.Series(dtype=float),
         "eta": pd.Series(dtype="datetime64[ns]")})
    frame = frame[frame["sku"].astype(str).isin(skus) & (frame["qty"] > 0)]
    rows = _positions(skus, frame["sku"].astype(str))
    days = (pd.to_datetime(frame["eta"]).dt.normalize() - start).dt.days.to_numpy()
    pool = np.zeros(len(frame), np.int64)
    if pools is not None and "warehouse" in frame:
        names = pd.Index([p.name for p in pools.pools])
        pool = names.get_indexer(pd.Index(pools.of_warehouses(frame["warehouse"])))
    return in_transit_lines(rows, supplier[rows], frame["qty"].to_numpy(dtype=float), days,
                            pool)


def world_pools(pools: StockPools | None, channels: pd.Index,
                ) -> tuple[tuple[WorldPool, ...], np.ndarray | None]:
    """The replay's pools of a ``warehouses`` table (transfer days rounded up to whole days)
    and the pool serving each channel; one pool and None without one."""
    if pools is None:
        return (WorldPool("all"),), None
    out = tuple(WorldPool(
        pool.name, pool.inbound_weekdays,
        int(np.ceil((pool.transfer_days or 0.0) - 1e-9)) if pool.takes_transfers else None,
        float(pool.transfer_cost or 0.0)) for pool in pools.pools)
    names = pd.Index([p.name for p in pools.pools])
    serving = names.get_indexer(pd.Index(pools.of_channels(pd.Series(channels, dtype=str))))
    return out, serving.astype(np.int64)


def build_world(dataset: Dataset, demand: pd.DataFrame, start: pd.Timestamp,
                end: pd.Timestamp, review_days: int = 7, seed: int = 0,
                open_orders: pd.DataFrame | None = None,
                returns: pd.DataFrame | None = None) -> World:
    """The world of a simulation: every product's demand per channel and day from ``demand``
    (``date, sku, channel, demand``; absent rows are zero), reviews every ``review_days``
    from ``start``, lead times drawn from each supplier's mean and spread, the
    ``open_orders`` (``sku, qty, eta``) in transit at the start, the stock pools of the
    dataset's ``warehouses`` and the customer returns learned from ``returns`` (a
    ``returns`` table; None: none come back)."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if end < start:
        raise ValueError(f"end {end.date()} is before start {start.date()}")
    products = dataset.supply.products.drop_duplicates("sku").reset_index(drop=True)
    skus = pd.Index(products["sku"].astype(str))
    channels = pd.Index(sorted(set(demand["channel"]) | set(dataset.demand.sales["channel"])))
    dates = pd.date_range(start, end, freq="D")
    suppliers = dataset.supply.suppliers.drop_duplicates("supplier").set_index("supplier")
    supplier_ids = pd.Index(sorted(set(products["supplier"])))
    mean = suppliers["lead_time_days"].reindex(supplier_ids).to_numpy(dtype=float)
    std = suppliers["lead_time_std_days"].reindex(supplier_ids).fillna(0.0).to_numpy(float)
    review_positions = np.arange(0, len(dates), review_days)
    supplier = _positions(supplier_ids, products["supplier"])
    pools = stock_pools(dataset.supply.warehouses)
    world_pool, channel_pool = world_pools(pools, channels)
    flow = return_flow(returns, dataset.demand.sales, products, skus, channels, start,
                       len(dates))
    return World(
        skus=skus, channels=channels, dates=dates,
        demand=_demand_cube(demand, skus, channels, dates),
        supplier=supplier,
        suppliers=supplier_ids,
        review_days=review_positions,
        lead_days=draw_lead_days(mean, std, len(review_positions), seed),
        expected_lead_days=np.ceil(mean).astype(np.int64),
        unit_cost=products["unit_cost"].to_numpy(dtype=float),
        in_transit=_in_transit(open_orders, skus, supplier, start, pools),
        pools=world_pool, channel_pool=channel_pool, returns=flow,
    )


# --------------------------------------------------------------------------- the engine


@dataclass
class EnginePolicy:
    """The engine's forecast and plan at every review, as a replay policy.

    ``history`` are the recorded sales before the simulation; the price of a simulated sale
    is the recorded price of that (date, sku, channel), when there is one. The returns known
    at a review are the ``returns`` table's rows received before the simulation and the
    simulated returns received since (undated: the replay keeps no sale date per unit).
    With stock pools the plan sees each pool's stock (as a warehouse named like the pool),
    its open orders and the transfers moving into it (as open orders due on their arrival),
    and its order lines and transfers are carried out per pool. Timings of the forecasts and
    plans are kept in ``forecast_seconds`` and ``plan_seconds``.
    """

    dataset: Dataset
    world: World
    forecast: ForecastFn
    planning: PlanningConfig
    forecast_every: int = 1
    forecast_seconds: list[float] = field(default_factory=list)
    plan_seconds: list[float] = field(default_factory=list)
    _forecasts: dict[int, ForecastLike] = field(default_factory=dict)

    def __post_init__(self) -> None:
        start = self.world.dates[0]
        sales = self.dataset.demand.sales
        self._history = sales[sales["date"] < start]
        returns = self.dataset.demand.returns
        self._returned = returns[returns["date"] < start]
        self._prices = self._recorded_prices(sales)
        self._pooled = not self.dataset.supply.warehouses.empty
        self._pool_names = pd.Index([pool.name for pool in self.world.pools])

    def _recorded_prices(self, sales: pd.DataFrame) -> np.ndarray:
        world = self.world
        inside = sales[sales["date"].isin(world.dates) & sales["sku"].isin(world.skus)
                       & sales["channel"].isin(world.channels) & sales["price"].notna()]
        prices = np.full(world.demand.shape, np.nan)
        cells = (_positions(world.skus, inside["sku"]),
                 _positions(world.channels, inside["channel"]),
                 _positions(world.dates, inside["date"]))
        prices[cells] = inside["price"].to_numpy(dtype=float)
        return prices

    def known_demand(self, state: ReviewState) -> DemandData:
        """The demand tables as known the evening before the review."""
        days = state.served.shape[2]
        day, sku, channel = np.nonzero((state.served > 0).transpose(2, 0, 1)
                                       | state.short.transpose(2, 0, 1))
        simulated = pd.DataFrame({
            "date": self.world.dates[day],
            "sku": self.world.skus.to_numpy()[sku],
            "channel": self.world.channels.to_numpy()[channel],
            "units": state.served[sku, channel, day],
            "price": self._prices[sku, channel, day],
            "stockout": state.short[sku, channel, day].astype(np.int8),
        })
        sales = pd.concat([self._history, simulated], ignore_index=True) if days else (
            self._history)
        demand = self.dataset.demand
        # Presale deposits are known demand: each review sees those paid by its eve; so are
        # the returns received by then.
        return DemandData(sales.reset_index(drop=True), demand.promotions, demand.livestreams,
                          demand.events, demand.prices, demand.presales,
                          self._known_returns(state)).until(state.date - pd.Timedelta(days=1))

    def _known_returns(self, state: ReviewState) -> pd.DataFrame:
        if state.returned is None or not state.returned.shape[2]:
            return self._returned
        restocked = state.restocked if state.restocked is not None else state.returned
        sku, channel, day = np.nonzero(state.returned > 1e-9)
        units = state.returned[sku, channel, day]
        simulated = pd.DataFrame({
            "date": self.world.dates[day], "sku": self.world.skus.to_numpy()[sku],
            "channel": self.world.channels.to_numpy()[channel], "units": units,
            "restockable_share": np.clip(restocked[sku, channel, day] / units, 0.0, 1.0),
            "sale_date": pd.NaT})
        return pd.concat([self._returned, simulated.astype(
            {"sale_date": "datetime64[ns]"})], ignore_index=True)

    def _forecast_for(self, state: ReviewState, demand: DemandData) -> ForecastLike:
        made_at = state.review - state.review % self.forecast_every
        if made_at not in self._forecasts:
            self._forecasts.clear()  # only the latest forecast is ever read again
            started = time.perf_counter()
            as_of = state.date - pd.Timedelta(days=1)
            self._forecasts[made_at] = self.forecast(demand, as_of, self.dataset.supply.products)
            self.forecast_seconds.append(time.perf_counter() - started)
        return self._forecasts[made_at]

    def supply(self, state: ReviewState) -> SupplyData:
        """The supply tables of the review: today's stock and the orders still open (per
        pool with stock pools)."""
        world, supply = self.world, self.dataset.supply
        stock = state.pool_stock
        rows, pools = np.nonzero(np.ones_like(stock, dtype=bool))
        warehouse = self._pool_names.to_numpy()[pools] if self._pooled else None
        inventory = pd.DataFrame({"sku": world.skus.to_numpy()[rows],
                                  "on_hand": stock[rows, pools], "warehouse": warehouse},
                                 columns=list(INVENTORY.columns))
        return SupplyData(products=supply.products, suppliers=supply.suppliers,
                          inventory=inventory, open_orders=self._open_orders(state),
                          warehouses=supply.warehouses)

    def _open_orders(self, state: ReviewState) -> pd.DataFrame:
        """Open purchase order lines (an overdue one expected from today on) and, with
        pools, transfers moving in, as open orders of the SKU's supplier."""
        world = self.world
        lines = state.open_orders
        eta = np.maximum(lines["expected_day"].to_numpy(dtype=np.int64), state.day)
        sku = lines["sku_index"].to_numpy(dtype=np.int64)
        supplier = lines["supplier_index"].to_numpy(np.int64)
        qty = lines["qty"].to_numpy(dtype=float)
        pool = lines["pool_index"].to_numpy(np.int64) if "pool_index" in lines else (
            np.zeros(len(lines), np.int64))
        moving = state.in_transfer
        if moving is not None and len(moving):
            moved = moving["sku_index"].to_numpy(np.int64)
            sku, supplier = np.r_[sku, moved], np.r_[supplier, world.supplier[moved]]
            qty = np.r_[qty, moving["qty"].to_numpy(float)]
            eta = np.r_[eta, moving["arrival_day"].to_numpy(np.int64)]
            pool = np.r_[pool, moving["to_pool"].to_numpy(np.int64)]
        return pd.DataFrame({
            "sku": world.skus.to_numpy()[sku],
            "supplier": world.suppliers.to_numpy()[supplier],
            "qty": qty,
            "eta": world.dates[0] + pd.to_timedelta(eta, unit="D"),
            "po_id": None,
            "warehouse": self._pool_names.to_numpy()[pool] if self._pooled else None,
        }, columns=list(OPEN_ORDERS.columns))

    def levels(self, state: ReviewState) -> pd.DataFrame:
        """The plan's stock levels per SKU for ``state`` (no orders placed)."""
        return self._plan(state).levels

    def _plan(self, state: ReviewState) -> PlanResult:
        demand = self.known_demand(state)
        forecast = self._forecast_for(state, demand)
        started = time.perf_counter()
        result = plan(Dataset(demand, self.supply(state)), forecast, self.planning,
                      state.date - pd.Timedelta(days=1))
        self.plan_seconds.append(time.perf_counter() - started)
        return result

    def __call__(self, state: ReviewState) -> Decision:
        result = self._plan(state)
        orders, world = result.orders, self.world
        qty = np.zeros((len(world.skus), world.n_pools))
        if len(orders):
            rows = world.skus.get_indexer(pd.Index(orders["sku"].astype(str)))
            pools = self.pool_of(orders)
            keep = rows >= 0
            np.add.at(qty, (rows[keep], pools[keep]), orders["qty"].to_numpy(float)[keep])
        return Decision(qty, self._transfers(result.transfers))

    def pool_of(self, frame: pd.DataFrame, column: str = "warehouse") -> np.ndarray:
        """The replay's pool of each row's ``column`` (the main pool without pools)."""
        if not self._pooled or column not in frame:
            return np.zeros(len(frame), np.int64)
        return np.maximum(self._pool_names.get_indexer(pd.Index(frame[column])), 0)

    def _transfers(self, transfers: pd.DataFrame) -> pd.DataFrame | None:
        if transfers.empty:
            return None
        return pd.DataFrame({
            "sku_index": self.world.skus.get_indexer(pd.Index(transfers["sku"].astype(str))),
            "from_pool": self.pool_of(transfers, "from_warehouse"),
            "to_pool": self.pool_of(transfers, "to_warehouse"),
            "qty": transfers["qty"].to_numpy(float)})


def _opening_state(world: World, stock: np.ndarray) -> ReviewState:
    n_skus, n_channels, _ = world.demand.shape
    lines = world.in_transit[world.in_transit["arrival_day"] > 0]
    return ReviewState(0, 0, world.dates[0], stock.sum(axis=1), lines,
                       np.zeros((n_skus, n_channels, 0)), np.zeros((n_skus, n_channels, 0), bool),
                       stock)


def _start_stock(world: World, policy: EnginePolicy, known: pd.Series | pd.DataFrame | None,
                 pool_sales: np.ndarray) -> np.ndarray:
    """Units on hand per (SKU, pool) at the start (see the module's decisions on pools);
    ``pool_sales`` the recent sales per (SKU, pool, day)."""
    if isinstance(known, pd.DataFrame):
        return _stock_by_warehouse(world, policy, known)
    if known is not None:
        units = known.reindex(world.skus).fillna(0.0).clip(lower=0).to_numpy(dtype=float)
        return _split(units, pool_sales.sum(axis=2))
    empty = np.zeros((len(world.skus), world.n_pools))
    levels = policy.levels(_opening_state(world, empty))
    pools = policy.pool_of(levels)
    rows = world.skus.get_indexer(pd.Index(levels["sku"].astype(str)))
    up_to = levels["order_up_to"].fillna(0.0).clip(lower=0).to_numpy(float)
    keep = rows >= 0
    np.add.at(empty, (rows[keep], pools[keep]), np.ceil(up_to[keep]))
    return empty


def _split(units: np.ndarray, sold: np.ndarray) -> np.ndarray:
    """``units`` per SKU shared among pools by ``sold`` per (SKU, pool); all in the main
    pool for a SKU that did not sell."""
    total = sold.sum(axis=1, keepdims=True)
    main = np.zeros_like(sold)
    main[:, 0] = 1.0
    share = np.where(total > 0, sold / np.maximum(total, 1e-12), main)
    return units[:, None] * share


def _stock_by_warehouse(world: World, policy: EnginePolicy, known: pd.DataFrame) -> np.ndarray:
    """``sku, warehouse, on_hand`` rows summed per (SKU, pool)."""
    out = np.zeros((len(world.skus), world.n_pools))
    pools = stock_pools(policy.dataset.supply.warehouses)
    frame = known.assign(warehouse=pools.of_warehouses(known["warehouse"])) if (
        pools is not None and "warehouse" in known) else known.assign(warehouse=None)
    rows = world.skus.get_indexer(pd.Index(frame["sku"].astype(str)))
    where = policy.pool_of(frame)
    keep = rows >= 0
    np.add.at(out, (rows[keep], where[keep]),
              frame["on_hand"].clip(lower=0).to_numpy(float)[keep])
    return out


# --------------------------------------------------------------------------- simulate


@dataclass(frozen=True)
class SimulationResult:
    """``summary``: the ``summary.json`` document; ``trace``: one row per policy, day and
    SKU (:data:`~replenishment.sim_metrics.TRACE_COLUMNS`); ``baseline_grid``: every
    baseline rule tried with its metrics; the replays and the world they ran in."""

    summary: dict[str, Any]
    trace: pd.DataFrame
    baseline_grid: pd.DataFrame
    world: World
    policy: Replay
    baseline: Replay
    start_stock: np.ndarray


_DIGITS = {"fill_rate": 4, "cycle_service_level": 4, "avg_on_hand_units": 1,
           "avg_on_hand_value": 2, "units_returned": 1, "units_restocked": 1,
           "transfer_units": 1, "transfer_cost": 2}


def _rounded(metrics: dict[str, float]) -> dict[str, float | int | None]:
    """The summary's metrics: counts as integers, shares and averages rounded, NaN as null."""
    out: dict[str, float | int | None] = {}
    for key in METRIC_KEYS:
        value = metrics[key]
        if key not in _DIGITS:
            out[key] = int(value)
        else:
            out[key] = None if math.isnan(value) else round(value, _DIGITS[key])
    return out


def _products_with_history(dataset: Dataset, start: pd.Timestamp, end: pd.Timestamp,
                           ) -> tuple[pd.DataFrame, list[str]]:
    """Products sold before ``start`` or launching by ``end``, and the others (sorted)."""
    sales = dataset.demand.sales
    sold = set(sales.loc[sales["date"] < start, "sku"])
    products = dataset.supply.products
    known = products["sku"].isin(sold)
    if "launch_date" in products:
        launch = pd.to_datetime(products["launch_date"])
        known |= (launch >= start) & (launch <= end)
    if not known.any():
        raise ValueError(f"no product has sales before the start {start.date()}: there is "
                         "no history to plan from")
    return products[known].reset_index(drop=True), sorted(products.loc[~known, "sku"])


def _simulated_products(products: pd.DataFrame, target: float) -> pd.DataFrame:
    """Every SKU aims at ``target``; statuses describe the catalogue as of the data's last
    day, not as of the replayed days, so every product counts as active (launch dates,
    which describe the replayed days, are kept)."""
    return products.assign(service_level=target, status="active")


def simulate(
    dataset: Dataset,
    demand: pd.DataFrame,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    forecast: ForecastFn,
    planning: PlanningConfig | None = None,
    settings: SimulationSettings | None = None,
    start_stock: pd.Series | pd.DataFrame | None = None,
    open_orders: pd.DataFrame | None = None,
    returns: pd.DataFrame | None = None,
) -> SimulationResult:
    """Replay ``start``..``end`` with the engine's policy and the tuned baseline.

    ``demand``: ``date, sku, channel, demand`` covering the simulated days (true demand, or
    the recorded sales as ``demand``); ``forecast``: see :data:`ForecastFn` (the engine via
    :func:`engine_forecast`, or anything cheaper in tests); ``start_stock``: units on hand per
    SKU at the start (a Series; split among stock pools by their recent sales) or per
    warehouse (``sku, warehouse, on_hand``) (default: the first plan's order-up-to levels);
    ``open_orders``: purchase order lines open at the start (``sku, qty, eta``, optional
    ``warehouse``; default: none), received at their ETA by both replays; ``returns``: the
    returns the world's customers send back are learned from (a ``returns`` table, e.g.
    :func:`~replenishment.sim_returns.truth_returns_table` of a truth; default: the data's
    ``returns``).
    """
    settings = settings or SimulationSettings()
    target = settings.target_fill_rate
    config = simulation_planning_config(planning or PlanningConfig(), target,
                                        settings.review_days)
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    products, without_history = _products_with_history(dataset, start, end)
    supply = dataset.supply
    suppliers = supply.suppliers.assign(review_days=float(settings.review_days))
    simulated = Dataset(dataset.demand, SupplyData(
        products=_simulated_products(products, target), suppliers=suppliers,
        warehouses=supply.warehouses))
    returns_given = returns is not None
    returns = returns if returns_given else dataset.demand.returns
    world = build_world(simulated, demand, start, end, settings.review_days, settings.seed,
                        open_orders, returns)
    warmup = _warmup_days(world, settings)
    started = time.perf_counter()
    engine = EnginePolicy(simulated, world, forecast, config, settings.forecast_every)
    recent = _recent_sales(dataset.demand.sales, world, settings.average_days)
    stock = _start_stock(world, engine, start_stock, recent)
    policy_replay = replay(world, engine, stock)
    policy_seconds = time.perf_counter() - started

    def evaluate(result: Replay) -> dict[str, float]:
        return replay_metrics(world, result, warmup)

    started = time.perf_counter()
    terms = _supplier_terms(simulated.supply, world, config)
    orderable = np.ones(len(world.skus), dtype=bool)  # statuses do not apply (see above)

    def make_baseline(rule: BaselineRule) -> Policy:
        return baseline_policy(rule, recent, terms, orderable, world.channel_pool)

    tuning = tune_baseline(world, stock, make_baseline, evaluate, target,
                           settings.cover_days_grid, settings.reorder_days_grid,
                           settings.average_days)
    baseline_seconds = time.perf_counter() - started
    policy_metrics = evaluate(policy_replay)
    baseline_metrics = evaluate(tuning.replay)
    summary: dict[str, Any] = {
        "fill_rate": {"target": target, "policy": _rounded(policy_metrics)["fill_rate"],
                      "baseline": _rounded(baseline_metrics)["fill_rate"]},
        "target_fill_rate": target,
        "policy": _rounded(policy_metrics),
        "baseline": _rounded(baseline_metrics),
        "baseline_rule": {"cover_days": tuning.rule.cover_days,
                          "reorder_days": tuning.rule.reorder_days,
                          "average_days": tuning.rule.average_days,
                          "rules_tried": len(tuning.grid)},
        "inventory_value_saving": _saving(policy_metrics, baseline_metrics),
        "start": world.dates[0].date().isoformat(),
        "end": world.dates[-1].date().isoformat(),
        "days": world.n_days,
        "measured_from": world.dates[warmup].date().isoformat(),
        "review_days": settings.review_days,
        "reviews": len(world.review_days),
        "skus": len(world.skus),
        "skus_without_history": without_history,
        "demand_units": round(float(world.demand[:, :, warmup:].sum()), 1),
        "start_stock": "given" if start_stock is not None else "first plan's order-up-to",
        "pools": [pool.name for pool in world.pools] if world.channel_pool is not None else [],
        "returns": ("none" if world.returns is None
                    else "given" if returns_given else "returns table"),
        "open_orders_at_start": _in_transit_summary(world, open_orders),
        "seconds": {"policy": round(policy_seconds, 1),
                    "forecasts": round(sum(engine.forecast_seconds), 1),
                    "plans": round(sum(engine.plan_seconds), 1),
                    "baseline_tuning": round(baseline_seconds, 1)},
        "seed": settings.seed,
    }
    trace = pd.concat([replay_trace(world, policy_replay, "policy"),
                       replay_trace(world, tuning.replay, "baseline")], ignore_index=True)
    return SimulationResult(summary, trace, tuning.grid, world, policy_replay, tuning.replay,
                            stock)


def _in_transit_summary(world: World, open_orders: pd.DataFrame | None) -> dict[str, Any]:
    """Lines and units open at the start, those arriving inside the replay, lines dropped
    (SKUs not replayed)."""
    lines = world.in_transit
    inside = lines["arrival_day"] < world.n_days
    given = 0 if open_orders is None else int((open_orders["qty"] > 0).sum())
    return {"lines": len(lines), "units": round(float(lines["qty"].sum()), 1),
            "units_arriving": round(float(lines.loc[inside, "qty"].sum()), 1),
            "lines_dropped": given - len(lines)}


def _warmup_days(world: World, settings: SimulationSettings) -> int:
    if settings.warmup_days is None:
        longest = int(world.expected_lead_days.max(initial=0))
        return min(longest + settings.review_days, world.n_days // 2)
    if settings.warmup_days >= world.n_days:
        raise ValueError(f"warmup_days ({settings.warmup_days}) leaves none of the "
                         f"{world.n_days} simulated days to measure")
    return settings.warmup_days


def _supplier_terms(supply: SupplyData, world: World, config: PlanningConfig) -> SupplierTerms:
    """The supplier terms the engine's optimiser honours, for the baseline's orders."""
    products = supply.products.set_index("sku").reindex(world.skus)
    suppliers = supply.suppliers.drop_duplicates("supplier").set_index("supplier")
    suppliers = suppliers.reindex(world.suppliers)
    weekly = suppliers["capacity_units_per_week"].astype(float).fillna(np.inf)
    return SupplierTerms(
        supplier=world.supplier, unit_cost=world.unit_cost,
        case_pack=products["case_pack"].to_numpy(dtype=float),
        moq=products["moq"].to_numpy(dtype=float),
        min_order_value=suppliers["min_order_value"].fillna(0.0).to_numpy(dtype=float),
        capacity_units=(weekly * config.capacity_weeks).to_numpy(dtype=float),
    )


def _saving(policy: dict[str, float], baseline: dict[str, float]) -> float | None:
    """Share of the baseline's average inventory value the policy does without."""
    base = baseline["avg_on_hand_value"]
    if not base > 0:
        return None
    return round(1.0 - policy["avg_on_hand_value"] / base, 4)


def _recent_sales(sales: pd.DataFrame, world: World, days: int) -> np.ndarray:
    """Units sold per SKU and pool (the pool serving the sale's channel) on each of the
    ``days`` days before the simulation: ``(sku, pool, day)``."""
    first = world.dates[0] - pd.Timedelta(days=days)
    window = pd.date_range(first, periods=days, freq="D")
    recent = sales[(sales["date"] >= first) & (sales["date"] < world.dates[0])
                   & sales["sku"].isin(world.skus)]
    out = np.zeros((len(world.skus), world.n_pools, days))
    channel = world.channels.get_indexer(pd.Index(recent["channel"]))
    pool = np.where(channel >= 0, world.pool_of_channel[np.maximum(channel, 0)], 0)
    cells = (_positions(world.skus, recent["sku"]), pool, _positions(window, recent["date"]))
    np.add.at(out, cells, recent["units"].to_numpy(dtype=float))
    return out
